import Glibc

/// `name (uid N)` for a user id, or `uid N` when the user has no name.
func userName(_ uid: UInt32) -> String {
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 1024)
    let status = getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
    guard status == 0, result != nil, let name = entry.pw_name else { return "uid \(uid)" }
    return "\(String(cString: name)) (uid \(uid))"
}
