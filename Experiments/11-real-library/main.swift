// 11-real-library: a small C++ library (FaultlineSimulator: a reaction
// simulator behind extern "C" functions, with state set up by an init
// function and real-looking bugs) called through every strategy with its
// real signatures, and through the Python peers (ctypes with argtypes,
// pebble). Then the cost per call of each strategy for three signatures:
// double(double, double), int32(string) on 100-byte strings, int64(bytes)
// on 1 MiB buffers, all through the signature APIs.
#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Foundation
import Faultline
import FaultlineHarness

/// libFaultlineSimulator.so: `$FAULTLINE_SIMULATOR`, else next to this executable.
let simulator: String = {
    if let path = getenv("FAULTLINE_SIMULATOR").map({ String(cString: $0) }), !path.isEmpty { return path }
    return Victims.executableFolder + "/libFaultlineSimulator.so"
}()

/// peers11.py beside this source file (`$FAULTLINE_PEERS11_SCRIPT` overrides).
let script: String = {
    if let path = getenv("FAULTLINE_PEERS11_SCRIPT").map({ String(cString: $0) }), !path.isEmpty { return path }
    let source = #filePath
    return String(source[..<(source.lastIndex(of: "/") ?? source.startIndex)]) + "/peers11.py"
}()

/// The first `name` on $PATH that is executable.
func findOnPath(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
}

/// The simulator's programs: most run, one is rejected cleanly, two hit its bugs.
let programs: [(program: String, steps: Double, note: String)] = [
    ("A+B>C:2", 10, "one reaction"),
    ("A+B>C:1;C+A>D:0.5", 5, "two reactions"),
    ("A+#1>E", 3, "species by number (#1 is B)"),
    ("A+Q>C", 2, "bug: unknown species Q, a null pointer"),
    ("", 1, "empty program, rejected"),
    ("A+B>#100000000", 2, "bug: species number far outside the table"),
    ("B+A>D:3", 4, "after the crashes"),
]

/// `int32(string, double, out_string[64])`.
let runSignature = Signature(returning: .int32, [.string, .scalar(.double), .outString(capacity: 64)])
let inputs: [[Value]] = programs.map { [.string($0.program), .double($0.steps)] }

/// How an outcome reads in the table.
func cell(_ outcome: Outcome) -> String {
    switch outcome {
    case .returned(let value, let out): "returned \(value.json)" + (out.first.map { ", out \($0.json)" } ?? "")
    case .signaled(let fault): fault.description
    default: outcome.description
    }
}

/// Calls init once in this process under the guard; throws unless it returned 0.
func initializeHere() throws {
    let initializer = try NativeFunction(library: simulator, symbol: "fl_sim_init", signature: Signature(returning: .int32, []))
    let outcome = try GuardStrategy(initializer).call(arguments: [])
    guard outcome.value == .int32(0) else { throw UsageError("fl_sim_init: \(outcome)") }
}

/// One cost workload: a signature of the simulator and the arguments of one call.
struct CostWorkload {
    var title: String
    var symbol: String
    var signature: Signature
    var arguments: [Value]
    /// Calls per measurement (fewer for the 1 MiB buffers).
    var calls: Int
}

let costWorkloads = [
    CostWorkload(title: "double(double, double)", symbol: "fl_sim_rate", signature: Signature(returning: .double, [.scalar(.double), .scalar(.double)]),
                 arguments: [.double(300), .double(5e4)], calls: 2000),
    CostWorkload(title: "int32(string), 100 bytes", symbol: "fl_sim_tokens", signature: Signature(returning: .int32, [.string]),
                 arguments: [.string(String(repeating: "A+B>C:2;", count: 12) + "A+B>")], calls: 2000),
    CostWorkload(title: "int64(bytes), 1 MiB", symbol: "fl_sim_checksum", signature: Signature(returning: .int64, [.bytes]),
                 arguments: [.bytes([UInt8](repeating: 1, count: 1 << 20))], calls: 16),
]

/// The median over rounds of the seconds per call of `round`, which makes `count` calls; at least 3 rounds, about `seconds` in all.
func perCall(count: Int, seconds: Double, _ round: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    let start = Clock.now()
    while samples.count < 3 || (Clock.now() - start < seconds && samples.count < 50) {
        samples.append(try Clock.time(round) / Double(count))
    }
    return samples.sorted()[samples.count / 2]
}

Experiment(
    id: "11", name: "real-library",
    title: "a small C++ library (a simulator with init state, an output buffer and two real-looking bugs) through every strategy with its real signatures, and the Python peers",
    defaultBudget: 3,
    subjects: [
        // Direct calls in a watched process: init, then each program in order until one kills it.
        "direct": { _ in
            try initializeHere()
            let function = try NativeFunction(library: simulator, symbol: "fl_sim_run", signature: runSignature)
            for (index, arguments) in inputs.enumerated() {
                SubjectChannel.emit("calling", String(index))
                SubjectChannel.emit("result", String(index), cell(try DirectStrategy(function).call(arguments: arguments)))
            }
            return 0
        },
    ]
) { result, options, supervisor in
    guard Files.exists(simulator) else {
        result.skipped = "libFaultlineSimulator.so not found at \(simulator) (build it, or set FAULTLINE_SIMULATOR)"
        result.summary = [result.skipped!]
        return
    }
    var columns: [(title: String, cells: [String])] = []
    var summary: [String] = []
    let initializer = "fl_sim_init"

    // Direct calls in a watched subject.
    let direct = try supervisor.start(subject: "direct")
    let directStatus = direct.wait(max(options.budget, 10))
    let directResults = Dictionary(direct.lines.filter { $0.tag == "result" }.map { (Int($0.first) ?? -1, $0.rest) }, uniquingKeysWith: { a, _ in a })
    let lastCalling = direct.lines.last { $0.tag == "calling" }.flatMap { Int($0.first) }
    columns.append(("direct (watched process)", inputs.indices.map { index in
        directResults[index] ?? (index == lastCalling ? "process died: \(directStatus.map { "\($0)" } ?? "hung")" : "never called")
    }))
    summary.append("direct calls in a watched process: \(directResults.count) of \(inputs.count) answered, then the process ended with \(directStatus.map { "\($0)" } ?? "no status (killed by the watchdog)")")
    direct.kill()

    // Guard: init once here, then every program in this process.
    do {
        try initializeHere()
        let guarded = GuardStrategy(try NativeFunction(library: simulator, symbol: "fl_sim_run", signature: runSignature))
        let outcomes = try inputs.map { try guarded.call(arguments: $0) }
        columns.append(("guard", outcomes.map(cell)))
        summary.append("guard: \(outcomes.filter { $0.value != nil }.count) returned, \(outcomes.filter { $0.fault != nil }.count) faults caught in this process (which leaked what the C++ code had allocated)")
    } catch {
        columns.append(("guard", inputs.map { _ in "failed: \(error)" }))
    }

    // Fork per call: init in each forked process, then the call.
    do {
        let function = try NativeFunction(library: simulator, symbol: "fl_sim_run", signature: runSignature)
        let forked = ForkStrategy(function, timeout: .seconds(10), initializer: try Initializer(library: simulator, symbol: initializer))
        let outcomes = try inputs.map { try forked.call(arguments: $0) }
        columns.append(("fork", outcomes.map(cell)))
        summary.append("fork: \(outcomes.filter { $0.value != nil }.count) returned, \(outcomes.filter { $0.fault != nil }.count) crashes, each in a forked process that ran fl_sim_init first")
    } catch {
        columns.append(("fork", inputs.map { _ in "failed: \(error)" }))
    }

    // Fork server and pool: init once in the helper, every worker forked from it.
    var forkServer: ForkServerStrategy?
    do {
        let server = try ForkServerStrategy(library: simulator, symbol: "fl_sim_run", signature: runSignature, initializer: initializer)
        forkServer = server
        let outcomes = try inputs.map { try server.call(arguments: $0) }
        columns.append(("fork-server", outcomes.map(cell)))
        summary.append("fork-server: \(outcomes.filter { $0.value != nil }.count) returned, \(outcomes.filter { $0.fault != nil }.count) crashes, each in a process of its own")
    } catch {
        columns.append(("fork-server", inputs.map { _ in "failed: \(error)" }))
    }
    forkServer?.pool.shutdown()
    do {
        let pool = try WorkerPool(library: simulator, symbol: "fl_sim_run", signature: runSignature, initializer: initializer,
                                  configuration: .init(workers: 2))
        defer { pool.shutdown() }
        let outcomes = Array(try pool.run(arguments: inputs))
        columns.append(("pool (2 workers)", outcomes.map(cell)))
        summary.append("pool: \(outcomes.filter { $0.value != nil }.count) returned, \(outcomes.filter { $0.fault != nil }.count) crashes failed exactly their inputs; workers started \(pool.statistics.workersStarted)")
    } catch {
        columns.append(("pool (2 workers)", inputs.map { _ in "failed: \(error)" }))
    }

    // The Python peers.
    var pythonCosts: [String: Double] = [:]
    if let python = findOnPath("python3"), Files.exists(script) {
        let encoded = String(decoding: try JSONSerialization.data(withJSONObject: programs.map { [$0.program, $0.steps] as [Any] }), as: UTF8.self)
        let environment = ["FAULTLINE_SIMULATOR": simulator, "FAULTLINE_PROGRAMS": encoded, "PYTHONDONTWRITEBYTECODE": "1"]
        let ctypesChild = try supervisor.start(program: python, [script, "ctypes"], environment: environment)
        let ctypesStatus = ctypesChild.wait(max(options.budget, 30))
        let lines = ctypesChild.lines
        let results = Dictionary(lines.filter { $0.tag == "result" }.map { (Int($0.first) ?? -1, $0.rest) }, uniquingKeysWith: { a, _ in a })
        let calling = lines.last { $0.tag == "calling" }.flatMap { Int($0.first) }
        columns.append(("Python ctypes (argtypes)", inputs.indices.map { index in
            results[index] ?? (index == calling ? "interpreter died: \(ctypesStatus.map { "\($0)" } ?? "hung")" : "never called")
        }))
        summary.append("Python ctypes with argtypes: \(results.count) of \(inputs.count) answered, then the interpreter ended with \(ctypesStatus.map { "\($0)" } ?? "no status (killed by the watchdog)")")
        for key in ["rate", "tokens", "checksum"] { pythonCosts[key] = lines.metric(key) }
        ctypesChild.kill()

        let pebbleChild = try supervisor.start(program: python, [script, "pebble"], environment: environment)
        let pebbleStatus = pebbleChild.wait(max(options.budget, 60))
        let pebbleLines = pebbleChild.lines
        if let missing = pebbleLines.first(where: { $0.tag == "unavailable" }) {
            summary.append("pebble: not available here (\(missing.first) \(missing.rest)); run scripts/setup --peers")
            result.notes.append("pebble could not be imported, so its column is missing: \(missing.first) \(missing.rest)")
        } else {
            let pebbleResults = Dictionary(pebbleLines.filter { $0.tag == "result" }.map { (Int($0.first) ?? -1, $0.rest) }, uniquingKeysWith: { a, _ in a })
            let version = pebbleLines.first { $0.tag == "version" }?.first ?? "?"
            columns.append(("pebble \(version) ProcessPool(2)", inputs.indices.map { pebbleResults[$0] ?? "—" }))
            summary.append("pebble \(version): \(pebbleResults.count) of \(inputs.count) answered" + (pebbleStatus == nil ? "; killed by the watchdog" : ""))
        }
        pebbleChild.kill()
    } else {
        summary.append("Python peers: python3 or peers11.py not found; not run")
    }

    var table = ["| program | steps | " + columns.map(\.title).joined(separator: " | ") + " |",
                 "|---|---|" + String(repeating: "---|", count: columns.count)]
    for (index, program) in programs.enumerated() {
        let shown = program.program.isEmpty ? "(empty)" : "`\(program.program)`"
        table.append("| \(shown) — \(program.note) | \(Format.fixed(program.steps, digits: 0)) | "
                     + columns.map { $0.cells[index].replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |")
    }
    result.blocks.append(TextBlock(caption: "each program of the simulator (fl_sim_run, int32(string, double, out_string[64]), after fl_sim_init) under each strategy", text: table.joined(separator: "\n")))

    // Cost per call through the signature APIs, for three signatures.
    let seconds = min(0.5, max(0.1, options.budget / 10))
    var costRows: [(String, [String])] = []
    func micro(_ value: Double?) -> String { value.map { Format.fixed($0 * 1e6, digits: $0 * 1e6 < 10 ? 3 : 1) + " µs" } ?? "failed" }
    func measure(_ name: String, _ body: (CostWorkload, NativeFunction) throws -> Double) {
        var cells: [String] = []
        for workload in costWorkloads {
            do {
                let function = try NativeFunction(library: simulator, symbol: workload.symbol, signature: workload.signature)
                let value = try body(workload, function)
                cells.append(micro(value))
                result.measure("cost_\(name.replacingOccurrences(of: "-", with: "_"))_\(workload.symbol)", value * 1e6, "µs",
                               "\(name): \(workload.title), per call")
            } catch {
                cells.append("failed: \(error)")
            }
        }
        costRows.append((name, cells))
    }
    measure("direct") { workload, function in
        let strategy = DirectStrategy(function)
        return try perCall(count: workload.calls, seconds: seconds) { for _ in 0..<workload.calls { _ = try strategy.call(arguments: workload.arguments) } }
    }
    measure("guard") { workload, function in
        let strategy = GuardStrategy(function, captureBacktrace: false)
        return try perCall(count: workload.calls, seconds: seconds) { for _ in 0..<workload.calls { _ = try strategy.call(arguments: workload.arguments) } }
    }
    measure("fork") { workload, function in
        let forked = ForkStrategy(function, timeout: .seconds(10), captureBacktrace: false,
                                  initializer: try Initializer(library: simulator, symbol: initializer))
        let calls = max(4, workload.calls / 20)
        return try perCall(count: calls, seconds: seconds) { for _ in 0..<calls { _ = try forked.call(arguments: workload.arguments) } }
    }
    measure("fork-server") { workload, _ in
        let server = try ForkServerStrategy(library: simulator, symbol: workload.symbol, signature: workload.signature, initializer: initializer)
        defer { server.pool.shutdown() }
        let calls = max(4, workload.calls / 20)
        return try perCall(count: calls, seconds: seconds) { for _ in 0..<calls { _ = try server.call(arguments: workload.arguments) } }
    }
    measure("pool") { workload, _ in
        let pool = try WorkerPool(library: simulator, symbol: workload.symbol, signature: workload.signature, initializer: initializer,
                                  configuration: .init(workers: 2))
        defer { pool.shutdown() }
        let batch = [[Value]](repeating: workload.arguments, count: workload.calls)
        return try perCall(count: workload.calls, seconds: seconds) { _ = try pool.run(arguments: batch) }
    }
    costRows.append(("Python ctypes (argtypes), in the interpreter", ["rate", "tokens", "checksum"].map { pythonCosts[$0].map { micro($0) } ?? "not measured" }))
    var costTable = ["| strategy | " + costWorkloads.map(\.title).joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---|", count: costWorkloads.count)]
    costTable += costRows.map { "| \($0.0) | " + $0.1.joined(separator: " | ") + " |" }
    result.blocks.append(TextBlock(caption: "cost per call through the signature APIs (median of rounds; pool: runs of many calls on 2 workers; fork and fork-server: one call at a time, fork running fl_sim_init in every child)", text: costTable.joined(separator: "\n")))

    result.summary = summary
    result.notes.append("Every strategy calls fl_sim_init first in the process that calls: the guard and direct in their own process, fork in each forked process, the pool and the fork server once in their helper before forking the workers, the Python peers in the interpreter and in each pebble worker (initializer=).")
}.main()
