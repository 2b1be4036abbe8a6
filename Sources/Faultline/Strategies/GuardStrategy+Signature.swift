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
}
