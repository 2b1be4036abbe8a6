import CFaultline

/// Calls the function in a freshly forked child, one child per call.
///
/// Whatever the callee does — fault, abort, `exit(0)`, fault in a thread,
/// fault with the signal blocked, loop forever, write over its process's
/// memory, fork a child that faults — only the child suffers, and the outcome
/// is exact: the signal comes from `waitpid`, the fault address and backtrace
/// from a reporter in the child, and a return from a record the child writes
/// after the call, sealed with a secret of that call. A record the callee
/// destroyed is never guessed at: the outcome is then ``Outcome/corrupted(detail:)``.
/// There is no deadline unless you set one; with one, a child that passes it
/// is killed and the outcome is ``Outcome/timedOut(_:)``.
///
/// With an ``initializer``, each forked process runs it before the call; if it
/// fails, the call throws ``InitFailure`` (the input never ran).
///
/// Cost: one fork per call (about 0.2 ms with a small parent; more with a
/// large one, since fork copies page tables). The child's stdout goes to
/// stderr, so the caller's stdout stays clean. The callee's side effects
/// happen in the child and are lost with it.
public struct ForkStrategy: Strategy {
    /// The function to call.
    public let function: NativeFunction
    /// How long a call (with its initializer) may run; `nil` means forever.
    public let timeout: Duration?
    /// Whether a fault records a libunwind backtrace.
    public let captureBacktrace: Bool
    /// Run in each forked process before the call, when set.
    public let initializer: Initializer?
    /// Applied in each forked process after the initializer, before the call.
    let prepared: PreparedSandbox?

    /// `"fork"`.
    public var name: String { "fork" }

    /// Creates the strategy.
    public init(_ function: NativeFunction, timeout: Duration? = nil, captureBacktrace: Bool = true,
                initializer: Initializer? = nil) {
        self.function = function
        self.timeout = timeout
        self.captureBacktrace = captureBacktrace
        self.initializer = initializer
        self.prepared = nil
    }

    /// Creates the strategy with a ``Sandbox`` that every forked process applies
    /// to itself after the initializer: prepared here, once (its network
    /// namespace, Landlock ruleset, and a probe of what is enforced).
    /// - Throws: ``SandboxError``.
    public init(_ function: NativeFunction, timeout: Duration? = nil, captureBacktrace: Bool = true,
                initializer: Initializer? = nil, sandbox: Sandbox) throws(SandboxError) {
        self.function = function
        self.timeout = timeout
        self.captureBacktrace = captureBacktrace
        self.initializer = initializer
        self.prepared = try PreparedSandbox(sandbox)
    }

    /// What the sandbox enforces in the forked processes, nil without one.
    public var sandboxStatus: SandboxStatus? { prepared?.status }

    /// The C sandbox, or nil.
    var cSandbox: OpaquePointer? { prepared?.pointer }

    /// The deadline for C: nanoseconds, or -1 for none.
    var timeoutNanoseconds: Int64 {
        timeout.map { Int64($0.components.seconds) * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000 } ?? -1
    }

    /// The C options.
    var options: Int32 { captureBacktrace ? Int32(FL_CAPTURE_BACKTRACE) : 0 }

    /// Forks, calls, waits, classifies.
    /// - Throws: ``InitFailure`` when the initializer failed; ``SystemError``
    ///   when no child could be made or its status was lost.
    public func call(_ input: Int32) throws -> Outcome {
        if initializer != nil {
            // The initializer needs the general path; the value comes back as .returned(.int32(v), out: []).
            let direct = NativeFunction(function.address, signature: .default)
            return try ForkStrategy(direct, timeout: timeout, captureBacktrace: captureBacktrace, initializer: initializer,
                                    prepared: prepared)
                .call(arguments: [.int32(input)])
        }
        var report = fl_report()
        let result = fl_fork_call_sandboxed(function.pointer, input, timeoutNanoseconds, options, cSandbox, &report)
        if result < 0 { throw Self.error(result) }
        return try Outcome(report: report)
    }

    /// The same strategy for another function, sharing the prepared sandbox.
    init(_ function: NativeFunction, timeout: Duration?, captureBacktrace: Bool, initializer: Initializer?,
         prepared: PreparedSandbox?) {
        self.function = function
        self.timeout = timeout
        self.captureBacktrace = captureBacktrace
        self.initializer = initializer
        self.prepared = prepared
    }

    /// The error of a negative status from `fl_fork_call` / `fl_fork_invoke`.
    /// -ECHILD: this process ignores SIGCHLD, so the kernel discarded the status; no outcome was observed.
    static func error(_ status: Int32) -> SystemError {
        SystemError(-status == Errno.noChildProcess.rawValue ? "waitpid" : "fork", errno: -status)
    }
}
