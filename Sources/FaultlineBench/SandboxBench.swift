import CFaultline
import Faultline
import FaultlineBenchResult

/// Measures what the sandbox (`pure`, network none) costs against no sandbox,
/// both measured in the same run in alternating rounds, so that a machine
/// shared with other work loads both sides alike:
///
/// - calls per second of a pool on `fl_identity` (batches of inputs, 2 workers);
/// - one allowed system call: `fl_getppid_loop(n)` in a 1-worker pool, the
///   time of `n` calls less that of `0`, over `n` (the seccomp program runs on
///   each; Landlock and the namespace cost nothing per call);
/// - a worker's start: the fork server on `fl_identity`, calls back to back,
///   each in a fresh worker (forked by the helper, set up, sandboxed, one call,
///   exit); and, for the detail, a 1-worker pool from its creation to its first
///   result (the program built, the namespace made and the probe run once per pool).
enum SandboxBench {
    /// Runs every measurement. Never throws: a pool that cannot start gives a note.
    static func measure(library: String, workers: Int, quick: Bool, budget: Budget) -> SandboxFigures {
        var figures = SandboxFigures()
        let rounds = quick ? 3 : 9
        figures.rounds = rounds
        figures.workers = workers
        let sandbox = Sandbox(.pure)
        do {
            try poolCalls(library: library, workers: workers, sandbox: sandbox, rounds: rounds,
                          runLength: quick ? 10_000 : 100_000, into: &figures)
            try syscallCost(library: library, sandbox: sandbox, rounds: rounds, count: quick ? 20_000 : 200_000, into: &figures)
            try workerStart(library: library, sandbox: sandbox, rounds: rounds, seconds: budget.seconds(quick ? 0.05 : 0.25),
                            into: &figures)
        } catch {
            figures.note = "not measured: \(error)"
        }
        return figures
    }

    /// Seconds `body` takes.
    private static func timed(_ body: () throws -> Void) rethrows -> Double {
        let start = fl_now_ns()
        try body()
        return Double(fl_now_ns() - start) / 1e9
    }

    /// Calls per second of two pools on `fl_identity`, one of them sandboxed.
    private static func poolCalls(library: String, workers: Int, sandbox: Sandbox, rounds: Int, runLength: Int,
                                  into figures: inout SandboxFigures) throws {
        let plain = try WorkerPool(library: library, symbol: "fl_identity", configuration: .init(workers: workers))
        defer { plain.shutdown() }
        let boxed = try WorkerPool(library: library, symbol: "fl_identity", configuration: .init(workers: workers, sandbox: sandbox))
        defer { boxed.shutdown() }
        let inputs = (0..<runLength).map { Int32(truncatingIfNeeded: $0) }
        _ = try plain.run(inputs)
        _ = try boxed.run(inputs)
        var plainRates: [Double] = [], boxedRates: [Double] = [], ratios: [Double] = []
        for round in 0..<rounds {
            // Alternate which goes first, so that neither always follows the other.
            var plainRate = 0.0, boxedRate = 0.0
            for side in round % 2 == 0 ? [0, 1] : [1, 0] {
                let pool = side == 0 ? plain : boxed
                let seconds = try timed { _ = try pool.run(inputs) }
                if side == 0 { plainRate = Double(runLength) / seconds } else { boxedRate = Double(runLength) / seconds }
            }
            plainRates.append(plainRate)
            boxedRates.append(boxedRate)
            ratios.append(boxedRate / plainRate)
        }
        figures.poolRunLength = runLength
        figures.poolCallsPerSecond = benchMedian(plainRates)
        figures.sandboxedPoolCallsPerSecond = benchMedian(boxedRates)
        figures.poolCallsRatio = benchMedian(ratios)
    }

    /// ns per getppid in a worker with and without the sandbox.
    private static func syscallCost(library: String, sandbox: Sandbox, rounds: Int, count: Int,
                                    into figures: inout SandboxFigures) throws {
        let plain = try WorkerPool(library: library, symbol: "fl_getppid_loop", configuration: .init(workers: 1))
        defer { plain.shutdown() }
        let boxed = try WorkerPool(library: library, symbol: "fl_getppid_loop", configuration: .init(workers: 1, sandbox: sandbox))
        defer { boxed.shutdown() }
        func perCall(_ pool: WorkerPool) throws -> Double {
            let empty = try timed { _ = try pool.call(0) }
            let full = try timed {
                guard try pool.call(Int32(count)).returnedValue == Int32(count) else { throw BenchFailure("fl_getppid_loop did not return \(count)") }
            }
            return max(0, full - empty) * 1e9 / Double(count)
        }
        _ = try perCall(plain)
        _ = try perCall(boxed)
        var plainNs: [Double] = [], boxedNs: [Double] = []
        for round in 0..<rounds {
            for side in round % 2 == 0 ? [0, 1] : [1, 0] {
                if side == 0 { plainNs.append(try perCall(plain)) } else { boxedNs.append(try perCall(boxed)) }
            }
        }
        figures.syscallsPerCall = count
        figures.syscallNs = benchMedian(plainNs)
        figures.sandboxedSyscallNs = benchMedian(boxedNs)
    }

    /// A fresh worker per call (the fork server), and a pool's creation to its first result.
    private static func workerStart(library: String, sandbox: Sandbox, rounds: Int, seconds: Double,
                                    into figures: inout SandboxFigures) throws {
        let plain = try ForkServerStrategy(library: library, symbol: "fl_identity")
        defer { plain.pool.shutdown() }
        let boxed = try ForkServerStrategy(library: library, symbol: "fl_identity", sandbox: sandbox)
        defer { boxed.pool.shutdown() }
        func cycle(_ server: ForkServerStrategy) throws -> Double {
            var calls = 0
            let start = fl_now_ns()
            repeat {
                guard try server.call(Int32(calls)).returnedValue == Int32(calls) else { throw BenchFailure("the fork server did not return its input") }
                calls += 1
            } while Double(fl_now_ns() - start) / 1e9 < seconds || calls < 20
            return Double(fl_now_ns() - start) / Double(calls)
        }
        _ = try cycle(plain)
        _ = try cycle(boxed)
        var plainCycle: [Double] = [], boxedCycle: [Double] = []
        var plainStart: [Double] = [], boxedStart: [Double] = []
        for round in 0..<rounds {
            for side in round % 2 == 0 ? [0, 1] : [1, 0] {
                if side == 0 { plainCycle.append(try cycle(plain)) } else { boxedCycle.append(try cycle(boxed)) }
                let configuration = WorkerPool.Configuration(workers: 1, sandbox: side == 0 ? nil : sandbox)
                let start = fl_now_ns()
                let pool = try WorkerPool(library: library, symbol: "fl_identity", configuration: configuration)
                defer { pool.shutdown() }
                _ = try pool.call(1)
                let started = Double(fl_now_ns() - start)
                if side == 0 { plainStart.append(started) } else { boxedStart.append(started) }
            }
        }
        figures.workerCycleNs = benchMedian(plainCycle)
        figures.sandboxedWorkerCycleNs = benchMedian(boxedCycle)
        figures.poolStartNs = benchMedian(plainStart)
        figures.sandboxedPoolStartNs = benchMedian(boxedStart)
    }
}
