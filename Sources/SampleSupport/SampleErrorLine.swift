import SharedMemory

extension SharedMemoryError.Operation {
    /// The Windows call the sample uses for this operation, as it appears in
    /// reports such as `CreateFileMapping failed w/err 0x00000011`.
    public var sampleName: String {
        switch self {
        case .validateName, .create: "CreateFileMapping"
        case .open: "OpenFileMapping"
        case .size: "GetFileSizeEx"
        case .map: "MapViewOfFile"
        case .unmap: "UnmapViewOfFile"
        case .read: "memcpy_s"
        case .write: "memcpy_s"
        case .flush: "FlushViewOfFile"
        case .close: "CloseHandle"
        case .unlink: "DeleteFileMapping"
        }
    }
}

extension SharedMemoryError {
    /// The Windows sample's line, `<Operation> failed w/err 0x%08lx` (such as
    /// `OpenFileMapping failed w/err 0x00000002`), formatted by the backend
    /// that reported the error, as the sample programs print it.
    public var sampleReport: String {
        backend.implementation.formatError(operation: operation.sampleName, errno: errno)
    }
}
