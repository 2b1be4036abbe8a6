// 10-hostile-callees: callees that attack the machinery around them
// (hostile.c): they scribble over memory, write into sockets, kill or stop
// their parent and process group, leave children, daemons, threads and
// alarms behind, exit their thread, or fault under a 1,000-character name.
// Each behaviour runs against every way of calling — the pool, fork, the
// fork server, the guard, the Python peers, `faultline call` — with the
// hostile input among innocent ones; each cell runs in its own processes
// under a watchdog deadline, and its verdict is derived from what came back.
#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import FaultlineHarness
import Foundation

/// The cells still to run and the cells done, shared by the runner threads.
final class Board: @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [(Behaviour, Column)]
    private(set) var done: [GridCell] = []

    init(_ queue: [(Behaviour, Column)]) { self.queue = queue }

    /// The next cell to run, or nil when none is left.
    func next() -> (Behaviour, Column)? {
        lock.withLock { queue.isEmpty ? nil : queue.removeFirst() }
    }

    /// Records a finished cell.
    func finish(_ cell: GridCell) { lock.withLock { done.append(cell) } }
}

/// Runs `program` with `arguments` under a deadline of 10 s: its stdout, or nil when it fails or overruns.
func probe(_ program: String, _ arguments: [String], environment: [String: String] = [:]) -> String? {
    guard let (process, status) = try? ChildProcess.run(program, arguments, environment: environment, timeout: 10),
          status == .exitCode(0) else { return nil }
    return process.standardOutput
}

/// Finds python3, pebble, `faultline` and its `--verify-crashes`; writes the peers' script.
func makeContext(_ options: ExperimentOptions) throws -> CellContext {
    let runToken: String
    if let given = getenv(runVariable).map({ String(cString: $0) }), !given.isEmpty {
        runToken = given
    } else {
        runToken = "\(getpid())-\(Int(Clock.now() * 1000))"
        setenv(runVariable, runToken, 1)
    }
    setenv(watchdogVariable, String(getpid()), 1)
    let python = PythonPeers.findOnPath("python3")
    let script = try python.map { _ in try PythonPeers.writeScript() }
    var pebbleMissing: String?
    if let python, probe(python, ["-c", "import pebble"]) == nil { pebbleMissing = "pebble not installed" }
    let faultline = Victims.executableFolder + "/faultline"
    let built = access(faultline, X_OK) == 0
    let help = built ? probe(faultline, ["call", "--help"]) ?? "" : ""
    return CellContext(budget: options.budget, python: python, script: script, pebbleMissing: pebbleMissing,
                       faultline: built ? faultline : nil, verifyCrashes: help.contains("--verify-crashes"), runToken: runToken)
}

Experiment(
    id: "10", name: "hostile-callees",
    title: "callees that attack the machinery (memory, sockets, parent, process group, children, daemons, alarms, late threads) against every way of calling",
    flags: [NumericFlag("parallel", default: 6, help: "cells run at once (most of them wait)", range: 1...32)],
    subjects: ["cell": cellSubject]
) { result, options, supervisor in
    let context = try makeContext(options)
    defer { context.script.map(PythonPeers.removeScript) }
    let started = Clock.now()

    // Longest first: the slow batches, then the stopped group (mostly hangs), then the rest.
    let plan = behaviours.flatMap { behaviour in columns.map { (behaviour, $0) } }
        .enumerated().sorted { a, b in
            func rank(_ behaviour: Behaviour) -> Int { behaviour.slow ? 0 : behaviour.key == "stop-group" ? 1 : 2 }
            return (rank(a.element.0), a.offset) < (rank(b.element.0), b.offset)
        }.map(\.element)
    let board = Board(plan)
    let group = DispatchGroup()
    for _ in 0..<Int(options["parallel"]) {
        group.enter()
        Thread.detachNewThread {
            while let (behaviour, column) = board.next() { board.finish(runCell(behaviour, column, context)) }
            group.leave()
        }
    }
    group.wait()
    let elapsed = Clock.now() - started

    var grid = Grid(caption: "what each way of calling reported for the hostile input (-5), and for the others",
                    rowTitle: "behaviour",
                    rows: behaviours.map { GridAxis(key: $0.key, label: $0.label) },
                    columns: columns.map { GridAxis(key: $0.key, label: $0.label) },
                    cells: board.done)
    grid.cells.sort { ($0.row, $0.column) < ($1.row, $1.column) }
    result.grids = [grid]

    let cells = grid.cells
    let fast = behaviours.first { !$0.slow }!, slow = behaviours.first { $0.slow }!
    var summary = [
        "\(behaviours.count) behaviours × \(columns.count) ways of calling = \(cells.count) cells in \(Format.seconds(elapsed)), \(Int(options["parallel"])) at a time; the hostile input \(hostileInput) among \(fast.inputs.count - 1) innocent inputs (\(slow.inputs.count - 1) slow ones for the behaviours that strike later)",
    ]
    for column in columns {
        let tally = grid.tally(column: column.key)
        let total = cells.filter { $0.column == column.key }.count
        if tally[.unavailable] == total, let reason = cells.first(where: { $0.column == column.key })?.text {
            summary.append("\(column.label): not run here (\(reason))")
            continue
        }
        let counts = GridVerdict.allCases.compactMap { verdict in tally[verdict].map { "\($0) \(verdict.rawValue)" } }
        summary.append("\(column.label): " + counts.joined(separator: ", ") + " of \(total)")
    }
    let daemons = cells.filter { $0.leftBehind.contains { $0.command.contains("fl-daemon") } || $0.text.contains("fl-daemon") }
    summary.append(daemons.isEmpty ? "no cell left an `fl-daemon` behind"
                   : "`fl-daemon` left behind by: " + daemons.map { cell in columns.first { $0.key == cell.column }?.label ?? cell.column }.joined(separator: ", ") + " (then killed by the watchdog)")
    let overran = cells.filter { $0.seconds > $0.deadline + 1 }
    let longest = cells.max { $0.seconds < $1.seconds }
    summary.append(overran.isEmpty ? "every cell ended or was stopped within its watchdog deadline (longest: \(Format.seconds(longest?.seconds ?? 0)) of \(Format.seconds(longest?.deadline ?? 0)))"
                   : "\(overran.count) cell(s) overran their watchdog deadline")
    if context.faultline != nil {
        summary.append("`faultline call --verify-crashes`: " + (context.verifyCrashes ? "used for the alarm and the late thread" : "not available in this build"))
    }
    result.summary = summary

    for verdict in GridVerdict.allCases {
        result.measure("cells_\(verdict.rawValue)", Double(cells.filter { $0.verdict == verdict }.count), "count", "cells judged \(verdict.rawValue)")
    }
    result.measure("cells", Double(cells.count), "count", "cells run")
    result.measure("cells_overran", Double(overran.count), "count", "cells that outlived their deadline by more than 1 s")
    result.measure("daemon_cells", Double(daemons.count), "count", "cells that left an fl-daemon behind")
    result.measure("grid_seconds", elapsed, "s", "wall time of all the cells")
    result.notes += [
        "Verdicts, derived from each cell's answers. exact: the hostile input got what truly happened, every other input its own value, nothing left behind. honest: no false answer, and the hostile input reported as corrupted or as a failure that claims nothing. leaked: answers right, processes left behind. failed: some inputs got no answer, or the caller died. wrong: at least one false answer (a wrong value, a false exit or signal; for an innocent input, anything but its value). hang: still running at the watchdog's deadline, then killed. Wrong and hang are in bold.",
        "True outcomes of the hostile input: SIGSEGV for the two faults, SIGTERM and SIGKILL for kill(0, …), returned 5 for the others that return; the stopped group returns 5 once resumed, or times out with a deadline; pthread_exit ends the calling thread, and the process that ran only that thread exits with status 0.",
        "Each cell runs in processes of its own, marked by an environment variable, under a deadline of \(Format.seconds(context.deadline(fast))) (\(Format.seconds(context.deadline(slow))) for the slow batches); what is still alive once the caller has ended is listed, then everything marked is killed and reaped. The guard's caller runs below a shield process, so that `kill the parent` does not kill the watchdog.",
        "The pool and the fork server run with 2 workers and no deadline; `faultline call` gets `--timeout 1` for the stopped group only. The Python peers run every behaviour, through ctypes in their workers, as experiment 09 runs them.",
    ]
    _ = supervisor // it made this process a subreaper; Experiment.run cleans up after this body
}.main()
