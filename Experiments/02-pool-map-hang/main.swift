// 02-pool-map-hang: the blog's second finding. A pool of worker processes fed
// from a shared queue, whose caller waits for all results, never returns once
// a worker dies with a task: the task is simply gone. The watchdog measures
// how far it got, whether SIGINT ends it, and what it leaves behind.
#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import FaultlineHarness

/// The subject: the naive pool's `map` over the blog's list (after timing it on a harmless function).
func poolMapSubject(_ arguments: [String]) throws -> Int32 {
    let workers = Int(arguments.first ?? "1") ?? 1
    let identity = try NaivePool(library: Victims.library, symbol: "fl_identity", workers: workers)
    let count = 2000
    let started = Clock.now()
    _ = identity.map((0..<Int32(count)).map { $0 }, announce: false)
    SubjectChannel.metric("cost_per_call", (Clock.now() - started) / Double(count))
    identity.close()

    SubjectChannel.emit("mapping", String(Blog.inputs.count))
    let pool = try NaivePool(library: Victims.library, symbol: Blog.symbol, workers: workers)
    let values = pool.map(Blog.inputs)
    SubjectChannel.emit("done", values.map(String.init).joined(separator: ","))
    return 0
}

Experiment(
    id: "02", name: "pool-map-hang",
    title: "Pool.map pattern: a naive process pool whose caller waits for every result",
    flags: [NumericFlag("workers", default: 1, help: "worker processes in the pool", range: 1...16)],
    subjects: ["pool-map": poolMapSubject]
) { result, options, supervisor in
    let workers = Int(options["workers"])
    let child = try supervisor.start(subject: "pool-map", [String(workers)])
    let probe = HangProbe.run(child, supervisor: supervisor, budget: options.budget, progress: "result")
    let watch = probe.watch
    let lines = child.lines
    let mapStart = lines.firstIndex { $0.tag == "mapping" } ?? lines.endIndex
    let perCall = lines.metric("cost_per_call")
    let total = Blog.inputs.count
    let sigintEnded = probe.sigintEnded
    result.leftBehind = probe.leftBehind
    var summary = [probe.hungLine(total: total)]
    if watch.hung {
        let postMap = lines[mapStart...]
        summary.append("pool kept its size: \(probe.poolSize) live worker(s) of \(workers) while hung; \(postMap.count("worker-died")) died, \(postMap.count("worker-started") - workers) replacement(s) started")
        summary += [probe.sigintLine, probe.leftLine].compactMap { $0 }
        result.measure("cpu_percent_while_hung", probe.cpuPercent ?? .nan, "%", "CPU use of the hung pool (caller and workers)")
        result.measure("workers_alive_while_hung", Double(probe.poolSize), "count", "live workers while hung")
        result.measure("worker_deaths", Double(postMap.count("worker-died")), "count", "workers that died during map")
    }
    result.summary = summary
    result.measure("results", Double(watch.progress), "count", "results received before the watchdog stopped it")
    result.measure("inputs", Double(total), "count", "inputs in the list")
    result.measure("hung_after", watch.waited, "s", "time waited by the watchdog")
    result.measure("last_progress_at", watch.lastProgressAt, "s", "time of the last result")
    result.measure("left_behind", Double(result.leftBehind.count), "count", "processes left behind once the caller was gone")
    if let sigintEnded { result.measure("sigint_ended_it", sigintEnded ? 1 : 0, "count", "SIGINT ended the waiting program (1 yes, 0 no)") }
    if let perCall { result.measure("cost_per_call", perCall, "s", "map of fl_identity over 2000 inputs, per input") }

    let received = Dictionary(lines.filter { $0.tag == "result" }.compactMap { line in
        Int(line.first).flatMap { index in Int32(line.rest).map { (index, $0) } }
    }, uniquingKeysWith: { first, _ in first })
    for (index, input) in Blog.inputs.enumerated() {
        if let value = received[index] {
            result.calls.append(CallRecord(input: input, status: .returned, value: value, text: "returned \(value)"))
        } else {
            result.calls.append(CallRecord(input: input, status: .missing, text: watch.hung ? "never answered: map still waiting" : "no result"))
        }
    }
    result.notes.append("The pool replaces a dead worker, as multiprocessing.Pool does, but the task that worker held is lost and the caller is never told.")
    result.notes.append("Ctrl-C is simulated with SIGINT to the waiting program's pid; the workers are its children, in its process group.")
    let finding = summary.prefix(1).joined() + (sigintEnded.map { $0 ? "; SIGINT ended it" : "; SIGINT did not end it" } ?? "") + "; left behind: \(result.leftBehind.count)"
    result.findings.append(FindingCheck(number: 2, language: "Swift", measured: finding, confirmed: watch.hung))
    result.strategies.append(StrategyRow(
        strategy: "Pool.map pattern (naive pool)", language: "Swift", experiment: "02",
        recovers: false, hangs: watch.hung, needsTimeout: true, exactSignal: false, backtrace: false, safeAfterwards: false,
        costPerCall: perCall, costPerCrash: nil, costPerCrashNote: watch.hung ? "never answers" : nil,
        evidence: summary.first ?? ""))
}.main()
