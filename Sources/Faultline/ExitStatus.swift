import CFaultline

/// How a process ended, as `waitpid` tells it.
public enum ExitStatus: Hashable, Sendable, CustomStringConvertible {
    /// It exited with this status.
    case exitCode(Int32)
    /// A signal killed it.
    case signal(Signal)

    /// Decodes a raw `waitpid` status word.
    public init(waitStatus: Int32) {
        let code = fl_wait_exit_code(waitStatus)
        self = code >= 0 ? .exitCode(code) : .signal(Signal(fl_wait_term_signal(waitStatus)))
    }

    /// `exit code 0` or `signal SIGSEGV`.
    public var description: String {
        switch self {
        case .exitCode(let code): "exit code \(code)"
        case .signal(let signal): "signal \(signal.name)"
        }
    }
}
