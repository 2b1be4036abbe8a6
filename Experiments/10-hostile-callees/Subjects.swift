#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import ExperimentKit
import Faultline
import FaultlineHarness
import Foundation

/// The environment variable naming the watchdog's pid (for a caller that must outlive its parent).
let watchdogVariable = "FAULTLINE_HOSTILE_WATCHDOG"

/// The subject of one Swift cell: `cell STRATEGY BEHAVIOUR [caller]`.
///
/// It calls the behaviour's victim on its batch with the strategy and writes
/// one `@call` line per answer (as soon as it has it: call by call for
/// `fork` and `guard`, after the batch for `pool` and `fork-server`), then
/// `@answered`; an error of the strategy is one `@error` line (status 4).
///
/// The guard calls in this very process, so its callee's parent would be the
/// watchdog: `kill the parent` would kill the experiment. So a guard cell is
/// two processes: this one as a *shield* (started by the watchdog), which
/// starts the caller (`… caller`, same stdout) and reports how it ended
/// (`@caller-pid`, then `@caller-exit RAW_WAIT_STATUS`), leaving its zombie
/// to the watchdog.
func cellSubject(_ arguments: [String]) throws -> Int32 {
    guard arguments.count >= 2, let behaviour = behaviours.first(where: { $0.key == arguments[1] }) else {
        throw UsageError("cell expects STRATEGY BEHAVIOUR [caller]")
    }
    let strategy = arguments[0]
    if strategy == "guard" && arguments.count == 2 { return try shield(behaviour) }
    if strategy == "guard" && behaviour.key == "kill-parent" { outliveParent() }
    let inputs = behaviour.inputs
    SubjectChannel.emit("calling", String(inputs.count))
    do {
        switch strategy {
        case "pool":
            var configuration = WorkerPool.Configuration(workers: 2, timeout: behaviour.deadline)
            configuration.verifyCrashes = behaviour.verifyCrashes
            let pool = try WorkerPool(library: Victims.library, symbol: behaviour.symbol, configuration: configuration)
            emit(try pool.run(inputs), inputs)
        case "fork-server":
            let server = try ForkServerStrategy(library: Victims.library, symbol: behaviour.symbol, timeout: behaviour.deadline, workers: 2)
            emit(try server.call(inputs), inputs)
        case "fork":
            let fork = ForkStrategy(try Victims.function(behaviour.symbol), timeout: behaviour.deadline)
            for (index, input) in inputs.enumerated() { SubjectChannel.call(index, CallRecord(input: input, outcome: try fork.call(input))) }
        case "guard":
            let guarded = GuardStrategy(try Victims.function(behaviour.symbol))
            for (index, input) in inputs.enumerated() { SubjectChannel.call(index, CallRecord(input: input, outcome: try guarded.call(input))) }
        default:
            throw UsageError("unknown strategy '\(strategy)'")
        }
    } catch let error as UsageError {
        throw error
    } catch {
        SubjectChannel.emit("error", "\(error)".split(separator: "\n").first.map(String.init) ?? "error")
        return 4
    }
    SubjectChannel.emit("answered")
    return 0
}

/// Writes the `@call` lines of a batch.
private func emit(_ outcomes: Outcomes, _ inputs: [Int32]) {
    for (index, outcome) in outcomes.enumerated() {
        var record = CallRecord(input: inputs[index], outcome: outcome)
        record.replay = outcomes.replays[index]
        SubjectChannel.call(index, record)
    }
}

/// The shield of a guard cell: starts the caller as its child, sharing
/// stdout and stderr, and reports how it ended.
private func shield(_ behaviour: Behaviour) throws -> Int32 {
    let arguments = [Victims.executablePath, "--subject", "cell", "guard", behaviour.key, "caller"]
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let started = posix_spawn(&pid, Victims.executablePath, nil, nil, argv, environ)
    if started != 0 { throw SystemError("posix_spawn", errno: started) }
    SubjectChannel.emit("caller-pid", String(pid))
    // Waits without reaping (WNOWAIT): if the shield dies before it has
    // written the status, the caller's zombie goes to the watchdog, which
    // reaps it and reads the status itself.
    var info = siginfo_t()
    while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 {
        if errno != EINTR { throw SystemError("waitid", errno: errno) }
    }
    let value = info._sifields._sigchld.si_status
    let raw = info.si_code == Int32(CLD_EXITED) ? (value & 0xff) << 8 : value & 0x7f
    SubjectChannel.emit("caller-exit", String(raw))
    return 0
}

/// For the guard's `kill the parent`: the caller must outlive its shield to
/// show what the guard does, so it does not die with it (the default of a
/// subject); instead it exits as soon as its parent is neither the shield
/// nor the watchdog (which adopts it, a subreaper), i.e. when the watchdog is gone.
private func outliveParent() {
    let shieldPID = getppid()
    let watchdogPID = getenv(watchdogVariable).flatMap { pid_t(String(cString: $0)) } ?? -1
    fl_die_with_parent(0, 0)
    Thread.detachNewThread {
        while true {
            let parent = getppid()
            if parent != shieldPID && parent != watchdogPID { _exit(125) }
            usleep(50_000)
        }
    }
}
