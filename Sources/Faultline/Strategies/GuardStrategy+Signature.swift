import CFaultline

extension GuardStrategy {
    /// Calls the function with `arguments` (one ``Value`` per parameter of its
    /// ``NativeFunction/signature`` that takes input, in order, of exactly the
    /// parameter's type) under the in-process guard, through libffi.
    ///
    /// A return is `.returned(value, out:)`: the value typed by the signature
    /// (``Value/void`` for `void`) and one value per output buffer. A fault is
    /// `.signaled`, as for `int f(int)`; the guard's unsafety applies unchanged.
    ///
    /// ```swift
    /// let f = try NativeFunction(library: path, symbol: "fl_sig_mix", signature: Signature(parsing: "double(double, string)"))
    /// let outcome = try GuardStrategy(f).call(arguments: [.double(2), .string("abc")])   // returned 5.0
    /// ```
    /// - Throws: ``InputError`` when the arguments do not fit the signature;
    ///   ``SystemError`` when the thread could not be prepared; ``InitFailure``
    ///   when the initializer failed.
    public func call(arguments: [Value]) throws -> Outcome {
        try initialize()
        let prepared = function.prepared
        let options: Int32 = captureBacktrace ? Int32(FL_CAPTURE_BACKTRACE) : 0
        let callee = UnsafeMutableRawPointer(mutating: function.address)
        return try prepared.withRecords(arguments) { record, size, result in
            var report = fl_report()
            let status = fl_guard_invoke(prepared.pointer, callee, record, size, result, options, &report)
            if status < 0 { throw SystemError("guard", errno: -status) }
            if report.kind == Int32(FL_KIND_RETURNED.rawValue) { return prepared.decode(result) }
            return try Outcome(report: report)
        }
    }

    /// Calls the function once per argument list, in one C loop under one
    /// `sigsetjmp` (re-armed only after a fault), with every argument record
    /// encoded into one buffer first: the cheapest way to make many guarded
    /// calls of any signature. Outcomes come back in order, decoded when read.
    ///
    /// ```swift
    /// let outcomes = try GuardStrategy(f).call(argumentLists: [[.double(1), .double(2)], [.double(3), .double(4)]])
    /// ```
    /// - Throws: as ``call(arguments:)``, before any call for a list that does not fit.
    public func call(argumentLists batch: [[Value]]) throws -> Outcomes {
        try initialize()
        let prepared = function.prepared
        let records = ArgumentRecords(capacity: batch.count * 8 * max(1, prepared.inputs.count))
        records.removeAll(reserving: batch.count)
        try records.append(contentsOf: batch, prepared: prepared)
        let options: Int32 = captureBacktrace ? Int32(FL_CAPTURE_BACKTRACE) : 0
        let callee = UnsafeMutableRawPointer(mutating: function.address)
        let resultSize = prepared.resultSize
        let count = batch.count
        var results = [UInt8](repeating: 0, count: resultSize * count)
        var failures: [Int: Outcome] = [:]
        var report = fl_report()
        var start = 0
        let bytes = UnsafePointer(records.base.assumingMemoryBound(to: UInt8.self))
        try records.offsets.withUnsafeBufferPointer { offsets in
            try results.withUnsafeMutableBufferPointer { results in
                while start < count {
                    let stopped = fl_guard_invoke_batch(prepared.pointer, callee, bytes, offsets.baseAddress! + start,
                                                        count - start, results.baseAddress! + start * resultSize, resultSize,
                                                        options, &report)
                    if stopped < 0 { throw SystemError("guard", errno: Int32(-stopped)) }
                    start += stopped
                    if start < count {
                        failures[start] = try Outcome(report: report)
                        start += 1
                    }
                }
            }
        }
        withExtendedLifetime(records) {}
        return Outcomes(results: results, resultSize: resultSize, prepared: prepared, failures: failures)
    }
}
