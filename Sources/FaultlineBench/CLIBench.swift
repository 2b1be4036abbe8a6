import Faultline
import FaultlineBenchResult
import FaultlineHarness

/// `faultline call` end to end, as a user runs it: a child process reading
/// all-faulting JSON Lines (`-1` makes `fl_mixed` write through NULL) and
/// writing one outcome per line, with backtraces and names. Each figure is
/// the difference between a short and a long run, so that the process's
/// start (and the pool's set-up) cancel out; both runs must answer every
/// input with `signaled`, or there is no figure.
enum CLIBench {
    /// Measures `faultline call --strategy guard` per fault, and `faultline call`
    /// (the pool) against `WorkerPool.run` in crashes per second.
    static func measure(executable: String, library: String, workers: Int, quick: Bool) -> CLIFigures {
        var figures = CLIFigures()
        figures.workers = workers
        let guardCounts = quick ? (200, 1_000) : (2_000, 20_000)
        let poolCounts = quick ? (50, 200) : (400, 2_000)
        figures.inputs = [guardCounts.0, guardCounts.1, poolCounts.0, poolCounts.1]
        do {
            let seconds = try slope(executable, ["call", library, "fl_mixed", "--strategy", "guard"], counts: guardCounts)
            figures.guardFaultNs = seconds * 1e9
        } catch {
            figures.guardNote = "not available: \(error)"
        }
        do {
            let seconds = try slope(executable, ["call", library, "fl_mixed", "--workers", String(workers)], counts: poolCounts)
            figures.poolCrashesPerSecond = 1 / seconds
            figures.libraryCrashesPerSecond = try libraryRate(library: library, workers: workers, counts: poolCounts)
        } catch {
            figures.poolNote = "not available: \(error)"
        }
        return figures
    }

    /// Seconds per input: (time of the long run - time of the short one) / (difference of their lengths).
    private static func slope(_ executable: String, _ arguments: [String], counts: (Int, Int)) throws -> Double {
        try perInput(counts: counts) { try run(executable, arguments, count: $0) }
    }

    /// `seconds(count)` of both lengths, 5 times each: the difference of the medians per input.
    private static func perInput(counts: (Int, Int), _ seconds: (Int) throws -> Double) throws -> Double {
        var short: [Double] = []
        var long: [Double] = []
        for _ in 0..<5 {
            short.append(try seconds(counts.0))
            long.append(try seconds(counts.1))
        }
        let difference = benchMedian(long) - benchMedian(short)
        guard difference > 0 else { throw BenchFailure("the longer run was not slower (noise): \(long) vs \(short)") }
        return difference / Double(counts.1 - counts.0)
    }

    /// One run of `count` faulting inputs: wall seconds, after checking every outcome.
    private static func run(_ executable: String, _ arguments: [String], count: Int) throws -> Double {
        let input = String(repeating: "-1\n", count: count)
        let start = benchNow()
        let (process, status) = try BenchChildren.run(executable, arguments, stdin: input, timeout: 120)
        let seconds = Double(benchNow() - start) / 1e9
        guard status == .exitCode(0) else {
            throw BenchFailure("faultline \(arguments.prefix(2).joined(separator: " ")) ended \(status.map { "\($0)" } ?? "at the deadline")")
        }
        let lines = process.standardOutput.split(separator: "\n")
        guard lines.count == count, lines.allSatisfy({ $0.contains("\"outcome\":\"signaled\"") }) else {
            throw BenchFailure("faultline call answered \(lines.count) lines for \(count) faulting inputs, not all signaled")
        }
        return seconds
    }

    /// `WorkerPool.run` crashes per second on the same all-faulting inputs, the same difference of two runs.
    private static func libraryRate(library: String, workers: Int, counts: (Int, Int)) throws -> Double {
        let pool = try WorkerPool(library: library, symbol: "fl_mixed", configuration: .init(workers: workers))
        defer { pool.shutdown() }
        func timed(_ count: Int) throws -> Double {
            let start = benchNow()
            let outcomes = try pool.run([Int32](repeating: -1, count: count))
            guard outcomes.failures.count == count else { throw BenchFailure("fl_mixed(-1) returned in the pool") }
            _ = pool.workerPIDs
            return Double(benchNow() - start) / 1e9
        }
        return 1 / (try perInput(counts: counts, timed))
    }
}
