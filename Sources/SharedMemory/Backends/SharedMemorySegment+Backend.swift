extension SharedMemorySegment {
    /// The available backends, as a value small enough to keep in every handle.
    public enum Backend: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
        /// Through the C shim `CShm`. The default.
        case cshim
        /// Pure Swift over Glibc.
        case swift

        /// The backend used when none is named.
        public static let `default` = Backend.cshim

        /// The implementation of this backend.
        package var implementation: any SharedMemoryBackend {
            switch self {
            case .cshim: CShmBackend()
            case .swift: PosixBackend()
            }
        }

        /// `cshim` or `swift`, as the programs' `--backend` option spells it.
        public var description: String { rawValue }
    }
}
