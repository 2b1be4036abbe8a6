#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import FaultlineHarness

/// One column of the grid: a caller of the victims.
struct Column: Sendable {
    /// The grid's column key and label.
    var key: String
    var label: String
    /// The pool's sandbox for this column (nil: none, or not a pool).
    var sandbox: (@Sendable (Outside) -> Sandbox)?
    /// pebble's ProcessPool through ctypes instead of Faultline's pool.
    var pebble = false
}

/// The RLIMIT_CPU of the sandboxed columns (`--cpu-limit 1`), and the deadline of the spinning row elsewhere (`--timeout 2`).
let cpuLimitSeconds = 1
let spinDeadlineSeconds = 2.0

/// Every caller, in the order of the report.
let columns: [Column] = [
    Column(key: "none", label: "pool, no sandbox"),
    Column(key: "pure", label: "pool, `--sandbox pure`", sandbox: { _ in Sandbox(.pure, cpuLimit: cpuLimitSeconds) }),
    Column(key: "pure-read", label: "pool, `pure` + `--allow-read` of another folder",
           sandbox: { Sandbox(.pure, allowRead: [$0.allowedFolder], cpuLimit: cpuLimitSeconds) }),
    Column(key: "pebble", label: "Py pebble (ctypes)", pebble: true),
]

/// `violation: socket(2, 1, 0)`, `returned -13 (EACCES)`, `signaled SIGXCPU`: an outcome in a few words.
func shortText(_ outcome: Outcome) -> String {
    switch outcome {
    case .returned(let value, _):
        guard let number = value.integer else { return "returned \(value.json)" }
        return "returned \(number)" + errnoSuffix(number)
    case .signaled(let fault): return "signaled \(fault.signal.name)"
    case .exited(let status): return "exited \(status)"
    case .timedOut(let after): return "timed out after \(Format.seconds(after.seconds))"
    case .corrupted(let detail): return "corrupted (\(detail))"
    case .violation(let violation):
        guard let call = violation.syscall else { return "violation (SIGSYS blocked)" }
        let text = call.description
        return "violation: " + String(text[..<(text.range(of: " [")?.lowerBound ?? text.endIndex)])
    }
}

/// Calls the behaviour's victim once in a fresh 1-worker pool of the column's
/// sandbox, under a per-call deadline, and reads what only the caller can see
/// while the callee's process lives (the sibling's tracer, the helper's fate).
func poolAttempt(_ behaviour: Behaviour, _ column: Column, _ outside: Outside, sibling: pid_t, deadline: Double) -> Attempt {
    let arguments = behaviour.arguments(outside, column.key, sibling)
    do {
        let signature = try Signature(parsing: "int32(" + arguments.map(\.type).joined(separator: ", ") + ")")
        let sandbox = column.sandbox?(outside)
        let timeout = behaviour.spins && sandbox == nil ? spinDeadlineSeconds : deadline
        let configuration = WorkerPool.Configuration(workers: 1, timeout: .milliseconds(Int(timeout * 1000)), sandbox: sandbox)
        let pool = try WorkerPool(library: Victims.library, symbol: behaviour.symbol, signature: signature, configuration: configuration)
        defer { pool.shutdown() }
        let helper = pool.statistics.helperPID
        let started = Clock.now()
        let outcome = try pool.run(arguments: [arguments.compactMap(\.value)])[0]
        var attempt = Attempt(text: shortText(outcome), outcome: outcome, seconds: Clock.now() - started)
        if case .returned(let value, let out) = outcome {
            attempt.value = value.integer.flatMap { Int32(exactly: $0) }
            if case .string(let text)? = out.first { attempt.out = text }
        }
        if behaviour.needsSibling { attempt.tracer = tracerPID(of: sibling) }
        if behaviour.key == "signal-parent" {
            let ended = processEnded(helper, within: 0.5)
            attempt.parentSignalled = ended
            attempt.parentNote = ended ? "the helper (its parent) died of it" : "the helper (its parent) lives"
        }
        return attempt
    } catch {
        return Attempt(error: "\(error)".split(separator: "\n").first.map(String.init) ?? "error")
    }
}

/// Whether `pid` is gone or a zombie within `seconds`.
func processEnded(_ pid: pid_t, within seconds: Double) -> Bool {
    let end = Clock.now() + seconds
    repeat {
        guard let entry = ProcessTable.entry(pid), entry.state != "Z" else { return true }
        Clock.sleep(0.01)
    } while Clock.now() < end
    return false
}

/// Runs the pebble peer for one cell under the watchdog's deadline and reads its answer.
func pebbleAttempt(_ behaviour: Behaviour, _ outside: Outside, sibling: pid_t, peer: PebblePeer, deadline: Double,
                   supervisor: Supervisor) -> Attempt {
    if let missing = peer.unavailable { return Attempt(unavailable: missing) }
    let arguments = behaviour.arguments(outside, "pebble", sibling)
    let timeout = behaviour.spins ? spinDeadlineSeconds : deadline
    let spec = "{\"symbol\": \"\(behaviour.symbol)\", \"args\": [" + arguments.map(\.json).joined(separator: ", ") + "], "
        + "\"timeout\": \(timeout), \"sibling\": \(behaviour.needsSibling ? String(sibling) : "null")}"
    let child: SupervisedChild
    do {
        child = try supervisor.start(program: peer.python, [peer.script, spec],
                                     environment: ["FAULTLINE_VICTIMS": Victims.library, "PYTHONDONTWRITEBYTECODE": "1"])
    } catch {
        return Attempt(error: "could not start python3: \(error)")
    }
    let status = child.wait(deadline + timeout + 5)
    defer { child.kill() }
    var attempt = peer.decode(child.process.standardOutput)
    attempt.finished = status != nil
    if attempt.error == nil && attempt.text.isEmpty {
        attempt.error = status.map { "python3 ended with \($0) without an answer" } ?? "no answer before the deadline"
    }
    return attempt
}
