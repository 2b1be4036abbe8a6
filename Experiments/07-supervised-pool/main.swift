// 07-supervised-pool: the answer to the pool that hangs. Faultline's
// WorkerPool notices a worker's death as an event (no timeout), fails exactly
// the input that worker was calling, with its signal, address and backtrace,
// replaces the worker at once, and answers every other input.
#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import FaultlineHarness

/// Waits (at most a second) until the pool has `count` live workers; returns how many it has.
func settle(_ pool: WorkerPool, to count: Int) -> Int {
    let deadline = Clock.now() + 1
    while pool.workerPIDs.count != count && Clock.now() < deadline { Clock.sleep(0.005) }
    return pool.workerPIDs.count
}

/// The subject: the pool over the blog's list (one batch, then call by call), and its costs.
func poolSubject(_ arguments: [String]) throws -> Int32 {
    let workers = Int(arguments.first ?? "2") ?? 2
    let rssBefore = ProcessTable.residentBytes() ?? 0
    let fdsBefore = ProcessTable.openDescriptorCount()
    // Each pool lives in its own scope, so it is deinitialized before the caller is inspected.
    try blogList(workers)
    try costs(workers)
    // The symbolizer's open image files (and their debug information) are a cache,
    // not a call's leak: closed before counting.
    SourceSymbolizer.closeImages()
    SubjectChannel.metric("rss_growth", Double((ProcessTable.residentBytes() ?? 0) - rssBefore))
    SubjectChannel.metric("fd_growth", Double(ProcessTable.openDescriptorCount() - fdsBefore))
    Clock.sleep(0.05)
    SubjectChannel.metric("children_left", Double(ProcessTable.descendants(of: getpid()).count))
    return 0
}

/// The blog's list, in one batch and then call by call.
func blogList(_ workers: Int) throws {
    let pool = try WorkerPool(library: Victims.library, symbol: Blog.symbol, configuration: WorkerPool.Configuration(workers: workers))
    SubjectChannel.metric("workers_before", Double(settle(pool, to: workers)))
    let started = Clock.now()
    let outcomes = try pool.run(Blog.inputs)
    SubjectChannel.metric("batch_seconds", Clock.now() - started)
    for (index, outcome) in outcomes.enumerated() {
        SubjectChannel.call(index, CallRecord(input: Blog.inputs[index], outcome: outcome))
    }
    SubjectChannel.metric("workers_after", Double(settle(pool, to: workers)))
    for (index, input) in Blog.inputs.enumerated() {
        let callStarted = Clock.now()
        let outcome = try pool.call(input)
        SubjectChannel.call(100 + index, CallRecord(input: input, outcome: outcome, seconds: Clock.now() - callStarted))
    }
    let statistics = pool.statistics
    SubjectChannel.metric("workers_started", Double(statistics.workersStarted))
    SubjectChannel.metric("worker_deaths", Double(statistics.workerDeaths))
    SubjectChannel.metric("standby_workers", Double(statistics.standbyWorkers))
    SubjectChannel.metric("workers_end", Double(settle(pool, to: workers)))
    pool.shutdown()
}

/// Cost per call and per crash.
func costs(_ workers: Int) throws {
    let identity = try WorkerPool(library: Victims.library, symbol: "fl_identity", configuration: WorkerPool.Configuration(workers: workers))
    let batch = (0..<20_000).map { Int32($0) }
    _ = try identity.run(Array(batch.prefix(100)))
    let batchStarted = Clock.now()
    _ = try identity.run(batch)
    SubjectChannel.metric("cost_per_call", (Clock.now() - batchStarted) / Double(batch.count))
    SubjectChannel.metric("sequential_per_call", try Cost.perCall(2000, warmUp: 10) { try identity.call(Int32($0)).returnedValue ?? 0 })
    identity.shutdown()

    let crash = try WorkerPool(library: Victims.library, symbol: "fl_null_write", configuration: WorkerPool.Configuration(workers: workers))
    SubjectChannel.metric("cost_per_crash", try Cost.perCall(100, warmUp: 2) { try crash.call(Int32($0)).signal?.rawValue ?? 0 })
    let crashes = (0..<200).map { Int32($0) }
    let crashStarted = Clock.now()
    let crashed = try crash.run(crashes).filter { $0.signal == .segmentationFault }.count
    SubjectChannel.metric("batch_per_crash", (Clock.now() - crashStarted) / Double(crashes.count))
    SubjectChannel.metric("batch_crashes", Double(crashed))
    crash.shutdown()
}

Experiment(
    id: "07", name: "supervised-pool",
    title: "Faultline's supervised worker pool (no timeout) over the blog's list",
    flags: [NumericFlag("workers", default: 2, help: "worker processes in the pool", range: 1...64)],
    subjects: [
        "pool": poolSubject,
        "lock-probe": LockProbe.subject { try PoolStrategy(WorkerPool($0, configuration: WorkerPool.Configuration(workers: 1))) },
    ]
) { result, options, supervisor in
    let workers = Int(options["workers"])
    let child = try supervisor.start(subject: "pool", [String(workers)])
    let wait = max(options.budget, 10)
    let status = child.wait(wait)
    let lines = child.lines
    let calls = lines.calls()
    result.calls = Blog.records(calls, status: status)
    let sequential = Blog.records(calls, offset: 100, status: status)
    let allExact = Blog.exact(result.calls) && Blog.exact(sequential)
    let faults = result.calls.compactMap { $0.outcome?.fault }
    let traced = Blog.traced(result.calls)
    let lost = Blog.timeLost(sequential)
    let probe = try LockProbe.run(supervisor, subject: "lock-probe", deadline: min(1, options.budget / 3))
    let before = lines.metric("workers_before"), after = lines.metric("workers_after"), end = lines.metric("workers_end")
    let constant = before == Double(workers) && after == Double(workers) && end == Double(workers)
    let rss = lines.metric("rss_growth") ?? .nan, fds = lines.metric("fd_growth") ?? .nan
    let untouched = fds == 0 && rss < 8 * 1_048_576 && lines.metric("children_left") == 0

    var summary = [
        "blog list in one run(): \(result.calls.filter { $0.status == .returned }.count) returned, \(faults.count) \(Set(faults.map(\.signal.name)).sorted().joined(separator: ", ")) at 0x0 with backtrace, in \(Format.seconds(lines.metric("batch_seconds") ?? .nan)), no timeout set; all exact: \(allExact ? "yes" : "no")",
        "pool size: \(before.map { Int($0) } ?? -1) workers before, \(after.map { Int($0) } ?? -1) right after the run, \(end.map { Int($0) } ?? -1) at the end; \(Int(lines.metric("workers_started") ?? 0) - workers - Int(lines.metric("standby_workers") ?? 0)) replacements for \(Int(lines.metric("worker_deaths") ?? 0)) deaths (and \(Int(lines.metric("standby_workers") ?? 0)) standby worker ready)",
    ]
    if let perCall = lines.metric("cost_per_call"), let sequentialCall = lines.metric("sequential_per_call"),
       let crash = lines.metric("cost_per_crash"), let batchCrash = lines.metric("batch_per_crash") {
        summary.append("cost per call: \(Format.seconds(perCall)) in a batch of 20000, \(Format.seconds(sequentialCall)) one call at a time; per crash: \(Format.seconds(crash)) one at a time, \(Format.seconds(batchCrash)) each in a batch of 200 crashes")
    }
    summary.append("time lost to the \(sequential.filter { $0.status == .crashed }.count) crashes, call by call: \(Format.seconds(lost))")
    summary.append("caller afterwards: RSS \(rss >= 0 ? "+" : "")\(Format.bytes(rss)), descriptors \(fds.isFinite ? (fds >= 0 ? "+" : "") + String(Int(fds)) : "not reported"), processes left \(Int(lines.metric("children_left") ?? -1))")
    summary.append(probe.line)
    if status == nil { summary.append("subject stopped by the watchdog after \(Format.seconds(wait))") }
    result.summary = summary
    result.measure(lines, [("batch_seconds", "s", "run() of the blog's list"),
                           ("cost_per_call", "s", "fl_identity, batch of 20000, per input"),
                           ("sequential_per_call", "s", "fl_identity, one call() at a time"),
                           ("cost_per_crash", "s", "fl_null_write, one call() at a time"),
                           ("batch_per_crash", "s", "fl_null_write, batch of 200, per input"),
                           ("workers_started", "count", "workers started, replacements and the standby included"),
                           ("standby_workers", "count", "workers ready beside the live ones at the end"),
                           ("worker_deaths", "count", "worker deaths"),
                           ("rss_growth", "bytes", "caller's RSS growth"),
                           ("fd_growth", "count", "caller's descriptor growth")])
    result.measure("time_lost_to_crashes", lost, "s", "wall time of the crashing calls, call by call")
    result.notes.append("No deadline is configured anywhere in this experiment: deaths are detected as events.")
    result.notes.append("The lock probe's two calls run in pool workers; the held lock dies with the worker that faulted.")
    result.strategies.append(StrategyRow(
        strategy: "supervised pool (WorkerPool)", language: "Swift", experiment: "07",
        recovers: allExact, hangs: status == nil, needsTimeout: false, exactSignal: allExact, backtrace: traced,
        safeAfterwards: probe.safe && untouched && constant,
        costPerCall: lines.metric("cost_per_call"), costPerCrash: lines.metric("cost_per_crash"), timeLostToCrashes: lost,
        evidence: summary[0] + "; " + summary[1]))
}.main()
