// 04-timeout-per-call: the blog's fourth finding. Submitting each call to a
// process pool and waiting for its result with a deadline survives a crash,
// but each crash costs the whole deadline, and a correct call slower than the
// deadline is reported as a failure.
import ExperimentKit
import Faultline
import FaultlineHarness

/// The subject: the apply-with-timeout pattern over the blog's list, a slow
/// correct call, and the cost of the pattern on a harmless function.
func applyTimeoutSubject(_ arguments: [String]) throws -> Int32 {
    guard arguments.count == 2, let workers = Int(arguments[0]), let timeout = Double(arguments[1]) else {
        throw UsageError("apply-timeout expects WORKERS TIMEOUT")
    }
    let pool = try NaivePool(library: Victims.library, symbol: Blog.symbol, workers: workers)
    let blogStart = Clock.now()
    for (index, input) in Blog.inputs.enumerated() {
        let started = Clock.now()
        let value = pool.apply(Int32(index), input, timeout: timeout)
        let seconds = Clock.now() - started
        if let value {
            SubjectChannel.call(index, CallRecord(input: input, status: .returned, value: value, text: "returned \(value)", seconds: seconds))
        } else {
            SubjectChannel.call(index, CallRecord(input: input, status: .failed, text: "timed out after \(Format.seconds(seconds))", seconds: seconds))
        }
    }
    SubjectChannel.metric("blog_total", Clock.now() - blogStart)
    SubjectChannel.metric("workers_started", Double(pool.started))
    SubjectChannel.metric("worker_deaths", Double(pool.deaths))
    SubjectChannel.metric("workers_alive", Double(pool.workerPIDs.count))
    pool.close()

    // A correct call that takes twice the deadline.
    let slow = try NaivePool(library: Victims.library, symbol: "fl_slow", workers: 1)
    let milliseconds = Int32(timeout * 2000)
    let slowStart = Clock.now()
    let onTime = slow.apply(0, milliseconds, timeout: timeout)
    SubjectChannel.metric("slow_reported_at", Clock.now() - slowStart)
    SubjectChannel.metric("slow_reported_failed", onTime == nil ? 1 : 0)
    let late = onTime ?? slow.result(for: 0, deadline: slowStart + timeout * 4)
    SubjectChannel.metric("slow_input", Double(milliseconds))
    if let late {
        SubjectChannel.metric("slow_value", Double(late))
        SubjectChannel.metric("slow_returned_at", Clock.now() - slowStart)
    }
    slow.close()

    let identity = try NaivePool(library: Victims.library, symbol: "fl_identity", workers: workers)
    SubjectChannel.metric("cost_per_call", Cost.perCall(500, warmUp: 5) { identity.apply(Int32($0), Int32(truncatingIfNeeded: $0), timeout: timeout) ?? -1 })
    identity.close()
    return 0
}

Experiment(
    id: "04", name: "timeout-per-call",
    title: "apply-with-timeout pattern: one call at a time to a process pool, each result awaited with a deadline",
    flags: [
        NumericFlag("workers", default: 2, help: "worker processes in the pool", range: 1...16),
        NumericFlag("call-timeout", default: 0.25, help: "deadline of each call in seconds", range: 0.01...10),
    ],
    subjects: ["apply-timeout": applyTimeoutSubject]
) { result, options, supervisor in
    let timeout = options["call-timeout"]
    let crashes = Blog.inputs.filter(Blog.faults).count
    // The pattern needs about crashes × timeout plus a slow call of 2 × timeout: never cut it short.
    let wait = max(options.budget, Double(crashes + 4) * timeout + 2)
    let child = try supervisor.start(subject: "apply-timeout", [String(Int(options["workers"])), String(timeout)])
    let status = child.wait(wait)
    let lines = child.lines
    result.calls = Blog.records(lines.calls(), status: status)
    let failed = result.calls.filter { $0.status == .failed }
    let lost = Blog.timeLost(result.calls, to: .failed)
    let perCrash = failed.isEmpty ? nil : lost / Double(failed.count)
    let correct = zip(Blog.inputs, result.calls).allSatisfy { input, call in Blog.faults(input) ? call.status == .failed : call.value == input }
    let slowFailed = lines.metric("slow_reported_failed") == 1
    var summary: [String] = []
    if status == nil { summary.append("did not finish within \(Format.seconds(wait)): killed by the watchdog") }
    summary.append("recovered: \(result.calls.filter { $0.status == .returned }.count) returned, \(failed.count) reported as timeouts; every answer for r ≤ 3 correct: \(correct ? "yes" : "no")")
    summary.append("time lost to \(failed.count) crashes: \(Format.seconds(lost)) (crashes × timeout = \(failed.count) × \(Format.seconds(timeout)) = \(Format.seconds(Double(failed.count) * timeout))); whole list: \(Format.seconds(lines.metric("blog_total") ?? .nan))")
    if let at = lines.metric("slow_reported_at") {
        let late = lines.metric("slow_value").map { "it returned \(Int($0)) after \(Format.seconds(lines.metric("slow_returned_at") ?? .nan))" } ?? "it never returned"
        summary.append("a correct call taking \(Format.seconds((lines.metric("slow_input") ?? 0) / 1000)) was reported as \(slowFailed ? "failed" : "returned") at \(Format.seconds(at)); \(late)")
    }
    if let started = lines.metric("workers_started"), let alive = lines.metric("workers_alive") {
        summary.append("pool size kept at \(Int(alive)) by starting \(Int(started) - Int(options["workers"])) replacement worker(s)")
    }
    result.summary = summary
    result.measure("timeout", timeout, "s", "deadline of each call")
    result.measure("crashes", Double(failed.count), "count", "calls reported as timed out")
    result.measure("time_lost_to_crashes", lost, "s", "wall time spent on the crashing calls")
    result.measure("crashes_times_timeout", Double(failed.count) * timeout, "s", "crashes × timeout")
    for key in ["blog_total", "slow_input", "slow_reported_failed", "slow_reported_at", "slow_value", "slow_returned_at", "workers_started", "worker_deaths", "cost_per_call"] {
        if let value = lines.metric(key) {
            let (unit, label): (String, String) = switch key {
            case "blog_total": ("s", "whole blog list")
            case "slow_input": ("count", "slow call input (milliseconds of work)")
            case "slow_reported_failed": ("count", "the slow correct call was reported failed (1 yes)")
            case "slow_reported_at": ("s", "when the slow call was reported failed")
            case "slow_value": ("count", "what the slow call really returned")
            case "slow_returned_at": ("s", "when the slow call really returned")
            case "workers_started": ("count", "workers started, replacements included")
            case "worker_deaths": ("count", "workers that died")
            default: ("s", "apply + get of fl_identity, per call")
            }
            result.measure(key, value, unit, label)
        }
    }
    let finding = "each crash cost \(Format.seconds(perCrash ?? .nan)) with a \(Format.seconds(timeout)) deadline (\(Format.seconds(lost)) lost to \(failed.count) crashes); a correct call slower than the deadline was reported as \(slowFailed ? "failed" : "returned")"
    result.findings.append(FindingCheck(number: 4, language: "Swift", measured: finding,
                                        confirmed: correct && slowFailed && (perCrash ?? 0) >= timeout * 0.95))
    result.strategies.append(StrategyRow(
        strategy: "apply + get(timeout) pattern", language: "Swift", experiment: "04",
        recovers: correct, hangs: status == nil, needsTimeout: true, exactSignal: false, backtrace: false, safeAfterwards: correct,
        costPerCall: lines.metric("cost_per_call"), costPerCrash: perCrash, timeLostToCrashes: lost, usesTimeout: true,
        evidence: finding))
}.main()
