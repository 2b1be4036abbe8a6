import CFaultline

extension DirectStrategy {
    /// Calls the function with `arguments` (one ``Value`` per parameter of its
    /// ``NativeFunction/signature`` that takes input, in order) through libffi,
    /// with no protection: a fault ends this process.
    ///
    /// ```swift
    /// let outcome = try DirectStrategy(f).call(arguments: [.int8(3), .int8(4)])   // returned .int8(7)
    /// ```
    /// - Throws: ``InputError`` when the arguments do not fit the signature.
    public func call(arguments: [Value]) throws -> Outcome {
        let prepared = function.prepared
        let callee = UnsafeMutableRawPointer(mutating: function.address)
        return try prepared.withRecords(arguments) { record, size, result in
            let status = fl_signature_invoke(prepared.pointer, callee, record, size, result)
            if status < 0 { throw SystemError("signature call", errno: -status) }
            return prepared.decode(result)
        }
    }
}
