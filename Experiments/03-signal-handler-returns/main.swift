// 03-signal-handler-returns: the blog's third finding. A SIGSEGV handler that
// simply returns sends the thread back to the faulting instruction, which
// faults again, forever: full CPU, no progress. The handler is C
// (CFaultline/naive_patterns.c); the watchdog measures CPU and progress.
#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import CFaultlineLab
import ExperimentKit
import Foundation
import Faultline
import FaultlineHarness

/// The subject: install the returning handler, then call raise_a_fault over the blog's list.
/// A second thread reports the handler's invocation count every 50 ms.
func returningHandlerSubject(_ arguments: [String]) throws -> Int32 {
    let function = try Victims.function(Blog.symbol)
    let identity = DirectStrategy(try Victims.function("fl_identity"))
    let installed = fl_naive_install_returning_handler()
    guard installed == 0 else { throw SystemError("sigaction", errno: installed) }
    SubjectChannel.metric("cost_per_call", Cost.perCall(1_000_000) { identity.call(Int32(truncatingIfNeeded: $0)).returnedValue ?? 0 })
    Thread {
        while true {
            SubjectChannel.emit("handled", String(fl_naive_handler_count()))
            Clock.sleep(0.05)
        }
    }.start()
    for (index, input) in Blog.inputs.enumerated() {
        SubjectChannel.emit("calling", String(index), String(input))
        let value = function.pointer(input)
        SubjectChannel.emit("result", String(index), String(value))
    }
    return 0
}

func handlerCount(_ lines: [SubjectLine]) -> Double {
    lines.last { $0.tag == "handled" }.flatMap { Double($0.first) } ?? 0
}

Experiment(
    id: "03", name: "signal-handler-returns",
    title: "a SIGSEGV handler that just returns, then raise_a_fault over the blog's list",
    subjects: ["returning-handler": returningHandlerSubject]
) { result, options, supervisor in
    // The budget covers the watch and the measuring window at its end.
    let window = min(1, options.budget / 3)
    let child = try supervisor.start(subject: "returning-handler")
    let watch = child.watch(for: options.budget - window, progress: "result")
    var summary: [String] = []
    var cpuPercent: Double?
    if watch.hung {
        // Measure over a window at the end of the budget: CPU, progress, handler runs.
        let (cpu0, results0, handled0) = (child.cpuSeconds, child.lines.count("result"), handlerCount(child.lines))
        Clock.sleep(window)
        let lines = child.lines
        let (cpu1, results1, handled1) = (child.cpuSeconds, lines.count("result"), handlerCount(lines))
        cpuPercent = (cpu1 - cpu0) / window * 100
        let stuck = lines.last { $0.tag == "calling" }
        let stuckInput = stuck.map { $0.rest } ?? "?"
        let rate = (handled1 - handled0) / window
        summary.append("spinning: \(Format.percent(cpuPercent!)) CPU over \(Format.seconds(window)), \(results1 - results0) new results, handler ran \(Format.fixed(rate / 1e6, digits: 2)) million times per second")
        summary.append("stuck in the call with r = \(stuckInput) since \(Format.seconds(watch.lastProgressAt)); \(results1) of \(Blog.inputs.count) results after \(Format.seconds(watch.waited + window)); killed by the watchdog")
        result.measure("cpu_percent", cpuPercent!, "%", "CPU use of the spinning process")
        result.measure("new_results_in_window", Double(results1 - results0), "count", "results during the measuring window")
        result.measure("handler_runs_per_second", rate, "count", "returning-handler invocations per second")
        result.measure("handler_runs", handled1, "count", "returning-handler invocations in total")
        result.measure("window", window, "s", "measuring window")
    } else {
        summary.append("did not spin: ended with \(watch.status!) after \(Format.seconds(watch.waited)), \(watch.progress) results")
    }
    child.kill()
    let lines = child.lines
    let perCall = lines.metric("cost_per_call")
    result.measure("results", Double(lines.count("result")), "count", "results before it got stuck")
    result.measure("hung_after", watch.waited, "s", "time waited by the watchdog before measuring")
    if let perCall { result.measure("cost_per_call", perCall, "s", "direct call of fl_identity with the handler installed") }
    result.summary = summary
    let received = Dictionary(lines.filter { $0.tag == "result" }.compactMap { line in
        Int(line.first).flatMap { index in Int32(line.rest).map { (index, $0) } }
    }, uniquingKeysWith: { first, _ in first })
    let stuckIndex = lines.last { $0.tag == "calling" }.flatMap { Int($0.first) }
    for (index, input) in Blog.inputs.enumerated() {
        if let value = received[index] {
            result.calls.append(CallRecord(input: input, status: .returned, value: value, text: "returned \(value)"))
        } else {
            result.calls.append(CallRecord(input: input, status: .missing, text: index == stuckIndex ? "never returned: spinning through the handler" : "never called"))
        }
    }
    let spinning = watch.hung && (cpuPercent ?? 0) > 50 && (result.measurement("new_results_in_window") ?? 1) == 0
    result.findings.append(FindingCheck(number: 3, language: "Swift", measured: summary.first ?? "", confirmed: spinning))
    result.strategies.append(StrategyRow(
        strategy: "SIGSEGV handler that returns", language: "Swift", experiment: "03",
        recovers: false, hangs: watch.hung, needsTimeout: true, exactSignal: false, backtrace: false, safeAfterwards: false,
        costPerCall: perCall, costPerCrash: nil, costPerCrashNote: watch.hung ? "never returns (spins)" : nil,
        evidence: summary.first ?? ""))
}.main()
