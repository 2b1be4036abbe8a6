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
        // Every record encoded first (a bad argument list throws before any call),
        // then laid end to end with one copy each.
        var records: [ArgumentRecord] = []
        records.reserveCapacity(arguments.count)
        defer { for record in records { record.storage.deallocate() } }
        for values in arguments { records.append(try ArgumentRecord(values, for: signature)) }
        var offsets = [UInt64](repeating: 0, count: records.count + 1)
        for (index, record) in records.enumerated() { offsets[index + 1] = offsets[index] + UInt64(record.size) }
        var joined = [UInt8](repeating: 0, count: Int(offsets[records.count]))
        joined.withUnsafeMutableBytes { joined in
            for (index, record) in records.enumerated() where record.size > 0 {
                (joined.baseAddress! + Int(offsets[index])).copyMemory(from: record.storage, byteCount: record.size)
            }
        }
        let resultSize = prepared.resultSize
        var results = [UInt8](repeating: 0, count: resultSize * arguments.count)
        var kinds = [Int32](repeating: 0, count: arguments.count)
        var failures: UnsafeMutablePointer<fl_pool_failure>?
        var failureCount = 0
        let status = joined.withUnsafeBufferPointer { joined in
            fl_pool_run_records(pool, joined.baseAddress, offsets, arguments.count, &results, resultSize, &kinds,
                                &failures, &failureCount)
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
        let outcomes = results.withUnsafeBufferPointer { results in
            (0..<arguments.count).map { index in
                failed[index] ?? prepared.decode(results.baseAddress! + index * resultSize)
            }
        }
        var result = Outcomes(outcomes)
        if configuration.verifyCrashes {
            try verify(&result) { pool, indices in try pool.run(arguments: indices.map { arguments[$0] }) }
        }
        return result
    }
}
