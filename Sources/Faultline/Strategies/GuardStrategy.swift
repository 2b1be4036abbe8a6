import CFaultline

/// Calls the function in this process under the in-process guard: signal
/// handlers on an alternate stack catch a fault and `siglongjmp` back here.
///
/// Fast (a few nanoseconds per call, about 2 µs per caught fault, +3 µs with
/// a backtrace) and **unsafe**. After a caught fault:
/// - locks the callee held stay held (its own mutexes, or malloc's if it
///   faulted inside malloc), so a later call may deadlock;
/// - memory and descriptors it allocated leak, and its cleanup never runs;
/// - its data structures may be half-updated.
///
/// It cannot catch a fault in a thread the callee started, an `exit()`, a
/// fault while the signal is blocked, or an infinite loop: those end (or
/// hang) the process as they would have. Use ``ForkStrategy`` or
/// ``PoolStrategy`` when the process must stay trustworthy.
///
/// Faults outside a guarded call are passed to the handler that was installed
/// before the guard (for example the Swift runtime's crash reporter).
///
/// With an ``initializer``, it runs once in this process, under the guard,
/// before the first call (of this or any strategy naming the same function);
/// if it fails or crashes, every call throws ``InitFailure``.
public struct GuardStrategy: Strategy {
    /// The function to call.
    public let function: NativeFunction
    /// Whether a caught fault records a libunwind backtrace.
    public let captureBacktrace: Bool
    /// Run once in this process before the first call, when set.
    public let initializer: Initializer?

    /// `"guard"`.
    public var name: String { "guard" }

    /// Creates the strategy. The handlers are installed, and the initializer
    /// run, on the first call.
    public init(_ function: NativeFunction, captureBacktrace: Bool = true, initializer: Initializer? = nil) {
        self.function = function
        self.captureBacktrace = captureBacktrace
        self.initializer = initializer
    }

    /// Runs the initializer unless it already ran in this process; throws ``InitFailure`` if it failed.
    func initialize() throws {
        if let initializer { try InitializerRuns.shared.runOnce(initializer, captureBacktrace: captureBacktrace) }
    }

    private var options: Int32 { captureBacktrace ? Int32(FL_CAPTURE_BACKTRACE) : 0 }

    /// Calls the function under the guard.
    /// - Throws: ``InitFailure`` when the initializer failed; ``SystemError`` when the thread could not be prepared.
    public func call(_ input: Int32) throws -> Outcome {
        try initialize()
        // The report is filled before it is read: no need to zero its 400 bytes per call.
        return try withUnsafeTemporaryAllocation(of: fl_report.self, capacity: 1) { buffer in
            let report = buffer.baseAddress!
            let result = fl_guard_call(function.pointer, input, options, report)
            if result < 0 { throw SystemError("guard", errno: -result) }
            if report.pointee.kind == Int32(FL_KIND_RETURNED.rawValue) { return .returned(report.pointee.value) }
            return try Outcome(report: report.pointee)
        }
    }

    /// Calls the function once per input in one C loop (a few ns per call,
    /// one `sigsetjmp` per batch, re-armed only after a fault); only the calls
    /// that fault leave it, and no ``Outcome`` is built for the others: the
    /// cheapest way to make many guarded calls.
    public func call(_ inputs: [Int32]) throws -> Outcomes {
        try initialize()
        var values = [Int32](repeating: 0, count: inputs.count)
        var failed: [(Int, Outcome)] = []
        var report = fl_report()
        var start = 0
        try inputs.withUnsafeBufferPointer { inputs in
            try values.withUnsafeMutableBufferPointer { values in
                while start < inputs.count {
                    let stopped = fl_guard_call_batch(function.pointer, inputs.baseAddress! + start, inputs.count - start,
                                                      options, values.baseAddress! + start, &report)
                    if stopped < 0 { throw SystemError("guard", errno: Int32(-stopped)) }
                    start += stopped
                    if start < inputs.count {
                        failed.append((start, try Outcome(report: report)))
                        start += 1
                    }
                }
            }
        }
        // Built once, at its final size (a crash loop fails every input); `failed` is in input order.
        return Outcomes(values: values, failed: failed)
    }

    /// Puts back the signal handlers that were installed before the guard.
    public static func uninstall() { fl_guard_uninstall() }
}
