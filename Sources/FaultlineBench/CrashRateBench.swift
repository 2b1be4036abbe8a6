import Faultline
import FaultlineBenchResult
import FaultlineHarness

/// The pool's crashes per second against the plain C floor of the same work
/// (`faultline-floors --only fork_crash_unwind`: a forked child per crash that
/// faults in the victims library, walks its stack once with libunwind and
/// exits, two forkers in parallel), in alternating rounds of the same number
/// of crashes, so that both see the same load on a shared machine; the
/// figures are the medians of the rounds.
enum CrashRateBench {
    /// Measures `rounds` rounds of `crashes` crashes each, floor then pool.
    static func measure(library: String, workers: Int, quick: Bool) -> CrashRateFigures {
        var figures = CrashRateFigures()
        figures.workers = workers
        figures.crashes = quick ? 200 : 2_000
        let rounds = quick ? 1 : 5
        let pool: WorkerPool
        do {
            pool = try WorkerPool(library: library, symbol: "fl_mixed", configuration: .init(workers: workers))
        } catch {
            figures.poolNote = "not available: cannot start a pool: \(error)"
            return figures
        }
        defer { pool.shutdown() }
        let inputs = [Int32](repeating: -1, count: figures.crashes)
        do {
            // Warm up: the helper's caches and the first standbys.
            _ = try pool.run([Int32](repeating: -1, count: 4 * workers))
        } catch {
            figures.poolNote = "not available: \(error)"
        }
        for _ in 0..<rounds {
            let (rate, note) = LimitFloors.crashFloor(crashes: figures.crashes, library: library)
            if let rate { figures.floorRounds.append(rate) } else { figures.floorNote = note }
            guard figures.poolNote == nil else { continue }
            do {
                _ = pool.workerPIDs // start at full strength, standbys ready
                let start = benchNow()
                let outcomes = try pool.run(inputs)
                _ = pool.workerPIDs // until every crashed worker is replaced
                let seconds = Double(benchNow() - start) / 1e9
                guard outcomes.allSatisfy({ $0.fault?.signal == .segmentationFault }) else {
                    throw BenchFailure("fl_mixed(-1) did not end every call with SIGSEGV in the pool")
                }
                figures.poolRounds.append(Double(inputs.count) / seconds)
            } catch {
                figures.poolNote = "not available: \(error)"
            }
        }
        if !figures.floorRounds.isEmpty { figures.floorCrashesPerSecond = benchMedian(figures.floorRounds) }
        if figures.poolNote == nil, !figures.poolRounds.isEmpty { figures.poolCrashesPerSecond = benchMedian(figures.poolRounds) }
        return figures
    }
}
