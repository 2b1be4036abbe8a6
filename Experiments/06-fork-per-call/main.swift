// 06-fork-per-call: one forked child per call (CFaultline/fork_call.c). Every
// victim of the zoo gets its exact outcome (signal from waitpid, address and
// backtrace from a reporter in the child), no deadline is needed except for a
// callee that never returns, and the caller is untouched.
#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import FaultlineHarness

/// One victim of the zoo and what its documentation says it does.
struct ZooEntry {
    var symbol: String
    var input: Int32
    /// `returned N`, `exited N`, `timed_out`, or a signal name.
    var expected: String
    var timeout: Duration? = nil
}

let zoo: [ZooEntry] = [
    ZooEntry(symbol: "raise_a_fault", input: 10, expected: "SIGSEGV"),
    ZooEntry(symbol: "fl_identity", input: 5, expected: "returned 5"),
    ZooEntry(symbol: "fl_null_write", input: 1, expected: "SIGSEGV"),
    ZooEntry(symbol: "fl_bus_error", input: 1, expected: "SIGBUS"),
    ZooEntry(symbol: "fl_divide_by_zero", input: 1, expected: "SIGFPE"),
    ZooEntry(symbol: "fl_illegal_instruction", input: 1, expected: "SIGILL"),
    ZooEntry(symbol: "fl_breakpoint", input: 1, expected: "SIGTRAP"),
    ZooEntry(symbol: "fl_abort", input: 1, expected: "SIGABRT"),
    ZooEntry(symbol: "fl_stack_overflow", input: 1, expected: "SIGSEGV"),
    ZooEntry(symbol: "fl_fault_in_thread", input: 1, expected: "SIGSEGV"),
    ZooEntry(symbol: "fl_exit", input: 100, expected: "exited 100"),
    ZooEntry(symbol: "fl_exit_zero", input: 9, expected: "exited 0"),
    ZooEntry(symbol: "fl_infinite_loop", input: 0, expected: "timed_out", timeout: .milliseconds(200)),
    ZooEntry(symbol: "fl_slow", input: 300, expected: "returned 300"),
    ZooEntry(symbol: "fl_double_free", input: 1, expected: "SIGABRT"),
    ZooEntry(symbol: "fl_raise_segv", input: 1, expected: "SIGSEGV"),
    ZooEntry(symbol: "fl_fault_with_segv_blocked", input: 1, expected: "SIGSEGV"),
    ZooEntry(symbol: "fl_noisy", input: 7, expected: "returned 7"),
    ZooEntry(symbol: "fl_fault_holding_lock", input: 1, expected: "SIGSEGV"),
    ZooEntry(symbol: "fl_locked_identity", input: 1, expected: "returned 1"),
    ZooEntry(symbol: "fl_leak_then_fault", input: 64, expected: "SIGSEGV"),
    ZooEntry(symbol: "fl_cleanup_skipped", input: 1, expected: "SIGSEGV"),
    ZooEntry(symbol: "fl_resources_in_use", input: 0, expected: "returned 0"),
    ZooEntry(symbol: "fl_mixed", input: -2, expected: "SIGFPE"),
]

/// Whether an outcome is the one expected.
func matches(_ outcome: Outcome, _ expected: String) -> Bool {
    switch outcome {
    case .returned(let value, _): expected == "returned \(value.json)"
    case .exited(let status): expected == "exited \(status)"
    case .timedOut: expected == "timed_out"
    case .corrupted: expected == "corrupted"
    case .signaled(let fault): expected == fault.signal.name
    }
}

/// The subject: the blog's list, the zoo, and the costs, all with ForkStrategy.
func forkSubject(_ arguments: [String]) throws -> Int32 {
    let rssBefore = ProcessTable.residentBytes() ?? 0
    let fdsBefore = ProcessTable.openDescriptorCount()
    let strategy = ForkStrategy(try Victims.function(Blog.symbol))
    for (index, input) in Blog.inputs.enumerated() {
        let started = Clock.now()
        let outcome = try strategy.call(input)
        SubjectChannel.call(index, CallRecord(input: input, outcome: outcome, seconds: Clock.now() - started))
    }
    let encoder = JSONEncoder()
    for entry in zoo {
        let started = Clock.now()
        let outcome = try ForkStrategy(try Victims.function(entry.symbol), timeout: entry.timeout).call(entry.input)
        let record = CallRecord(input: entry.input, outcome: outcome, seconds: Clock.now() - started)
        SubjectChannel.emit("zoo", entry.symbol, String(decoding: try encoder.encode(record), as: UTF8.self))
    }
    let identity = ForkStrategy(try Victims.function("fl_identity"))
    SubjectChannel.metric("cost_per_call", try Cost.perCall(300, warmUp: 3) { try identity.call(Int32($0)).returnedValue ?? 0 })
    let crash = ForkStrategy(try Victims.function("fl_null_write"))
    SubjectChannel.metric("cost_per_crash", try Cost.perCall(100, warmUp: 2) { try crash.call(Int32($0)).signal?.rawValue ?? 0 })
    let bare = ForkStrategy(try Victims.function("fl_null_write"), captureBacktrace: false)
    SubjectChannel.metric("crash_no_backtrace", try Cost.perCall(100, warmUp: 2) { try bare.call(Int32($0)).signal?.rawValue ?? 0 })
    // The symbolizer's open image files (and their debug information) are a cache,
    // not a call's leak: closed before counting.
    SourceSymbolizer.closeImages()
    SubjectChannel.metric("rss_growth", Double((ProcessTable.residentBytes() ?? 0) - rssBefore))
    SubjectChannel.metric("fd_growth", Double(ProcessTable.openDescriptorCount() - fdsBefore))
    SubjectChannel.metric("children_left", Double(ProcessTable.descendants(of: getpid()).count))
    return 0
}

import Foundation

Experiment(
    id: "06", name: "fork-per-call",
    title: "fork per call: the blog's list and the whole victim zoo, each call in its own child",
    subjects: [
        "fork": forkSubject,
        "lock-probe": LockProbe.subject { ForkStrategy($0) },
    ]
) { result, options, supervisor in
    let child = try supervisor.start(subject: "fork")
    // The zoo includes a 0.3 s call and a 0.2 s deadline: never cut the subject short of that (nor of the first naming of libc frames from its debug files, ~0.2 s).
    let status = child.wait(max(options.budget, 6))
    let lines = child.lines
    result.calls = Blog.records(lines.calls(), status: status)
    let exact = Blog.exact(result.calls)
    let faults = result.calls.compactMap { $0.outcome?.fault }
    let traced = Blog.traced(result.calls)
    let lost = Blog.timeLost(result.calls)

    var zooRows: [String] = ["| victim | input | expected | outcome | matches | time |", "|---|---|---|---|---|---|"]
    var matched = 0
    for entry in zoo {
        let line = lines.last { $0.tag == "zoo" && $0.first == entry.symbol }
        let record = line.flatMap { try? JSONDecoder().decode(CallRecord.self, from: Data($0.rest.utf8)) }
        let ok = record?.outcome.map { matches($0, entry.expected) } ?? false
        if ok { matched += 1 }
        let deadline = entry.timeout.map { " (deadline \($0.components.attoseconds / 1_000_000_000_000_000) ms)" } ?? ""
        zooRows.append("| `\(entry.symbol)` | \(entry.input) | \(entry.expected)\(deadline) | \(record?.text ?? "no answer") | \(ok ? "yes" : "**no**") | \(record?.seconds.map(Format.seconds) ?? "—") |")
    }
    result.blocks.append(TextBlock(caption: "the victim zoo under fork per call", text: zooRows.joined(separator: "\n")))
    let probe = try LockProbe.run(supervisor, subject: "lock-probe", deadline: min(1, options.budget / 3))
    let rss = lines.metric("rss_growth") ?? .nan, fds = lines.metric("fd_growth") ?? .nan
    let untouched = fds == 0 && rss < 8 * 1_048_576 && lines.metric("children_left") == 0

    var summary = [
        "blog list: \(result.calls.filter { $0.status == .returned }.count) returned, \(faults.count) \(Set(faults.map(\.signal.name)).sorted().joined(separator: ", ")) at 0x0 with backtrace; all exact: \(exact ? "yes" : "no")",
        "zoo: \(matched) of \(zoo.count) victims got exactly the documented outcome (only the infinite loop has a deadline)",
    ]
    if let perCall = lines.metric("cost_per_call"), let crash = lines.metric("cost_per_crash"), let bare = lines.metric("crash_no_backtrace") {
        summary.append("cost per call: \(Format.seconds(perCall)); per crash: \(Format.seconds(crash)) with a symbolized backtrace, \(Format.seconds(bare)) without")
    }
    summary.append("caller after all that: RSS \(rss >= 0 ? "+" : "")\(Format.bytes(rss)), descriptors \(fds.isFinite ? (fds >= 0 ? "+" : "") + String(Int(fds)) : "not reported"), children left \(Int(lines.metric("children_left") ?? -1))")
    summary.append(probe.line)
    if status == nil { summary.append("subject stopped by the watchdog after \(Format.seconds(max(options.budget, 6)))") }
    result.summary = summary
    result.measure("zoo_matched", Double(matched), "count", "victims with exactly the documented outcome")
    result.measure("zoo_size", Double(zoo.count), "count", "victims in the zoo")
    result.measure(lines, [("cost_per_call", "s", "ForkStrategy call of fl_identity"),
                           ("cost_per_crash", "s", "ForkStrategy call of fl_null_write, backtrace symbolized"),
                           ("crash_no_backtrace", "s", "ForkStrategy call of fl_null_write, no backtrace"),
                           ("rss_growth", "bytes", "caller's RSS growth over the whole run"),
                           ("fd_growth", "count", "caller's descriptor growth over the whole run")])
    result.measure("time_lost_to_crashes", lost, "s", "wall time of the crashing calls of the list")
    result.strategies.append(StrategyRow(
        strategy: "fork per call", language: "Swift", experiment: "06",
        recovers: exact, hangs: status == nil, needsTimeout: false, exactSignal: exact, backtrace: traced,
        safeAfterwards: probe.safe && untouched,
        costPerCall: lines.metric("cost_per_call"), costPerCrash: lines.metric("cost_per_crash"), timeLostToCrashes: lost,
        evidence: summary[0] + "; " + summary[1]))
}.main()
