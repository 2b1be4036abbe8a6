// 08-why-inprocess-is-unsafe: what the in-process guard cannot make safe,
// each hazard shown for real in its own supervised child: a lock left held,
// memory and descriptors leaked, a fault in another thread, cleanup skipped.
import ExperimentKit
import Faultline
import FaultlineHarness

/// Guarded calls that fault after allocating `kib` KiB and opening a descriptor; RSS and fd growth.
/// The same calls under fork per call, for comparison.
func leakSubject(_ arguments: [String]) throws -> Int32 {
    guard arguments.count == 2, let count = Int(arguments[0]), let kib = Int32(arguments[1]) else {
        throw UsageError("leak expects COUNT KIB")
    }
    let function = try Victims.function("fl_leak_then_fault")
    for (name, strategy) in [("guard", GuardStrategy(function, captureBacktrace: false) as any Strategy),
                             ("fork", ForkStrategy(function, captureBacktrace: false))] {
        _ = try strategy.call(kib) // warm up: handlers, alternate stack, first fork
        let rss = ProcessTable.residentBytes() ?? 0
        let fds = ProcessTable.openDescriptorCount()
        var faults = 0
        for _ in 0..<count where try strategy.call(kib).signal == .segmentationFault { faults += 1 }
        SubjectChannel.metric(name + "_faults", Double(faults))
        SubjectChannel.metric(name + "_rss_growth", Double((ProcessTable.residentBytes() ?? 0) - rss))
        SubjectChannel.metric(name + "_fd_growth", Double(ProcessTable.openDescriptorCount() - fds))
    }
    return 0
}

/// A guarded call whose callee faults in a thread it started.
func threadSubject(_ arguments: [String]) throws -> Int32 {
    let strategy = GuardStrategy(try Victims.function("fl_fault_in_thread"))
    SubjectChannel.emit("calling")
    let outcome = try strategy.call(1)
    SubjectChannel.emit("returned", outcome.description)
    return 0
}

/// Calls whose cleanup is skipped by a fault: fork first (the counter lives in the child), then the guard.
func cleanupSubject(_ arguments: [String]) throws -> Int32 {
    let count = Int(arguments.first ?? "5") ?? 5
    let skipping = try Victims.function("fl_cleanup_skipped")
    let inUse = try Victims.function("fl_resources_in_use")
    for (name, strategy) in [("fork", ForkStrategy(skipping, captureBacktrace: false) as any Strategy),
                             ("guard", GuardStrategy(skipping, captureBacktrace: false))] {
        var faults = 0
        for _ in 0..<count where try strategy.call(1).signal == .segmentationFault { faults += 1 }
        SubjectChannel.metric(name + "_faults", Double(faults))
        SubjectChannel.metric(name + "_in_use", Double(inUse.pointer(0)))
    }
    return 0
}

Experiment(
    id: "08", name: "why-inprocess-is-unsafe",
    title: "what the in-process guard cannot make safe, each hazard in its own supervised child",
    flags: [
        NumericFlag("leak-calls", default: 200, help: "guarded calls that leak", range: 1...100_000),
        NumericFlag("leak-kib", default: 256, help: "KiB leaked by each call", range: 1...65_536),
    ],
    subjects: [
        "lock": LockProbe.subject { GuardStrategy($0) },
        "leak": leakSubject,
        "thread": threadSubject,
        "cleanup": cleanupSubject,
    ]
) { result, options, supervisor in
    var summary: [String] = []

    // 1. A lock held by the callee when it faulted stays held.
    let probe = try LockProbe.run(supervisor, subject: "lock", deadline: min(1, options.budget / 3))
    summary.append("lock: " + probe.line)
    result.measure("lock_deadlocked", probe.deadlocked ? 1 : 0, "count", "second call still blocked at the deadline (1 yes)")
    result.measure("lock_waited", probe.waited, "s", "how long the watchdog waited for it")

    // 2. Memory and descriptors of jumped-over calls leak.
    let calls = Int(options["leak-calls"]), kib = Int(options["leak-kib"])
    let leak = try supervisor.start(subject: "leak", [String(calls), String(kib)])
    let leakStatus = leak.wait(max(options.budget, 3))
    let lines = leak.lines
    if let rss = lines.metric("guard_rss_growth"), let fds = lines.metric("guard_fd_growth") {
        let forkRSS = lines.metric("fork_rss_growth") ?? .nan, forkFDs = lines.metric("fork_fd_growth") ?? .nan
        summary.append("leaks: \(calls) guarded calls of fl_leak_then_fault(\(kib)) grew RSS by \(Format.bytes(rss)) (\(Format.bytes(rss / Double(calls))) per call; \(kib) KiB allocated each) and open descriptors by \(Int(fds)); the same calls forked: RSS \(forkRSS >= 0 ? "+" : "")\(Format.bytes(forkRSS)), descriptors \(forkFDs >= 0 ? "+" : "")\(Int(forkFDs))")
        result.measure("guard_rss_growth", rss, "bytes", "RSS growth over the guarded leaking calls")
        result.measure("guard_fd_growth", fds, "count", "descriptor growth over the guarded leaking calls")
        result.measure("fork_rss_growth", forkRSS, "bytes", "RSS growth over the same calls forked")
        result.measure("fork_fd_growth", forkFDs, "count", "descriptor growth over the same calls forked")
        result.measure("leak_calls", Double(calls), "count", "leaking calls")
    } else {
        summary.append("leaks: subject ended with \(leakStatus.map { "\($0)" } ?? "no answer (killed by the watchdog)") before reporting")
    }
    leak.kill()

    // 3. A fault in a thread the callee started is not on the guarded thread.
    let thread = try supervisor.start(subject: "thread")
    let threadStatus = thread.wait(options.budget)
    let returned = thread.lines.contains { $0.tag == "returned" }
    summary.append("thread: a guarded call of fl_fault_in_thread " + (returned ? "returned to the caller" : "took the process down: \(threadStatus.map { "\($0)" } ?? "still running at the deadline"), the guarded call never returned"))
    if case .signal(let signal)? = threadStatus { result.measure("thread_signal", Double(signal.rawValue), "count", "signal that killed the process") }
    result.measure("thread_call_returned", returned ? 1 : 0, "count", "the guarded call returned (1 yes)")
    thread.kill()

    // 4. Cleanup that the jump skipped never runs.
    let cleanup = try supervisor.start(subject: "cleanup", ["5"])
    let cleanupStatus = cleanup.wait(options.budget)
    let cleanupLines = cleanup.lines
    if let guardInUse = cleanupLines.metric("guard_in_use"), let forkInUse = cleanupLines.metric("fork_in_use") {
        summary.append("cleanup: after 5 faults in fl_cleanup_skipped, fl_resources_in_use() says \(Int(guardInUse)) under the guard (should be 0), \(Int(forkInUse)) after the same faults forked")
        result.measure("guard_in_use", guardInUse, "count", "resources the library believes in use after 5 guarded faults")
        result.measure("fork_in_use", forkInUse, "count", "the same after 5 forked faults")
    } else {
        summary.append("cleanup: subject ended with \(cleanupStatus.map { "\($0)" } ?? "no answer") before reporting")
    }
    cleanup.kill()
    result.summary = summary
    result.notes.append("Each hazard runs in its own child under the watchdog; the deadlocked child is killed after the deadline.")
}.main()
