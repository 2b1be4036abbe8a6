#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX signal number with its conventional name.
///
/// `Signal` is a thin value over the raw number, in the spirit of
/// swift-system's `Errno`: `Signal.segmentationFault.rawValue == SIGSEGV`.
public struct Signal: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The signal number, as the kernel reports it.
    public var rawValue: Int32

    /// Wraps a raw signal number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Wraps a raw signal number.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// SIGSEGV: invalid memory reference.
    public static let segmentationFault = Signal(SIGSEGV)
    /// SIGBUS: bus error (e.g. a mapping past the end of its file).
    public static let busError = Signal(SIGBUS)
    /// SIGFPE: arithmetic exception (e.g. integer division by zero).
    public static let floatingPointException = Signal(SIGFPE)
    /// SIGILL: illegal instruction.
    public static let illegalInstruction = Signal(SIGILL)
    /// SIGABRT: abort().
    public static let abort = Signal(SIGABRT)
    /// SIGTRAP: breakpoint trap.
    public static let trap = Signal(SIGTRAP)
    /// SIGKILL: killed, cannot be caught.
    public static let kill = Signal(SIGKILL)
    /// SIGTERM: polite termination request.
    public static let terminate = Signal(SIGTERM)
    /// SIGINT: interrupt (Ctrl-C).
    public static let interrupt = Signal(SIGINT)

    /// The conventional name, such as `"SIGSEGV"`, or `"SIG<n>"` for an unnamed number.
    public var name: String {
        switch rawValue {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGUSR1: "SIGUSR1"
        case SIGSEGV: "SIGSEGV"
        case SIGUSR2: "SIGUSR2"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        case SIGCHLD: "SIGCHLD"
        case SIGCONT: "SIGCONT"
        case SIGSTOP: "SIGSTOP"
        case SIGXCPU: "SIGXCPU"
        case SIGXFSZ: "SIGXFSZ"
        case SIGSYS: "SIGSYS"
        default: "SIG\(rawValue)"
        }
    }

    /// The name, e.g. `SIGSEGV`.
    public var description: String { name }
}
