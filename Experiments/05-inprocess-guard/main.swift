// 05-inprocess-guard: signal handlers on an alternate stack plus
// sigsetjmp/siglongjmp (CFaultline/guard.c): every call of the blog's list
// gets its exact outcome, with a libunwind backtrace, at a few nanoseconds per
// call. Then the lock probe shows what the speed costs.
import CFaultline
import ExperimentKit
import Faultline
import FaultlineHarness

/// The subject: the guard over the blog's list, then the guard's costs.
func guardSubject(_ arguments: [String]) throws -> Int32 {
    let strategy = GuardStrategy(try Victims.function(Blog.symbol), captureBacktrace: true)
    for (index, input) in Blog.inputs.enumerated() {
        let started = Clock.now()
        let outcome = try strategy.call(input)
        SubjectChannel.call(index, CallRecord(input: input, outcome: outcome, seconds: Clock.now() - started))
    }
    let identity = try Victims.function("fl_identity")
    let nullWrite = try Victims.function("fl_null_write")
    let direct = DirectStrategy(identity)
    let guarded = GuardStrategy(identity, captureBacktrace: true)
    SubjectChannel.metric("direct_per_call", Cost.perCall(1_000_000) { direct.call(Int32(truncatingIfNeeded: $0)).returnedValue ?? 0 })
    SubjectChannel.metric("cost_per_call", try Cost.perCall(1_000_000) { try guarded.call(Int32(truncatingIfNeeded: $0)).returnedValue ?? 0 })
    let withTrace = GuardStrategy(nullWrite, captureBacktrace: true)
    SubjectChannel.metric("cost_per_crash", try Cost.perCall(300, warmUp: 3) { try withTrace.call(Int32($0)).signal?.rawValue ?? 0 })
    let withoutTrace = GuardStrategy(nullWrite, captureBacktrace: false)
    SubjectChannel.metric("crash_no_backtrace", try Cost.perCall(20_000, warmUp: 3) { try withoutTrace.call(Int32($0)).signal?.rawValue ?? 0 })
    var report = fl_report()
    SubjectChannel.metric("raw_recovery_backtrace", Cost.perCall(20_000, warmUp: 3) { _ in
        fl_guard_call(nullWrite.pointer, 1, Int32(FL_CAPTURE_BACKTRACE), &report)
    })
    SubjectChannel.metric("raw_recovery", Cost.perCall(20_000, warmUp: 3) { _ in fl_guard_call(nullWrite.pointer, 1, 0, &report) })
    return 0
}

Experiment(
    id: "05", name: "inprocess-guard",
    title: "in-process guard (sigaltstack + sigsetjmp/siglongjmp) over the blog's list",
    subjects: [
        "guard": guardSubject,
        "lock-probe": LockProbe.subject { GuardStrategy($0) },
    ]
) { result, options, supervisor in
    let child = try supervisor.start(subject: "guard")
    let status = child.wait(options.budget)
    let lines = child.lines
    result.calls = Blog.records(lines.calls(), status: status)
    let exact = Blog.exact(result.calls)
    let faults = result.calls.compactMap { $0.outcome?.fault }
    let traced = Blog.traced(result.calls)
    let lost = Blog.timeLost(result.calls)
    let probe = try LockProbe.run(supervisor, subject: "lock-probe", deadline: min(1, options.budget / 3))

    var summary = [
        "\(result.calls.filter { $0.status == .returned }.count) returned, \(result.calls.filter { $0.status == .crashed }.count) caught as \(Set(faults.map(\.signal.name)).sorted().joined(separator: ", ")); all exact: \(exact ? "yes" : "no"); subject \(status.map { "\($0)" } ?? "killed by the watchdog")",
    ]
    if let perCall = lines.metric("cost_per_call"), let direct = lines.metric("direct_per_call") {
        summary.append("cost per call: \(Format.seconds(perCall)) (direct call: \(Format.seconds(direct)))")
    }
    if let crash = lines.metric("cost_per_crash"), let bare = lines.metric("crash_no_backtrace"),
       let raw = lines.metric("raw_recovery"), let rawTrace = lines.metric("raw_recovery_backtrace") {
        summary.append("cost per recovery: \(Format.seconds(crash)) with a symbolized backtrace, \(Format.seconds(bare)) without; in C alone \(Format.seconds(raw)), \(Format.seconds(rawTrace)) with the libunwind walk")
    }
    summary.append(probe.line)
    if let first = faults.first {
        let frames = first.backtrace.enumerated().map { index, frame in
            "#\(index) 0x\(String(frame.address, radix: 16)) \(frame)" + (frame.symbol != nil ? " (\(frame.image.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "?"))" : "")
        }
        result.blocks.append(TextBlock(caption: "backtrace of the first caught fault (r = \(result.calls.first { $0.status == .crashed }?.input ?? 0)): \(first)", text: frames.joined(separator: "\n")))
        summary.append("backtrace of the first fault: " + first.backtrace.prefix(4).map(\.description).joined(separator: " ← ") + (first.backtrace.count > 4 ? " ← …" : ""))
    }
    result.summary = summary
    result.measure(lines, [("cost_per_call", "s", "GuardStrategy call of fl_identity"),
                           ("direct_per_call", "s", "DirectStrategy call of fl_identity"),
                           ("cost_per_crash", "s", "GuardStrategy call of fl_null_write, backtrace symbolized"),
                           ("crash_no_backtrace", "s", "GuardStrategy call of fl_null_write, no backtrace"),
                           ("raw_recovery", "s", "fl_guard_call on fl_null_write, C only"),
                           ("raw_recovery_backtrace", "s", "fl_guard_call on fl_null_write with the libunwind walk, C only")])
    result.measure("time_lost_to_crashes", lost, "s", "wall time of the crashing calls of the list")
    result.measure("lock_probe_deadlocked", probe.deadlocked ? 1 : 0, "count", "second call deadlocked after a fault holding the lock (1 yes)")
    result.notes.append("Lock probe: fl_fault_holding_lock(1) faults while holding its library's mutex; the guard jumps out, the mutex stays locked, and fl_locked_identity then blocks for ever. Experiment 08 shows the other hazards.")
    result.strategies.append(StrategyRow(
        strategy: "in-process guard", language: "Swift", experiment: "05",
        recovers: exact, hangs: status == nil, needsTimeout: false, exactSignal: exact, backtrace: traced, safeAfterwards: probe.safe,
        costPerCall: lines.metric("cost_per_call"), costPerCrash: lines.metric("cost_per_crash"), timeLostToCrashes: lost,
        evidence: summary[0] + "; " + (probe.deadlocked ? "deadlocked after a fault holding a lock" : probe.line)))
}.main()
