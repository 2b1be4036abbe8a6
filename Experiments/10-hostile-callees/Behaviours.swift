import ExperimentKit
import Faultline

/// An outcome the input under test may get.
enum Expected: Sendable {
    /// The function returned this value.
    case returned(Int32)
    /// A signal of this name ended the call.
    case signal(String)
    /// The call passed its deadline (only when one was set).
    case timedOut
    /// The process ended with this exit status (pthread_exit on the only thread: 0).
    case exited(Int32)

    /// Whether `record` reports this outcome.
    func matches(_ record: CallRecord) -> Bool {
        switch self {
        case .returned(let value): record.status == .returned && record.value == value
        case .signal(let name): record.status == .crashed && record.signal == name
        case .timedOut: record.outcome?.kind == "timed_out"
        case .exited(let status): record.outcome == .exited(status: status) || record.text == "exited with status \(status)"
        }
    }
}

/// One hostile behaviour of `hostile.c` (or `hostile_slow.c`): the victim
/// that shows it, the batch it runs in, and what the hostile input truly gets.
struct Behaviour: Sendable {
    /// Stable key, the grid's row key.
    var key: String
    /// The row's label in the report.
    var label: String
    /// The victim (`int f(int)`): a negative input triggers the behaviour.
    var symbol: String
    /// Innocent inputs are slow (`*_then_slow` victims: r > 0 sleeps r ms), so
    /// that a behaviour that strikes later finds calls still running.
    var slow: Bool = false
    /// The outcomes of the hostile input that are exactly what happened.
    var exact: [Expected]
    /// Outcomes that are not exact but claim nothing false (``Outcome/corrupted(detail:)``
    /// and failures that name no outcome are always honest).
    var honest: [Expected] = []
    /// Every caller that can have a deadline gets one of 1 s (the stopped group).
    var cliTimeout = false

    /// The deadline of the Swift callers: 1 s where ``cliTimeout`` says so.
    var deadline: Duration? { cliTimeout ? .seconds(1) : nil }
    /// `faultline call` gets `--verify-crashes` when the build has it (a crash that may be someone else's).
    var verifyCrashes = false

    /// The batch: the hostile input among innocent ones, early enough that
    /// most innocents run after it.
    var inputs: [Int32] {
        slow ? [1, hostileInput] + (0..<12).map { 240 + 10 * Int32($0) }
             : [1, 2, hostileInput] + Array(3...200)
    }

    /// Where the hostile input sits in ``inputs``.
    var hostileIndex: Int { inputs.firstIndex(of: hostileInput)! }
}

/// The input that triggers every behaviour; the victims then return -r = 5 if they return.
let hostileInput: Int32 = -5

/// Every behaviour of hostile.c, in the order of the report.
let behaviours: [Behaviour] = [
    Behaviour(key: "scribble-shared", label: "scribble shared mappings, then fault", symbol: "fl_scribble_shared_then_fault",
              exact: [.signal("SIGSEGV")]),
    Behaviour(key: "scribble-private", label: "scribble every private mapping but the stack", symbol: "fl_scribble_private",
              exact: [.returned(5)]),
    Behaviour(key: "sockets", label: "write garbage into every socket", symbol: "fl_write_into_sockets", exact: [.returned(5)]),
    Behaviour(key: "kill-parent", label: "kill the parent (SIGKILL)", symbol: "fl_kill_parent", exact: [.returned(5)]),
    Behaviour(key: "kill-group-term", label: "kill(0, SIGTERM)", symbol: "fl_kill_group_term", exact: [.signal("SIGTERM")]),
    Behaviour(key: "kill-group-kill", label: "kill(0, SIGKILL)", symbol: "fl_kill_group_kill", exact: [.signal("SIGKILL")]),
    // Stopped, the call neither ends nor returns: resumed it returns 5; with a deadline it times out.
    Behaviour(key: "stop-group", label: "kill(0, SIGSTOP)", symbol: "fl_stop_group", exact: [.returned(5), .timedOut],
              honest: [.signal("SIGSTOP")], cliTimeout: true),
    Behaviour(key: "child-segfaults", label: "fork a child that segfaults (waited for)", symbol: "fl_child_segfaults",
              exact: [.returned(5)]),
    Behaviour(key: "child-later", label: "fork a child that crashes 200 ms later", symbol: "fl_child_crashes_later_then_slow",
              slow: true, exact: [.returned(5)]),
    // The thread that called ends; the process, whose only calling thread it was, exits with status 0
    // (what pthread_exit does in a single-threaded program). SIGSEGV inside the unwinder is false.
    Behaviour(key: "pthread-exit", label: "pthread_exit", symbol: "fl_pthread_exit", exact: [.exited(0)]),
    Behaviour(key: "daemon", label: "double-fork a daemon (setsid, `fl-daemon`)", symbol: "fl_daemon", exact: [.returned(5)]),
    Behaviour(key: "alarm", label: "alarm(1), the next calls slow", symbol: "fl_alarm_then_slow", slow: true,
              exact: [.returned(5)], verifyCrashes: true),
    Behaviour(key: "thread-later", label: "a thread that faults 300 ms later", symbol: "fl_thread_faults_later_then_slow",
              slow: true, exact: [.returned(5)], verifyCrashes: true),
    Behaviour(key: "long-name", label: "fault in a function with a 1,000-character name", symbol: "fl_fault_in_long_name",
              exact: [.signal("SIGSEGV")]),
]

/// How one input's answer compares with the truth.
enum Judgement: Equatable {
    case exact, honest, wrong, missing
}

/// Judges the hostile input's record against `behaviour`.
func judgeHostile(_ record: CallRecord?, _ behaviour: Behaviour) -> Judgement {
    guard let record, record.status != .missing else { return .missing }
    if behaviour.exact.contains(where: { $0.matches(record) }) { return .exact }
    if behaviour.honest.contains(where: { $0.matches(record) }) { return .honest }
    if record.outcome?.kind == "corrupted" { return .honest }
    // A failure that names no outcome (BrokenProcessPool, a Python exception) claims nothing false.
    if record.status == .failed && record.outcome == nil { return .honest }
    return .wrong
}

/// Judges an innocent input's record: its true outcome is `returned input`.
/// A crash whose replay alone in a fresh process returned that value is
/// flagged by the report itself (honest); anything else is wrong.
func judgeInnocent(_ record: CallRecord?, input: Int32) -> Judgement {
    guard let record, record.status != .missing else { return .missing }
    if record.status == .returned && record.value == input { return .exact }
    if record.replay == .returned(input) { return .honest }
    return .wrong
}

/// A few words for a record: `returned 5`, `signaled SIGTERM`, `corrupted`, or the peer's own text.
func shortText(_ record: CallRecord) -> String {
    guard let outcome = record.outcome else { return record.text }
    switch outcome {
    case .returned(let value, _): return "returned \(value.json)"
    case .signaled(let fault): return "signaled \(fault.signal.name)"
    case .exited(let status): return "exited \(status)"
    case .timedOut: return "timed out"
    case .corrupted: return "corrupted"
    case .violation: return "violation"
    }
}

/// For the long name: how many characters of it the backtrace carries.
func longNameNote(_ record: CallRecord?) -> String? {
    guard let fault = record?.outcome?.fault, !fault.backtrace.isEmpty else { return nil }
    let names = fault.backtrace.compactMap(\.symbol).filter { $0.hasPrefix("fl_long_named") }
    guard let longest = names.map(\.count).max() else { return "long name not in the backtrace" }
    return "name of \(longest) characters in the backtrace"
}
