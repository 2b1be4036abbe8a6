#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Foundation
import Faultline
import FaultlineHarness

/// libFaultlineBugs.so: `$FAULTLINE_BUGS`, else next to this executable.
let bugsLibrary: String = {
    if let path = getenv("FAULTLINE_BUGS").map({ String(cString: $0) }), !path.isEmpty { return path }
    return Victims.executableFolder + "/libFaultlineBugs.so"
}()

/// The `faultline` command built beside this executable.
let faultlineCommand = Victims.executableFolder + "/faultline"

/// The inputs: a deterministic stream of 32-bit records (splitmix64, seed 13, the low 32 bits).
func recordInputs(count: Int, seed: UInt64 = 13) -> [Int32] {
    var state = seed
    return (0..<count).map { _ in
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        z ^= z >> 31
        return Int32(truncatingIfNeeded: z)
    }
}

/// The bugs as `parse_record_defect` numbers them (its ground truth), with the label the tables use.
let bugNames = [1: "null field (static field_width)", 2: "wild store", 3: "division by zero", 4: "uncaught C++ exception",
                5: "double free", 6: "unbounded recursion"]

/// The real-library calls: the zlib shim and libc's strlen, each with two bad pointers (and one control).
struct LibraryCall {
    var set: String
    var label: String
    var library: String
    var symbol: String
    var signature: String
    var argument: UInt64
}

let far: UInt64 = 0x4000_0000_0000
let libraryCalls = [
    LibraryCall(set: "zlib", label: "zlib uncompress() into the shim's own buffer (control)", library: bugsLibrary, symbol: "unpack_into",
                signature: "int32(uint64)", argument: 0),
    LibraryCall(set: "zlib", label: "zlib uncompress() into 0x10", library: bugsLibrary, symbol: "unpack_into", signature: "int32(uint64)", argument: 0x10),
    LibraryCall(set: "zlib", label: "zlib uncompress() into 0x\(String(far, radix: 16))", library: bugsLibrary, symbol: "unpack_into",
                signature: "int32(uint64)", argument: far),
    LibraryCall(set: "libc", label: "libc strlen(0x10)", library: "libc.so.6", symbol: "strlen", signature: "uint64(uint64)", argument: 0x10),
    LibraryCall(set: "libc", label: "libc strlen(0x\(String(far, radix: 16)))", library: "libc.so.6", symbol: "strlen",
                signature: "uint64(uint64)", argument: far),
]

/// One way of running the inputs, as the tables need it.
struct StrategyRun {
    var name: String
    /// Per input: its group key (nil: returned, or no answer when `answered` is false for it).
    var keys: [String?]
    /// Per input: whether the strategy answered it.
    var answered: [Bool]
    var triage = Triage()
    var seconds: Double?
    /// What happened, when it was not simply "every input answered".
    var note: String?

    init(name: String, count: Int) {
        self.name = name
        keys = Array(repeating: nil, count: count)
        answered = Array(repeating: false, count: count)
    }

    /// Records the outcomes of inputs 0..<outcomes.count.
    mutating func record(_ outcomes: Outcomes) {
        for (index, outcome) in outcomes.enumerated() { record(outcome, index: index) }
    }

    mutating func record(_ outcome: Outcome, index: Int) {
        keys[index] = triage.add(outcome, index: index)
        answered[index] = true
    }

    var answeredCount: Int { answered.count(where: { $0 }) }

    /// Inputs answered by both whose keys differ, with the first such input.
    func mismatches(against other: StrategyRun) -> (count: Int, first: Int?) {
        let differing = keys.indices.filter { answered[$0] && other.answered[$0] && keys[$0] != other.keys[$0] }
        return (differing.count, differing.first)
    }
}

/// The guard's subject: calls in chunks, one `@call` line per failure, `@chunk END` after each chunk,
/// then `@metric seconds S` (the calls alone). Arguments: `records COUNT` or `library`.
func guardSubject(_ arguments: [String]) throws -> Int32 {
    if arguments.first == "library" {
        for (index, call) in libraryCalls.enumerated() {
            let function = try NativeFunction(library: call.library, symbol: call.symbol, signature: Signature(parsing: call.signature))
            let outcome = try GuardStrategy(function).call(arguments: [.uint64(call.argument)])
            SubjectChannel.call(index, CallRecord(input: 0, outcome: outcome))
        }
        return 0
    }
    let inputs = recordInputs(count: Int(arguments.dropFirst().first ?? "") ?? 10_000)
    let guarded = GuardStrategy(try NativeFunction(library: bugsLibrary, symbol: "parse_record"))
    var seconds = 0.0
    for start in stride(from: 0, to: inputs.count, by: 500) {
        let chunk = Array(inputs[start..<min(start + 500, inputs.count)])
        let began = Clock.now()
        let outcomes = try guarded.call(chunk)
        seconds += Clock.now() - began
        for (offset, outcome) in outcomes.failures.sorted(by: { $0.key < $1.key }) {
            SubjectChannel.call(start + offset, CallRecord(input: chunk[offset], outcome: outcome))
        }
        SubjectChannel.emit("chunk", String(start + chunk.count))
    }
    SubjectChannel.metric("seconds", seconds)
    return 0
}

/// The groups `faultline triage --json` printed: bucket → (count, reproduced, replays).
struct CommandGroups {
    var groups: [String: (count: Int, reproduced: Int, replays: Int)] = [:]
    /// The inputs each group shows (its first 5), as JSON text.
    var inputs: [String: [String]] = [:]
    var order: [String] = []
    var total: Int?
    var seconds: Double = 0
    var failure: String?

    init(failure: String) { self.failure = failure }

    init(output: String, seconds: Double) {
        self.seconds = seconds
        for line in output.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let bucket = object["bucket"] as? String {
                groups[bucket] = ((object["count"] as? Int) ?? 0, (object["reproduced"] as? Int) ?? 0, (object["replays"] as? Int) ?? 0)
                order.append(bucket)
                inputs[bucket] = ((object["inputs"] as? [Any]) ?? []).map { input in
                    (try? JSONSerialization.data(withJSONObject: input, options: [.fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) } ?? "?"
                }
            } else if let total = object["total"] as? Int {
                self.total = total
            }
        }
    }
}

/// Runs `faultline triage ARGUMENTS --json` with INPUTS on its standard input, one per line, under the
/// supervisor, bounded by `deadline`. (Standard input, not arguments: the command parses arguments in
/// a time that grows with the square of their number.)
func runTriageCommand(_ supervisor: Supervisor, _ arguments: [String], inputs: [String], deadline: Double) -> CommandGroups {
    guard Files.exists(faultlineCommand) else { return CommandGroups(failure: "\(faultlineCommand) not found") }
    do {
        let child = try supervisor.start(program: faultlineCommand, ["triage"] + arguments + ["--json"],
                                         stdin: inputs.joined(separator: "\n") + "\n")
        let began = Clock.now()
        let status = child.wait(deadline)
        let seconds = Clock.now() - began
        defer { child.kill() }
        guard let status else { return CommandGroups(failure: "killed by the watchdog after \(Format.seconds(seconds))") }
        guard status == .exitCode(0) else {
            return CommandGroups(failure: "\(status): " + (child.standardError.split(separator: "\n").last.map(String.init) ?? ""))
        }
        return CommandGroups(output: child.process.standardOutput, seconds: seconds)
    } catch {
        return CommandGroups(failure: "\(error)")
    }
}

/// What pebble said about each input it did not get a value for, and how its run ended.
struct PebbleRun {
    var version: String?
    var unavailable: String?
    /// Input index → pebble's words.
    var failed: [Int: String] = [:]
    var returned: Int?
    /// Whether its map ran to the end.
    var finished = false
    var seconds: Double?
    /// How the Python process ended: nil when the watchdog killed it.
    var status: ExitStatus?
    var waited: Double = 0
    var lastError: String?
}

/// Runs peers13.py (pebble's ProcessPool.map over the inputs) under a deadline.
func runPebble(_ supervisor: Supervisor, inputs: [Int32], deadline: Double) throws -> PebbleRun {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    let candidates: [String] = path.split(separator: ":").map { "\($0)/python3" }
    guard let python = candidates.first(where: { Glibc.access($0, X_OK) == 0 }) else {
        return PebbleRun(unavailable: "python3 not found")
    }
    let source = #filePath
    let script = String(source[..<(source.lastIndex(of: "/") ?? source.startIndex)]) + "/peers13.py"
    guard Files.exists(script) else { return PebbleRun(unavailable: "\(script) not found") }
    let file = "/tmp/faultline-13-inputs-\(getpid()).txt"
    try Files.write(inputs.map(String.init).joined(separator: "\n") + "\n", to: file)
    defer { unlink(file) }
    let child = try supervisor.start(program: python, [script],
                                     environment: ["FAULTLINE_BUGS": bugsLibrary, "FAULTLINE_INPUTS": file, "PYTHONDONTWRITEBYTECODE": "1"])
    defer { child.kill() }
    var run = PebbleRun()
    run.status = child.wait(deadline)
    run.waited = Clock.now() - child.startedAt
    let lines = child.lines
    if let missing = lines.first(where: { $0.tag == "unavailable" }) {
        return PebbleRun(unavailable: "\(missing.first) \(missing.rest)")
    }
    run.version = lines.first { $0.tag == "version" }?.first
    for line in lines where line.tag == "failed" { if let index = Int(line.first) { run.failed[index] = line.rest } }
    run.returned = lines.last { $0.tag == "returned" }.flatMap { Int($0.first) }
    run.finished = lines.contains { $0.tag == "done" }
    run.seconds = lines.metric("seconds")
    run.lastError = child.standardError.split(separator: "\n").last { $0.contains("Error") }.map { String($0) }
    return run
}
