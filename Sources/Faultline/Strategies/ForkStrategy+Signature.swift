import CFaultline

extension ForkStrategy {
    /// Calls the function with `arguments` (one ``Value`` per parameter of its
    /// ``NativeFunction/signature`` that takes input, in order) in a forked
    /// child, through libffi, after the ``initializer`` (if any) ran there.
    ///
    /// A return is `.returned(value, out:)`: the value typed by the signature
    /// and one value per output buffer, carried back through a shared mapping
    /// sized for the signature's result record, under the same seal as every
    /// fork call. Faults, exits, deadlines and destroyed records are the same
    /// outcomes as for `int f(int)`.
    ///
    /// ```swift
    /// let f = try NativeFunction(library: path, symbol: "fl_sig_mix", signature: Signature(parsing: "double(double, string)"))
    /// let outcome = try ForkStrategy(f, timeout: .seconds(5)).call(arguments: [.double(2), .string("abc")])   // returned 5.0
    /// ```
    /// - Throws: ``InputError`` when the arguments do not fit the signature;
    ///   ``InitFailure`` when the initializer failed; ``SystemError`` when no
    ///   child could be made or its status was lost.
    public func call(arguments: [Value]) throws -> Outcome {
        let prepared = function.prepared
        let callee = UnsafeMutableRawPointer(mutating: function.address)
        let initFunction = initializer?.cFunction
        return try prepared.withRecords(arguments) { record, size, result in
            var report = fl_report()
            let status = fl_fork_invoke_sandboxed(prepared.pointer, callee, record, size, initFunction, timeoutNanoseconds,
                                                  options, cSandbox, &report, result, prepared.resultSize)
            if status == FL_SIGNATURE_MALFORMED { throw SystemError("signature call", errno: -status) }
            if status < 0 { throw Self.error(status) }
            if let failure = InitFailure(report: report, initializer: initializer?.name ?? "") { throw failure }
            switch fl_kind(rawValue: UInt32(bitPattern: report.kind)) {
            case FL_KIND_RETURNED:
                return prepared.decode(result)
            case FL_KIND_CORRUPTED:
                let returned = report.flags & UInt32(FL_CORRUPT_RETURNED) != 0 ? prepared.decode(result).value?.json : nil
                return .corrupted(detail: Outcome.corruptionDetail(report, returned: returned))
            default:
                return try Outcome(report: report)
            }
        }
    }
}
