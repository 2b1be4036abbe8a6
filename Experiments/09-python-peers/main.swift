// 09-python-peers: the write-up's Python patterns, and two later Python
// tools, run for real against the same victims library through ctypes
// (peers.py, next to this file). Each mode runs in its own supervised python3
// process; the watchdog applies the same procedures as experiments 01–04.
#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Foundation
import Faultline
import FaultlineHarness

/// `$FAULTLINE_PEERS_SCRIPT`, or peers.py beside this source file.
let script: String = {
    if let path = getenv("FAULTLINE_PEERS_SCRIPT").map({ String(cString: $0) }), !path.isEmpty { return path }
    let source = #filePath
    return String(source[..<(source.lastIndex(of: "/") ?? source.startIndex)]) + "/peers.py"
}()

/// The first `name` on $PATH that is executable.
func findOnPath(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
}

/// One column of the per-input table.
struct Column {
    var title: String
    var cells: [String]
}

func received(_ lines: [SubjectLine]) -> [Int: Int32] {
    Dictionary(lines.filter { $0.tag == "result" }.compactMap { line in
        Int(line.first).flatMap { index in Int32(line.rest).map { (index, $0) } }
    }, uniquingKeysWith: { first, _ in first })
}

Experiment(
    id: "09", name: "python-peers",
    title: "the same patterns in Python 3 (ctypes + multiprocessing, concurrent.futures, pebble) against the same library",
    flags: [NumericFlag("call-timeout", default: 0.25, help: "deadline of each apply_async call in seconds", range: 0.01...10)]
) { result, options, supervisor in
    guard let python = findOnPath("python3") else {
        result.skipped = "python3 is not installed here: the Python peers were not run"
        result.summary = [result.skipped!]
        return
    }
    guard Files.exists(script) else {
        result.skipped = "peers.py not found at \(script) (set FAULTLINE_PEERS_SCRIPT)"
        result.summary = [result.skipped!]
        return
    }
    let environment = ["FAULTLINE_VICTIMS": Victims.library, "PYTHONDONTWRITEBYTECODE": "1"]
    func start(_ mode: String, _ extra: [String] = []) throws -> SupervisedChild {
        try supervisor.start(program: python, [script, mode] + extra, environment: environment)
    }
    let total = Blog.inputs.count
    let timeout = options["call-timeout"]
    var summary: [String] = []
    var columns: [Column] = []

    // 1. A direct ctypes call.
    let direct = try start("direct")
    let directStatus = direct.wait(options.budget)
    let directLines = direct.lines
    if let version = directLines.first(where: { $0.tag == "python" }) {
        summary.append("Python \(version.first) (multiprocessing start method: \(version.rest))")
    }
    let directResults = received(directLines)
    let died = directStatus.map { "\($0)" } ?? "still running (killed by the watchdog)"
    let directLine = "ctypes direct call: interpreter \(died) with \(directResults.count) of \(total) results printed"
    summary.append(directLine)
    result.findings.append(FindingCheck(number: 1, language: "Python", measured: directLine,
                                        confirmed: directStatus == .signal(.segmentationFault) && directResults.count == Blog.inputs.firstIndex(where: Blog.faults)))
    result.strategies.append(StrategyRow(strategy: "direct ctypes call", language: "Python", experiment: "09",
        recovers: false, hangs: directStatus == nil, needsTimeout: nil, exactSignal: false, backtrace: false, safeAfterwards: false,
        costPerCall: nil, costPerCrash: nil, costPerCrashNote: "the interpreter dies", evidence: directLine))
    columns.append(Column(title: "direct call", cells: Blog.inputs.indices.map { directResults[$0].map { "\($0)" } ?? (directLines.last { $0.tag == "calling" }?.first == String($0) ? "process died" : "—") }))
    direct.kill()

    // 2. multiprocessing.Pool.map.
    let map = try start("map")
    let mapProbe = HangProbe.run(map, supervisor: supervisor, budget: options.budget, progress: "result")
    let mapLines = map.lines
    let mapResults = received(mapLines)
    let mapLine = "Pool(1).map: " + mapProbe.hungLine(total: total, unit: "calls returned in the workers") + "; map itself returned nothing"
    summary += [mapLine] + [mapProbe.sigintLine, mapProbe.leftLine].compactMap { $0 }
    result.measure("map_results", Double(mapProbe.watch.progress), "count", "Pool.map: calls that returned in the workers")
    result.measure("map_left_behind", Double(mapProbe.leftBehind.count), "count", "Pool.map: processes left behind after SIGINT")
    if let ended = mapProbe.sigintEnded { result.measure("map_sigint_ended_it", ended ? 1 : 0, "count", "Pool.map: SIGINT ended it (1 yes)") }
    result.leftBehind += mapProbe.leftBehind
    result.findings.append(FindingCheck(number: 2, language: "Python",
        measured: mapLine + (mapProbe.sigintEnded.map { $0 ? "; SIGINT ended it" : "; SIGINT did not end it" } ?? "") + "; left behind: \(mapProbe.leftBehind.count)",
        confirmed: mapProbe.watch.hung))
    result.strategies.append(StrategyRow(strategy: "multiprocessing Pool.map", language: "Python", experiment: "09",
        recovers: false, hangs: mapProbe.watch.hung, needsTimeout: true, exactSignal: false, backtrace: false, safeAfterwards: false,
        costPerCall: mapLines.metric("cost_per_call"), costPerCrash: nil, costPerCrashNote: mapProbe.watch.hung ? "never answers" : nil,
        evidence: mapLine))
    columns.append(Column(title: "Pool.map", cells: Blog.inputs.indices.map { index in
        mapResults[index].map { "\($0) in a worker" } ?? (mapProbe.watch.hung ? "lost" : "—")
    }))

    // 3. Pool.map with a SIGSEGV handler that returns.
    let handler = try start("handler")
    let window = min(1, options.budget / 3)
    let handlerWatch = handler.watch(for: options.budget - window, progress: "result")
    var spinLine = "Pool.map with a returning SIGSEGV handler: " + (handlerWatch.hung ? "" : "ended with \(handlerWatch.status.map { "\($0)" } ?? "?")")
    var spinCPU: Double?
    if handlerWatch.hung {
        let (cpu0, results0) = (handler.treeCPUSeconds, handler.lines.count("result"))
        Clock.sleep(window)
        let (cpu1, results1) = (handler.treeCPUSeconds, handler.lines.count("result"))
        spinCPU = (cpu1 - cpu0) / window * 100
        spinLine += "\(Format.percent(spinCPU!)) CPU over \(Format.seconds(window)) with \(results1 - results0) new results; \(results1) of \(total) calls returned before it got stuck at \(Format.seconds(handlerWatch.lastProgressAt)); killed by the watchdog"
        result.measure("handler_cpu_percent", spinCPU!, "%", "Pool.map + returning handler: CPU of the process tree")
        result.measure("handler_new_results", Double(results1 - results0), "count", "Pool.map + returning handler: results during the window")
    }
    summary.append(spinLine)
    let handlerResults = received(handler.lines)
    supervisor.cleanUp()
    result.findings.append(FindingCheck(number: 3, language: "Python", measured: spinLine,
                                        confirmed: handlerWatch.hung && (spinCPU ?? 0) > 50 && result.measurement("handler_new_results") == 0))
    result.strategies.append(StrategyRow(strategy: "Pool.map + returning SIGSEGV handler", language: "Python", experiment: "09",
        recovers: false, hangs: handlerWatch.hung, needsTimeout: true, exactSignal: false, backtrace: false, safeAfterwards: false,
        costPerCall: nil, costPerCrash: nil, costPerCrashNote: handlerWatch.hung ? "never returns (spins)" : nil, evidence: spinLine))
    columns.append(Column(title: "Pool.map + handler", cells: Blog.inputs.indices.map { handlerResults[$0].map { "\($0) in a worker" } ?? (handlerWatch.hung ? "lost" : "—") }))

    // 4. apply_async(...).get(timeout=t), one call at a time.
    let crashes = Blog.inputs.filter(Blog.faults).count
    let apply = try start("apply_async", ["--workers", "2", "--timeout", String(timeout)])
    let applyStatus = apply.wait(max(options.budget, Double(crashes + 4) * timeout + 5))
    let applyLines = apply.lines
    let applyCalls = applyLines.calls()
    let applyFailed = applyCalls.values.filter { $0.status == .failed }
    let applyLost = applyFailed.compactMap(\.seconds).reduce(0, +)
    let applyCorrect = applyCalls.count == total && Blog.inputs.enumerated().allSatisfy { index, input in
        Blog.faults(input) ? applyCalls[index]?.status == .failed : applyCalls[index]?.value == input
    }
    let slowFailed = applyLines.metric("slow_reported_failed") == 1
    var applyLine = "apply_async + get(timeout=\(Format.seconds(timeout))): \(applyCalls.values.filter { $0.status == .returned }.count) returned, \(applyFailed.count) TimeoutError; \(Format.seconds(applyLost)) lost to \(applyFailed.count) crashes (crashes × timeout = \(Format.seconds(Double(applyFailed.count) * timeout)))"
    if let at = applyLines.metric("slow_reported_at") {
        applyLine += "; a correct \(Format.seconds((applyLines.metric("slow_input") ?? 0) / 1000)) call was reported \(slowFailed ? "failed" : "returned") at \(Format.seconds(at))" +
            (applyLines.metric("slow_value").map { " (it returned \(Int($0)) at \(Format.seconds(applyLines.metric("slow_returned_at") ?? .nan)))" } ?? "")
    }
    if applyStatus == nil { applyLine += "; did not finish: killed by the watchdog" }
    summary.append(applyLine)
    result.measure("apply_time_lost", applyLost, "s", "apply_async: wall time of the crashing calls")
    let applyPerCrash = applyFailed.isEmpty ? nil : applyLost / Double(applyFailed.count)
    result.findings.append(FindingCheck(number: 4, language: "Python", measured: applyLine,
                                        confirmed: applyCorrect && slowFailed && (applyPerCrash ?? 0) >= timeout * 0.95))
    result.strategies.append(StrategyRow(strategy: "apply_async + get(timeout)", language: "Python", experiment: "09",
        recovers: applyCorrect, hangs: applyStatus == nil, needsTimeout: true, exactSignal: false, backtrace: false, safeAfterwards: applyCorrect,
        costPerCall: applyLines.metric("cost_per_call"), costPerCrash: applyPerCrash, timeLostToCrashes: applyLost, usesTimeout: true,
        evidence: applyLine))
    columns.append(Column(title: "apply_async", cells: Blog.inputs.indices.map { applyCalls[$0]?.text ?? "—" }))
    apply.kill()

    // 5. concurrent.futures.ProcessPoolExecutor.
    let executor = try start("executor", ["--workers", "2"])
    let executorStatus = executor.wait(max(options.budget, 15))
    let executorLines = executor.lines
    let executorCalls = executorLines.calls()
    let broken = executorCalls.values.filter { $0.status == .failed }
    let innocent = Blog.inputs.enumerated().filter { !Blog.faults($1) && executorCalls[$0]?.status == .failed }.count
    let usable = executorLines.metric("usable_after") == 1
    var executorLine = "ProcessPoolExecutor(2): \(executorCalls.values.filter { $0.status == .returned }.count) returned, \(broken.count) failed with \(Set(broken.map(\.text)).sorted().joined(separator: ", ")) — \(innocent) of them inputs that do not fault; executor usable afterwards: \(usable ? "yes" : "no")"
    if executorStatus == nil { executorLine += "; did not finish: killed by the watchdog" }
    summary.append(executorLine)
    result.measure("executor_innocent_failures", Double(innocent), "count", "ProcessPoolExecutor: non-faulting inputs reported failed")
    let executorRecovers = executorCalls.count == total && innocent == 0
    result.strategies.append(StrategyRow(strategy: "concurrent.futures ProcessPoolExecutor", language: "Python", experiment: "09",
        recovers: executorRecovers, hangs: executorStatus == nil, needsTimeout: false, exactSignal: false, backtrace: false, safeAfterwards: usable,
        costPerCall: executorLines.metric("cost_per_call"), costPerCrash: executorLines.metric("cost_per_crash"),
        evidence: executorLine))
    columns.append(Column(title: "ProcessPoolExecutor", cells: Blog.inputs.indices.map { executorCalls[$0]?.text ?? "—" }))
    executor.kill()

    // 6. pebble.ProcessPool, when it can be imported.
    let pebble = try start("pebble", ["--workers", "2"])
    let pebbleStatus = pebble.wait(max(options.budget, 15))
    let pebbleLines = pebble.lines
    if let unavailable = pebbleLines.first(where: { $0.tag == "unavailable" }) {
        summary.append("pebble: not available here (\(unavailable.first) \(unavailable.rest)); run scripts/setup --peers")
        result.notes.append("pebble could not be imported, so its row is missing: \(unavailable.first) \(unavailable.rest)")
    } else {
        let pebbleCalls = pebbleLines.calls()
        let version = pebbleLines.first { $0.tag == "version" }?.first ?? "?"
        let pebbleExact = pebbleCalls.count == total && Blog.inputs.enumerated().allSatisfy { index, input in
            Blog.faults(input) ? pebbleCalls[index]?.signal == "SIGSEGV" : pebbleCalls[index]?.value == input
        }
        let usableAfter = pebbleLines.metric("usable_after") == 1
        let crashed = pebbleCalls.values.filter { $0.status == .crashed }
        var pebbleLine = "pebble \(version) ProcessPool(2): \(pebbleCalls.values.filter { $0.status == .returned }.count) returned, \(crashed.count) \(Set(crashed.map(\.text)).sorted().joined(separator: ", ")); every input exact: \(pebbleExact ? "yes" : "no"); pool usable afterwards: \(usableAfter ? "yes" : "no")"
        if pebbleStatus == nil { pebbleLine += "; did not finish: killed by the watchdog" }
        summary.append(pebbleLine)
        result.strategies.append(StrategyRow(strategy: "pebble ProcessPool", language: "Python", experiment: "09",
            recovers: pebbleExact, hangs: pebbleStatus == nil, needsTimeout: false, exactSignal: pebbleExact, backtrace: false, safeAfterwards: usableAfter,
            costPerCall: pebbleLines.metric("cost_per_call"), costPerCrash: pebbleLines.metric("cost_per_crash"),
            evidence: pebbleLine))
        columns.append(Column(title: "pebble", cells: Blog.inputs.indices.map { pebbleCalls[$0]?.text ?? "—" }))
    }
    pebble.kill()

    var table = ["| input | " + columns.map(\.title).joined(separator: " | ") + " |",
                 "|---|" + String(repeating: "---|", count: columns.count)]
    for (index, input) in Blog.inputs.enumerated() {
        table.append("| \(input) | " + columns.map { $0.cells[index] }.joined(separator: " | ") + " |")
    }
    result.blocks.append(TextBlock(caption: "the blog's list under each Python pattern", text: table.joined(separator: "\n")))
    result.summary = summary
    result.notes.append("Pool.map hands inputs to workers in chunks (here of 3): a crash loses its whole chunk, so inputs that do not fault can be lost with it.")
    result.notes.append("Ctrl-C is simulated with SIGINT to the python3 process being waited on; its workers are its children, in its process group.")
    result.notes.append("Each mode runs with SWIFT_BACKTRACE=enable=no: libFaultlineVictims.so carries the Swift runtime, whose crash reporter would otherwise run in every crashing Python worker.")
}.main()
