// 01-direct-call: the blog's first finding. Calling the faulting function
// directly, with no protection, kills the calling process at the first r > 3.
// The subject makes the calls; the watchdog sees how it died and how far it got.
import ExperimentKit
import Faultline
import FaultlineHarness

/// The subject: call raise_a_fault over the blog's list, announcing each call and each result.
func directSubject(_ arguments: [String]) throws -> Int32 {
    let function = try Victims.function(Blog.symbol)
    for (index, input) in Blog.inputs.enumerated() {
        SubjectChannel.emit("calling", String(index), String(input))
        let value = function.pointer(input)
        SubjectChannel.emit("result", String(index), String(value))
    }
    return 0
}

/// Mean seconds per DirectStrategy call of fl_identity (safe to run in the watchdog: it never faults).
func directCostPerCall() throws -> Double {
    let strategy = DirectStrategy(try Victims.function("fl_identity"))
    return Cost.perCall(2_000_000) { strategy.call(Int32(truncatingIfNeeded: $0)).returnedValue ?? 0 }
}

Experiment(
    id: "01", name: "direct-call",
    title: "raise_a_fault called directly over the blog's list, in a supervised child",
    subjects: ["direct": directSubject]
) { result, options, supervisor in
    let child = try supervisor.start(subject: "direct")
    let status = child.wait(options.budget)
    let lines = child.lines
    let results = lines.filter { $0.tag == "result" }
    let lastCalling = lines.last { $0.tag == "calling" }
    let diedAt = lastCalling.flatMap { Int($0.first) }
    let perCall = try directCostPerCall()

    for (index, input) in Blog.inputs.enumerated() {
        if let line = results.first(where: { $0.first == String(index) }), let value = Int32(line.rest) {
            result.calls.append(CallRecord(input: input, status: .returned, value: value, text: "returned \(value)"))
        } else if index == diedAt, case .signal(let signal)? = status {
            result.calls.append(CallRecord(input: input, status: .missing, text: "process killed by \(signal.name)"))
        } else {
            result.calls.append(CallRecord(input: input, status: .missing, text: status == nil ? "no answer (hung)" : "never called"))
        }
    }
    let died: String
    switch status {
    case .signal(let signal)?: died = "killed by \(signal.name)"
    case .exitCode(let code)?: died = "exited with status \(code)"
    case nil: died = "still running after \(Format.seconds(options.budget)) (killed by the watchdog)"
    }
    let atInput = diedAt.map { "at call \($0 + 1) (r = \(Blog.inputs[$0]))" } ?? ""
    let line = "process \(died) \(atInput); \(results.count) of \(Blog.inputs.count) results printed"
    result.summary = [line, "cost per direct call of fl_identity: \(Format.seconds(perCall))"]
    result.measure("results_printed", Double(results.count), "count", "results printed before the process ended")
    result.measure("inputs", Double(Blog.inputs.count), "count", "inputs in the list")
    if let diedAt { result.measure("died_at_call", Double(diedAt + 1), "count", "call during which the process ended") }
    if case .signal(let signal)? = status { result.measure("signal", Double(signal.rawValue), "count", "signal number that ended it") }
    result.measure("cost_per_call", perCall, "s", "DirectStrategy call of fl_identity")

    let firstFault = Blog.inputs.firstIndex(where: Blog.faults)
    let killed = status == .signal(.segmentationFault)
    result.findings.append(FindingCheck(number: 1, language: "Swift", measured: line,
                                        confirmed: killed && results.count == firstFault))
    result.strategies.append(StrategyRow(
        strategy: "direct call", language: "Swift", experiment: "01",
        recovers: false, hangs: status == nil, needsTimeout: nil, exactSignal: false, backtrace: false, safeAfterwards: false,
        costPerCall: perCall, costPerCrash: nil, costPerCrashNote: "the process dies",
        evidence: line))
}.main()
