extension ManagedSegment {
    /// How long a managed segment's name lives.
    public enum Lifetime: UInt32, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// The POSIX default: the name lives until it is removed, even after
        /// every process that used it has exited.
        case posix = 0
        /// As a Windows mapping: the last process that closes the segment
        /// removes its name. Every user holds a shared `flock`, which the kernel
        /// releases when a process dies, so a crashed user never keeps the
        /// segment alive and never counts as the last one twice.
        case lastClose = 1

        /// `posix` or `last-close`, as the programs' `--lifetime` option spells it.
        public var description: String {
            switch self {
            case .posix: "posix"
            case .lastClose: "last-close"
            }
        }
    }
}
