import CFaultline

/// Calls the function in a freshly forked child, one child per call.
///
/// Whatever the callee does — fault, abort, `exit(0)`, fault in a thread,
/// fault with the signal blocked, loop forever — only the child suffers, and
/// the outcome is exact: the signal comes from `waitpid`, the fault address
/// and backtrace from a reporter in the child. There is no deadline unless
/// you set one; with one, a child that passes it is killed and the outcome
/// is ``Outcome/timedOut(_:)``.
///
/// Cost: one fork per call (about 0.2 ms with a small parent; more with a
/// large one, since fork copies page tables). The child's stdout goes to
/// stderr, so the caller's stdout stays clean. The callee's side effects
/// happen in the child and are lost with it.
public struct ForkStrategy: Strategy {
    /// The function to call.
    public let function: NativeFunction
    /// How long a call may run; `nil` means forever.
    public let timeout: Duration?
    /// Whether a fault records a libunwind backtrace.
    public let captureBacktrace: Bool

    /// `"fork"`.
    public var name: String { "fork" }

    /// Creates the strategy.
    public init(_ function: NativeFunction, timeout: Duration? = nil, captureBacktrace: Bool = true) {
        self.function = function
        self.timeout = timeout
        self.captureBacktrace = captureBacktrace
    }

    /// Forks, calls, waits, classifies.
    public func call(_ input: Int32) throws -> Outcome {
        var report = fl_report()
        let timeoutNanoseconds = timeout.map { Int64($0.components.seconds) * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000 } ?? -1
        let result = fl_fork_call(function.pointer, input, timeoutNanoseconds,
                                  captureBacktrace ? Int32(FL_CAPTURE_BACKTRACE) : 0, &report)
        // -ECHILD: this process ignores SIGCHLD, so the kernel discarded the status; no outcome was observed.
        if result < 0 { throw SystemError(-result == Errno.noChildProcess.rawValue ? "waitpid" : "fork", errno: -result) }
        return try Outcome(report: report)
    }
}
