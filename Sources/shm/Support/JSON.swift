import Foundation

/// Prints `object` (dictionaries, arrays, strings, numbers, booleans and
/// `NSNull`) as indented JSON with sorted keys, through JSONSerialization.
func printJSON(_ object: Any, to output: OutputBuffer) throws {
    let data: Data
    do {
        data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    } catch {
        throw ToolError("cannot encode JSON: \(error)")
    }
    try data.withUnsafeBytes { try output.append($0) }
    try output.append(UInt8(ascii: "\n"))
}

/// `value`, or JSON's `null`.
func jsonValue(_ value: Any?) -> Any { value ?? NSNull() }
