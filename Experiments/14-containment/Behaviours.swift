#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import Foundation

/// An argument of a victim, as the pool's signature and ctypes see it.
enum Argument: Sendable {
    case int(Int32)
    case string(String)
    /// A zero-filled buffer of this many bytes the callee may write (`out_string[N]`).
    case out(Int)

    /// Its type in a Faultline signature.
    var type: String {
        switch self {
        case .int: "int32"
        case .string: "string"
        case .out(let size): "out_string[\(size)]"
        }
    }

    /// The value the pool passes (an output buffer takes none).
    var value: Value? {
        switch self {
        case .int(let value): .int32(value)
        case .string(let text): .string(text)
        case .out: nil
        }
    }

    /// `["int", 5]`, as the pebble peer reads it.
    var json: String {
        switch self {
        case .int(let value): "[\"int\", \(value)]"
        case .string(let text): "[\"string\", \"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"]"
        case .out(let size): "[\"out\", \(size)]"
        }
    }
}

/// What the experiment saw outside the callee once a cell's call had ended.
struct Observed {
    /// Connections the TCP listener accepted, datagrams the UDP socket read.
    var connections = 0
    var datagrams = 0
    /// The size of the file the cell's callee was told to write, nil when there is none.
    var writtenBytes: Int?
    /// The marker file the cell's shell was told to touch exists.
    var marker = false
}

/// What one caller reported for one cell.
struct Attempt {
    /// The outcome in a few words: `violation: socket(2, 1, 0)`, `returned -13 (EACCES)`.
    var text = ""
    /// What the function returned, when it returned.
    var value: Int32?
    /// The output buffer's text, when there is one and the function returned.
    var out: String?
    /// Faultline's outcome (the pool's columns).
    var outcome: Outcome?
    /// Wall time of the call, from the caller's side.
    var seconds = 0.0
    /// The caller ended before the watchdog's deadline.
    var finished = true
    /// An error instead of an outcome (the pool could not start, the peer died).
    var error: String?
    /// Why the caller cannot run here.
    var unavailable: String?
    /// The sibling's `TracerPid`, read by the caller right after the call, while the callee's process lived.
    var tracer: Int32?
    /// Whether the callee's parent got the signal, and how that showed.
    var parentSignalled: Bool?
    var parentNote: String?
}

/// A thing a taken-over callee tries: the victim that tries it, its
/// arguments for a cell, and how its effect is judged from outside.
struct Behaviour: Sendable {
    /// The grid's row key and label.
    var key: String
    var label: String
    /// The victim in libFaultlineVictims.so, returning `int32`.
    var symbol: String
    /// Its arguments in a cell: the world outside, the column's key, the sibling's pid.
    var arguments: @Sendable (Outside, String, pid_t) -> [Argument]
    /// Whether it happened (`reached`) and the evidence, in a few words.
    var judge: @Sendable (Attempt, Observed, Outside) -> (reached: Bool, evidence: String)
    /// Columns where it is allowed to happen (the control row: a path `--allow-read` names).
    var permittedIn: Set<String> = []
    /// The row that spins: the columns without a CPU limit end it with a deadline.
    var spins = false
    /// The row needs a sibling process of the experiment's.
    var needsSibling = false
}

/// `N thing` or `N things`.
func count(_ value: Int, _ noun: String) -> String { "\(value) \(noun)\(value == 1 ? "" : "s")" }

/// Every behaviour, in the order of the report.
let behaviours: [Behaviour] = [
    Behaviour(key: "read-secret", label: "read a secret file outside the allowed folder, into an out buffer",
              symbol: "fl_ct_read_into", arguments: { outside, _, _ in [.string(outside.secretPath), .out(64)] },
              judge: { attempt, _, outside in
                  let read = attempt.out?.contains(outside.secret) == true
                  return (read, read ? "secret read" : "secret not read")
              }),
    Behaviour(key: "read-allowed", label: "read a file in the allowed folder (control)",
              symbol: "fl_ct_read_into", arguments: { outside, _, _ in [.string(outside.publicPath), .out(64)] },
              judge: { attempt, _, outside in
                  let read = attempt.out?.contains(outside.publicText) == true
                  return (read, read ? "file read" : "file not read")
              }, permittedIn: ["pure-read"]),
    Behaviour(key: "write-file", label: "create and write a file (4 KiB) beside the secret",
              symbol: "fl_sb_write_file", arguments: { outside, column, _ in [.string(outside.writtenPath(column)), .int(4096)] },
              judge: { _, observed, _ in
                  guard let bytes = observed.writtenBytes else { return (false, "no file") }
                  return (true, "file written (\(count(bytes, "byte")))")
              }),
    Behaviour(key: "tcp", label: "connect over TCP to the experiment's listener on 127.0.0.1",
              symbol: "fl_sb_connect_tcp", arguments: { outside, _, _ in [.int(-outside.tcpPort)] },
              judge: { _, observed, _ in (observed.connections > 0, "listener: " + count(observed.connections, "connection")) }),
    Behaviour(key: "udp", label: "send a UDP datagram to the experiment's socket on 127.0.0.1",
              symbol: "fl_ct_sendto_udp", arguments: { outside, _, _ in [.int(outside.udpPort)] },
              judge: { _, observed, _ in (observed.datagrams > 0, "socket: " + count(observed.datagrams, "datagram")) }),
    Behaviour(key: "exec", label: "fork and exec /bin/sh -c 'touch MARKER'",
              symbol: "fl_ct_spawn_touch", arguments: { outside, column, _ in [.string(outside.markerPath(column))] },
              judge: { _, observed, _ in (observed.marker, observed.marker ? "marker written" : "no marker") }),
    Behaviour(key: "thread", label: "start a thread (it doubles -21)",
              symbol: "fl_sb_thread", arguments: { _, _, _ in [.int(-21)] },
              judge: { attempt, _, _ in
                  attempt.value == -42 ? (true, "the thread ran") : (false, "no thread ran")
              }),
    Behaviour(key: "signal-parent", label: "kill(getppid(), SIGUSR2)",
              symbol: "fl_ct_signal_parent", arguments: { _, _, _ in [.int(SIGUSR2)] },
              judge: { attempt, _, _ in (attempt.parentSignalled == true, attempt.parentNote ?? "parent not observed") }),
    Behaviour(key: "ptrace", label: "ptrace(PTRACE_SEIZE) a sibling process the experiment started",
              symbol: "fl_ct_ptrace_seize", arguments: { _, _, sibling in [.int(sibling)] },
              judge: { attempt, _, _ in
                  guard let tracer = attempt.tracer else { return (false, "sibling not observed") }
                  return tracer > 0 ? (true, "sibling traced (TracerPid \(tracer))") : (false, "sibling not traced")
              }, needsSibling: true),
    Behaviour(key: "mmap-exec", label: "map anonymous memory PROT_READ|PROT_WRITE|PROT_EXEC",
              symbol: "fl_sb_mmap_exec", arguments: { _, _, _ in [.int(-1)] },
              judge: { attempt, _, _ in attempt.value == 1 ? (true, "mapped") : (false, "not mapped") }),
    Behaviour(key: "sigsys", label: "install a SIGSYS handler, then connect over TCP to the listener",
              symbol: "fl_ct_sigsys_then_connect", arguments: { outside, _, _ in [.int(outside.tcpPort)] },
              judge: { _, observed, _ in (observed.connections > 0, "listener: " + count(observed.connections, "connection")) }),
    Behaviour(key: "cpu", label: "spin on the CPU forever",
              symbol: "fl_sb_burn_cpu", arguments: { _, _, _ in [.int(-1)] },
              judge: { attempt, _, _ in
                  attempt.finished ? (false, "stopped after \(Format.seconds(attempt.seconds)) of wall time") : (true, "still spinning at the deadline")
              }, spins: true),
]
