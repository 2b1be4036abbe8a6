import FaultlineBenchResult
import FaultlineHarness

/// `faultline triage --replays 0 --json` against `faultline call` on the same
/// inputs, both child processes fed the same standard input: 5 % of the
/// inputs fault in 3 distinct bugs of `fl_mixed` (-1 SIGSEGV, -2 SIGFPE,
/// -3 SIGILL), the rest return. The runs alternate, call then triage; each
/// figure is the median of its runs' wall times (start-up included in both).
enum TriageBench {
    /// The input of run position `index`: every 20th input faults, cycling through the 3 bugs.
    static func input(_ index: Int) -> Int32 {
        index % 20 == 7 ? Int32(-1 - (index / 20) % 3) : Int32(index % 10_000 + 1)
    }

    static func measure(executable: String, library: String, workers: Int, quick: Bool) -> TriageFigures {
        var figures = TriageFigures()
        figures.workers = workers
        figures.inputs = quick ? 1_000 : 10_000
        let runs = quick ? 2 : 5
        let inputs = (0..<figures.inputs).map(input)
        figures.faults = inputs.filter { $0 < 0 }.count
        let stdin = inputs.map { "\($0)\n" }.joined()
        let common = [library, "fl_mixed", "--workers", String(workers)]
        do {
            for _ in 0..<runs {
                let (callSeconds, callOutput) = try run(executable, ["call"] + common, stdin: stdin)
                let lines = callOutput.split(separator: "\n")
                guard lines.count == inputs.count,
                      lines.filter({ $0.contains("\"outcome\":\"signaled\"") }).count == figures.faults else {
                    throw BenchFailure("faultline call answered \(lines.count) lines for \(inputs.count) inputs, not \(figures.faults) signaled")
                }
                figures.callRuns.append(callSeconds)
                let (triageSeconds, triageOutput) = try run(executable, ["triage"] + common + ["--replays", "0", "--json"],
                                                            stdin: stdin)
                let groups = triageOutput.split(separator: "\n")
                guard groups.last?.contains("\"total\":\(inputs.count),") == true else {
                    throw BenchFailure("faultline triage did not count \(inputs.count) inputs: \(groups.last ?? "no output")")
                }
                figures.groups = groups.count - 1
                figures.triageRuns.append(triageSeconds)
            }
            figures.callSeconds = benchMedian(figures.callRuns)
            figures.triageSeconds = benchMedian(figures.triageRuns)
        } catch {
            figures.note = "not available: \(error)"
        }
        return figures
    }

    /// One run: wall seconds and standard output, after checking the exit status.
    private static func run(_ executable: String, _ arguments: [String], stdin: String) throws -> (Double, String) {
        let start = benchNow()
        let (process, status) = try BenchChildren.run(executable, arguments, stdin: stdin, timeout: 120)
        let seconds = Double(benchNow() - start) / 1e9
        guard status == .exitCode(0) else {
            throw BenchFailure("faultline \(arguments[0]) ended \(status.map { "\($0)" } ?? "at the deadline")")
        }
        return (seconds, process.standardOutput)
    }
}
