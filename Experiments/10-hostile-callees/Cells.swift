#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import FaultlineHarness
import Foundation

/// One column of the grid: a way of calling the victim.
struct Column: Sendable {
    /// Where the calls are made.
    enum Kind: Sendable, Equatable {
        /// A Faultline strategy in a Swift subject: `pool`, `fork`, `fork-server`, `guard`.
        case swift(String)
        /// A Python peer through ctypes: `map`, `executor`, `pebble`.
        case python(String)
        /// `faultline call --strategy pool|fork`.
        case cli(String)
    }

    /// The grid's column key.
    var key: String
    /// The column's label.
    var label: String
    /// How it runs.
    var kind: Kind
}

/// Every way of calling, in the order of the report.
let columns: [Column] = [
    Column(key: "pool", label: "pool (2 workers)", kind: .swift("pool")),
    Column(key: "fork", label: "fork", kind: .swift("fork")),
    Column(key: "fork-server", label: "fork-server", kind: .swift("fork-server")),
    Column(key: "guard", label: "guard", kind: .swift("guard")),
    Column(key: "py-map", label: "Py Pool.map", kind: .python("map")),
    Column(key: "py-executor", label: "Py ProcessPoolExecutor", kind: .python("executor")),
    Column(key: "py-pebble", label: "Py pebble", kind: .python("pebble")),
    Column(key: "cli-pool", label: "`faultline call` pool", kind: .cli("pool")),
    Column(key: "cli-fork", label: "`faultline call` fork", kind: .cli("fork")),
]

/// Marks every process of one cell (its value: run/behaviour/column).
let cellVariable = "FAULTLINE_HOSTILE_CELL"
/// Marks every process of one run of the experiment (set by a caller that wants to check after it).
let runVariable = "FAULTLINE_HOSTILE_RUN"

/// What every cell needs from the watchdog, found once before the cells run.
struct CellContext: Sendable {
    /// `--budget`.
    var budget: Double
    /// python3, when installed.
    var python: String?
    /// The peers' script, once written.
    var script: String?
    /// Why pebble cannot be used, when it cannot.
    var pebbleMissing: String?
    /// The `faultline` executable beside this one, when built.
    var faultline: String?
    /// `faultline call --help` lists `--verify-crashes`.
    var verifyCrashes: Bool
    /// This run's mark.
    var runToken: String

    /// The watchdog's deadline for a cell of `behaviour`: the budget (at
    /// least 2 s, so that a loaded machine does not turn a slow start into a
    /// "hang"), plus 5 s for the slow batches (3.5 s of sleeping calls).
    func deadline(_ behaviour: Behaviour) -> Double { max(budget, 2) + (behaviour.slow ? 5 : 0) }
}

/// What the watchdog saw of one cell.
struct Evidence {
    /// The answers, by input index.
    var records: [Int: CallRecord] = [:]
    /// The caller ended before the deadline.
    var finished = false
    /// The caller said it had every answer (it may still have hung on its way out).
    var answered = false
    /// How the caller ended, when known.
    var callerExit: ExitStatus?
    /// An error the caller reported, one line.
    var error: String?
    /// Processes of the cell alive once the caller had ended.
    var leftBehind: [ProcessRecord] = []
    /// Their names (`comm`), e.g. `fl-daemon`.
    var leftNames: [String] = []
    /// Why the cell could not run.
    var unavailable: String?
    /// Answers beyond the first for the same input (e.g. from a forked copy of the caller that ran on).
    var duplicates = 0
    /// A remark for the cell's text.
    var note: String?
    /// Wall time until the caller ended or the deadline passed.
    var seconds = 0.0
}

/// Runs one cell under the watchdog and judges it.
func runCell(_ behaviour: Behaviour, _ column: Column, _ context: CellContext) -> GridCell {
    let deadline = context.deadline(behaviour)
    var evidence: Evidence
    do {
        evidence = try observe(behaviour, column, context, deadline: deadline)
    } catch {
        evidence = Evidence(unavailable: "could not start: \(error)")
    }
    return judge(evidence, behaviour, column, deadline: deadline)
}

/// Starts the cell's caller, waits for it until the deadline, reads its answers,
/// lists what it left behind, then kills and reaps everything marked with the cell.
private func observe(_ behaviour: Behaviour, _ column: Column, _ context: CellContext, deadline: Double) throws -> Evidence {
    var evidence = Evidence()
    let token = "\(context.runToken)/\(behaviour.key)/\(column.key)"
    var environment = [cellVariable: token, "SWIFT_BACKTRACE": "enable=no"]
    let inputs = behaviour.inputs
    let program: String
    var arguments: [String]
    switch column.kind {
    case .swift(let strategy):
        program = Victims.executablePath
        arguments = ["--subject", "cell", strategy, behaviour.key]
    case .python(let mode):
        guard let python = context.python, let script = context.script else { return Evidence(unavailable: "python3 not found") }
        if mode == "pebble", let missing = context.pebbleMissing { return Evidence(unavailable: missing) }
        program = python
        arguments = [script, mode, "--workers", "2", "--inputs", inputs.map(String.init).joined(separator: ",")]
        environment["FAULTLINE_VICTIMS"] = Victims.library
        environment["FAULTLINE_HOSTILE_SYMBOL"] = behaviour.symbol
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    case .cli(let strategy):
        guard let faultline = context.faultline else { return Evidence(unavailable: "`faultline` not built") }
        program = faultline
        arguments = ["call", Victims.library, behaviour.symbol, "--strategy", strategy]
        if strategy == "pool" { arguments += ["--workers", "2"] }
        if behaviour.cliTimeout { arguments += ["--timeout", "1"] }
        if behaviour.verifyCrashes {
            if context.verifyCrashes { arguments.append("--verify-crashes") } else { evidence.note = "--verify-crashes not available in this build" }
        }
        arguments += ["--"] + inputs.map(String.init)
    }

    let child = try ChildProcess(program, arguments, environment: environment)
    let begin = Clock.now(), end = begin + deadline
    let status = child.wait(timeout: deadline)
    if column.kind == .swift("guard") {
        (evidence.finished, evidence.callerExit) = guardCaller(child, shieldStatus: status, until: end)
    } else {
        (evidence.finished, evidence.callerExit) = (status != nil, status)
    }
    evidence.seconds = Clock.now() - begin

    let output = child.standardOutput
    if case .cli = column.kind {
        (evidence.records, evidence.duplicates) = cliRecords(output, count: inputs.count)
        evidence.answered = evidence.records.count == inputs.count
    } else {
        let lines = SubjectChannel.lines(output)
        (evidence.records, evidence.duplicates) = firstRecords(lines)
        evidence.answered = lines.contains { $0.tag == "answered" }
        if let line = lines.last(where: { $0.tag == "error" }) { evidence.error = ([line.first] + (line.rest.isEmpty ? [] : [line.rest])).joined(separator: " ") }
        if let line = lines.first(where: { $0.tag == "unavailable" }) { evidence.unavailable = ([line.first, line.rest]).joined(separator: " ") }
    }
    if evidence.error == nil, let exit = evidence.callerExit, exit != .exitCode(0) {
        evidence.error = child.standardError.split(separator: "\n").last.map { String($0) }
    }

    if evidence.finished {
        Clock.sleep(0.25) // a late child or a daemon has had time to show itself
        let left = ProcessMarks.marked(cellVariable, token, among: ProcessTable.descendants(of: getpid())).filter { $0.pid != child.pid }
        evidence.leftBehind = ProcessMarks.records(left)
        evidence.leftNames = left.map(\.name)
    }
    child.kill()
    sweep(token)
    return evidence
}

/// How the caller of a guard cell ended: reported by the shield, or, when
/// the shield itself was killed, seen by reaping the caller, which this
/// process (a subreaper) has adopted.
private func guardCaller(_ shield: ChildProcess, shieldStatus: ExitStatus?, until end: Double) -> (ended: Bool, status: ExitStatus?) {
    let shieldEnded = shieldStatus != nil
    let lines = SubjectChannel.lines(shield.standardOutput)
    let pid = lines.first { $0.tag == "caller-pid" }.flatMap { pid_t($0.first) }
    if let line = lines.last(where: { $0.tag == "caller-exit" }), let raw = Int32(line.first) {
        if shieldEnded, let pid {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG) // the zombie the shield left, now this process's child
        }
        return (true, ExitStatus(waitStatus: raw))
    }
    guard shieldEnded else { return (false, nil) }
    guard let pid else { return (true, shieldStatus) } // the shield failed before it started the caller
    while Clock.now() < end {
        var raw: Int32 = 0
        let reaped = waitpid(pid, &raw, WNOHANG)
        if reaped == pid { return (true, ExitStatus(waitStatus: raw)) }
        if reaped < 0 && ProcessTable.entry(pid) == nil { return (true, nil) } // gone, reaped elsewhere
        Clock.sleep(0.01)
    }
    return (false, nil)
}

/// The first `@call` record of each input, and how many more came for inputs already answered.
private func firstRecords(_ lines: [SubjectLine]) -> (records: [Int: CallRecord], duplicates: Int) {
    var records: [Int: CallRecord] = [:]
    var duplicates = 0
    let decoder = JSONDecoder()
    for line in lines where line.tag == "call" {
        guard let index = Int(line.first), let record = try? decoder.decode(CallRecord.self, from: Data(line.rest.utf8)) else { continue }
        if records[index] == nil { records[index] = record } else { duplicates += 1 }
    }
    return (records, duplicates)
}

/// The answers `faultline call` printed, one JSON object per line, in input
/// order (lines beyond the `count` inputs are duplicates).
private func cliRecords(_ output: String, count: Int) -> (records: [Int: CallRecord], duplicates: Int) {
    struct Input: Decodable { var input: Int32; var replay: Outcome? }
    var records: [Int: CallRecord] = [:]
    let decoder = JSONDecoder()
    let lines = output.split(separator: "\n")
    for (index, line) in lines.prefix(count).enumerated() {
        let data = Data(line.utf8)
        guard let input = try? decoder.decode(Input.self, from: data), let outcome = try? decoder.decode(Outcome.self, from: data) else { continue }
        var record = CallRecord(input: input.input, outcome: outcome)
        record.replay = input.replay
        records[index] = record
    }
    return (records, max(0, lines.count - count))
}

/// Kills every live process marked with the cell's token (and its group,
/// never this one's) until none is left, and reaps those that are children
/// of this process; zombies re-parented later are reaped by the final clean-up.
private func sweep(_ token: String) {
    let me = getpid(), myGroup = getpgrp()
    var seen = Set<pid_t>()
    func reap() {
        for pid in seen {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }
    let deadline = Clock.now() + 3
    while Clock.now() < deadline {
        let marked = ProcessMarks.marked(cellVariable, token, among: ProcessTable.descendants(of: me))
        if marked.isEmpty { break }
        for entry in marked {
            seen.insert(entry.pid)
            if entry.group > 1 && entry.group != myGroup { kill(-entry.group, SIGKILL) }
            kill(entry.pid, SIGKILL)
        }
        reap()
        Clock.sleep(0.01)
    }
    reap()
}

/// Derives the cell's verdict and text from what was seen.
private func judge(_ evidence: Evidence, _ behaviour: Behaviour, _ column: Column, deadline: Double) -> GridCell {
    let inputs = behaviour.inputs
    let hostile = evidence.records[behaviour.hostileIndex]
    var exact = 0, wrong = 0, missing = 0, cleared = 0
    for (index, input) in inputs.enumerated() where index != behaviour.hostileIndex {
        switch judgeInnocent(evidence.records[index], input: input) {
        case .exact: exact += 1
        case .missing: missing += 1
        case .honest: cleared += 1
        case .wrong: wrong += 1
        }
    }
    let others = inputs.count - 1
    let judgement = judgeHostile(hostile, behaviour)
    let callerDied = evidence.callerExit.map { $0 != .exitCode(0) } ?? false

    let verdict: GridVerdict
    var parts: [String] = []
    if let unavailable = evidence.unavailable {
        verdict = .unavailable
        parts.append(unavailable)
    } else if !evidence.finished {
        verdict = .hang
        parts.append(evidence.answered ? "hang on the way out, after every answer" :
                        evidence.records.isEmpty ? "hang" : "hang after \(evidence.records.count)/\(inputs.count) answers")
    } else {
        if judgement == .wrong || wrong > 0 || evidence.duplicates > 0 {
            verdict = .wrong
        } else if judgement == .missing || missing > 0 || callerDied {
            verdict = .failed
        } else if !evidence.leftBehind.isEmpty {
            verdict = .leaked
        } else {
            verdict = judgement == .honest || cleared > 0 ? .honest : .exact
        }
        var first = hostile.map(shortText) ?? "no answer"
        if behaviour.key == "long-name", let note = longNameNote(hostile) { first += " (\(note))" }
        parts.append(first)
        switch evidence.callerExit {
        case .signal(let signal)?:
            parts.append("caller killed by \(signal.name)")
        case .exitCode(let code)? where code != 0:
            parts.append("exit \(code)" + (evidence.error.map { ": " + shorten($0) } ?? ""))
        case .exitCode? where !evidence.answered:
            parts.append("caller exited 0 before answering")
        default:
            if let error = evidence.error { parts.append("error: " + shorten(error)) }
        }
        if wrong > 0 { parts.append("other inputs wrong: \(wrong)/\(others)") }
        if cleared > 0 { parts.append("\(cleared)/\(others) others crashed in a used worker, returned when replayed alone") }
        if missing > 0 { parts.append("others unanswered: \(missing)/\(others)") }
        if evidence.duplicates > 0 { parts.append("\(evidence.duplicates) duplicate answers") }
        if !evidence.leftNames.isEmpty { parts.append("left behind: " + evidence.leftNames.joined(separator: ", ")) }
    }
    if let note = evidence.note { parts.append(note) }
    return GridCell(row: behaviour.key, column: column.key, verdict: verdict, text: parts.joined(separator: "; "),
                    finished: evidence.finished, seconds: evidence.seconds, deadline: deadline,
                    callerExit: evidence.callerExit?.description, error: evidence.error, focus: hostile,
                    othersExact: exact, othersWrong: wrong, othersMissing: missing, othersCleared: cleared,
                    leftBehind: evidence.leftBehind)
}

/// At most 60 characters of a message.
private func shorten(_ text: String) -> String {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    return trimmed.count <= 60 ? trimmed : String(trimmed.prefix(59)) + "…"
}
