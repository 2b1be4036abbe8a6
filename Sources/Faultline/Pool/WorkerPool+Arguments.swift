#if canImport(Glibc)
import Glibc
#endif
import CFaultline

extension WorkerPool {
    /// Calls the function once per argument list (one ``Value`` per
    /// parameter of ``signature`` that takes input, each of exactly that
    /// parameter's type), in parallel on the workers. Outcomes come back in
    /// input order: `.returned(value, out:)` typed by the signature, or how
    /// the call failed.
    ///
    /// - Throws: ``InputError`` when an argument list does not fit the
    ///   signature (before any call is made); ``PoolError`` as ``run(_:)``.
    public func run(arguments: [[Value]]) throws -> Outcomes {
        if arguments.isEmpty { return Outcomes([]) }
        // Every list checked and sized first (a bad one throws before any call);
        // each record is then written straight into the channel of the worker
        // that takes the call: one copy of every argument.
        let offsets = try ArgumentRecords.offsets(of: arguments, prepared: prepared)
        let resultSize = prepared.resultSize
        var results = [UInt8](repeating: 0, count: resultSize * arguments.count)
        var kinds = [Int32](repeating: 0, count: arguments.count)
        var failures: UnsafeMutablePointer<fl_pool_failure>?
        var failureCount = 0
        let source = RecordSource(arguments)
        let status = withExtendedLifetime(source) {
            fl_pool_run_written(pool, offsets, arguments.count, { context, index, destination, _ in
                let source = Unmanaged<RecordSource>.fromOpaque(context!).takeUnretainedValue()
                ArgumentRecords.write(source.arguments[index], to: UnsafeMutableRawPointer(destination!))
            }, Unmanaged.passUnretained(source).toOpaque(), &results, resultSize, &kinds, &failures, &failureCount)
        }
        defer { fl_pool_free_failures(failures, failureCount) }
        if status < 0 { throw PoolError.system(.run, Errno(-status)) }
        var failed: [Int: Outcome] = [:]
        for index in 0..<failureCount {
            let failure = failures![index]
            let named = failure.frames.map { Symbolizer.frames(encoded: $0, length: failure.frames_length) }
            do { failed[Int(failure.index)] = try Outcome(report: failure.report, namedFrames: named) } catch {
                throw PoolError.inconsistentReport(error)
            }
        }
        var result = Outcomes(results: results, resultSize: resultSize, prepared: prepared, failures: failed)
        if configuration.verifyCrashes {
            try verify(&result) { pool, indices in try pool.run(arguments: indices.map { arguments[$0] }) }
        }
        return result
    }
}


/// The argument lists of a run, for the C writer callback (checked before the run).
private final class RecordSource {
    let arguments: [[Value]]
    init(_ arguments: [[Value]]) { self.arguments = arguments }
}
