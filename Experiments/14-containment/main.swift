// 14-containment: what a taken-over callee can reach. Each row is a thing a
// callee tries (sandbox_victims.c, containment_victims.c): read a secret
// file, write a file, connect over TCP, send UDP, fork and exec a shell,
// start a thread, signal its parent, ptrace a sibling, map executable memory,
// install a SIGSYS handler and then connect, spin on the CPU. Each column is
// a caller: Faultline's pool without a sandbox, under `pure`, under `pure`
// with `--allow-read` of another folder, and pebble. Every cell is judged
// from what happened outside the callee: the secret in the output buffer,
// the file and the marker on disk, the connections the experiment's
// listener accepted, the datagrams its socket read, the sibling's tracer,
// the parent's fate; beside the outcome the caller reported.
#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import FaultlineHarness

/// Runs one cell: a fresh caller, then what the world outside shows.
func runCell(_ behaviour: Behaviour, _ column: Column, outside: Outside, peer: PebblePeer, deadline: Double,
             supervisor: Supervisor) -> (GridCell, Observed) {
    _ = outside.arrivals(wait: 0) // whatever came before is not this cell's
    let sibling = behaviour.needsSibling ? try? supervisor.start(program: "/bin/sleep", ["120"]) : nil
    defer { sibling?.kill() }
    let started = Clock.now()
    var attempt = column.pebble
        ? pebbleAttempt(behaviour, outside, sibling: sibling?.pid ?? 0, peer: peer, deadline: deadline, supervisor: supervisor)
        : poolAttempt(behaviour, column, outside, sibling: sibling?.pid ?? 0, deadline: deadline)
    let seconds = Clock.now() - started
    if behaviour.needsSibling && sibling == nil { attempt.error = "the sibling could not be started" }
    var observed = Observed()
    (observed.connections, observed.datagrams) = outside.arrivals(wait: 0.05)
    observed.writtenBytes = outside.fileSize(outside.writtenPath(column.key))
    observed.marker = Files.exists(outside.markerPath(column.key))

    let verdict: GridVerdict
    var text: String
    if let unavailable = attempt.unavailable {
        (verdict, text) = (.unavailable, unavailable)
    } else if !attempt.finished {
        (verdict, text) = (.hang, "no answer before the watchdog's deadline")
    } else if let error = attempt.error {
        (verdict, text) = (.failed, "error: " + error)
    } else {
        let (reached, evidence) = behaviour.judge(attempt, observed, outside)
        let meantToStop = column.sandbox != nil && !behaviour.permittedIn.contains(column.key)
        verdict = !reached ? .contained : meantToStop ? .escaped : .reached
        text = attempt.text + "; " + evidence
    }
    let input = behaviour.arguments(outside, column.key, sibling?.pid ?? 0).compactMap { argument -> Int32? in
        if case .int(let value) = argument { return value } else { return nil }
    }.first ?? 0
    let focus = attempt.outcome.map { CallRecord(input: input, outcome: $0, seconds: attempt.seconds) }
        ?? CallRecord(input: input, status: attempt.value == nil ? .failed : .returned, value: attempt.value, text: attempt.text,
                      seconds: attempt.seconds)
    return (GridCell(row: behaviour.key, column: column.key, verdict: verdict, text: text, finished: attempt.finished,
                     seconds: seconds, deadline: deadline, error: attempt.error, focus: focus), observed)
}

Experiment(
    id: "14", name: "containment",
    title: "what a taken-over callee can reach: files, the network, processes, signals, ptrace, executable memory, the CPU, from Faultline's pool without a sandbox, under `--sandbox pure` (with and without `--allow-read` of another folder), and from pebble",
    defaultBudget: 5
) { result, options, supervisor in
    let outside = try Outside()
    defer { outside.remove() }
    let peer = try PebblePeer.make(in: outside.folder)
    let deadline = max(options.budget, 3)
    let began = Clock.now()
    var cells: [GridCell] = []
    var seen: [String: Observed] = [:]
    for behaviour in behaviours {
        for column in columns {
            let (cell, observed) = runCell(behaviour, column, outside: outside, peer: peer, deadline: deadline, supervisor: supervisor)
            cells.append(cell)
            seen[behaviour.key + "/" + column.key] = observed
        }
    }
    let elapsed = Clock.now() - began
    let grid = Grid(caption: "what a taken-over callee reached from each caller: the outcome the caller reported; what was seen outside the callee",
                    rowTitle: "the callee tries to", rows: behaviours.map { GridAxis(key: $0.key, label: $0.label) },
                    columns: columns.map { GridAxis(key: $0.key, label: $0.label) }, cells: cells)
    result.grids = [grid]
    let costs = SetupCosts.measure(columns, outside: outside)
    if costs.failure == nil {
        result.blocks.append(TextBlock(caption: "a worker's start with and without the sandbox (fl_identity; medians of \(costs.rounds) rounds in alternating order; a fresh worker per call: \(costs.callsPerRound) calls back to back with `recycleAfter: 1`, as the fork server runs)",
                                       text: costs.table(columns)))
    }
    let network = Network(seen)
    result.summary = summarize(grid, network: network, costs: costs, elapsed: elapsed)
    record(grid, network: network, costs: costs, into: &result)
    result.notes += [
        "Verdicts, from what was seen outside the callee after each call. contained: it did not happen (the sandbox denied the call — a `violation` ends the call and the worker is replaced — or Landlock answered with an errno, or a limit or a deadline ended the call). reached: it happened where nothing was meant to stop it (no sandbox, or the folder `--allow-read` names). escaped (in bold): it happened under a sandbox meant to stop it.",
        "Evidence: the secret (a random token the experiment wrote to a file outside the allowed folder) in the callee's output buffer; the file to write and the marker the shell touches, looked up on disk; connections accepted by a TCP listener and datagrams read from a UDP socket that the experiment bound to 127.0.0.1 on ports the kernel chose, counted after each cell; the thread's work in the value returned (-21 doubled); for ptrace, the `TracerPid` of a `sleep` the experiment started, read by the caller right after the call while the callee's process lived; for the signal, whether the pool's helper (the worker's parent) died of SIGUSR2, or how many SIGUSR2 pebble's caller (its workers' parent) received through a handler.",
        "Each cell has a fresh caller: a 1-worker WorkerPool (per-call deadline \(Format.seconds(deadline)), \(Format.seconds(spinDeadlineSeconds)) for the spinning row without a sandbox; the sandboxed columns have `cpuLimit: \(cpuLimitSeconds)`), or a python3 process running pebble's ProcessPool of one worker with the same deadlines as pebble's `timeout`, under the watchdog.",
        "The sandboxed workers run in a network namespace of their own (network none): even an allowed socket could not reach the host's 127.0.0.1. `socket` is denied before that matters.",
        "pebble ends a call past its `timeout` with SIGTERM, which its worker handles in Python (not while it spins in C), then with SIGKILL after its `term_timeout`: that is the time its spinning cell shows.",
    ]
    _ = supervisor
}.main()
