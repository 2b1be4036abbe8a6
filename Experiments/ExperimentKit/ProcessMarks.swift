#if canImport(Glibc)
import Glibc
#endif
import FaultlineHarness

/// Processes marked by an environment variable.
///
/// A child inherits its parent's environment across `fork`, `exec`, a double
/// fork and `setsid`, so a variable set on a subject marks everything it
/// starts, whatever its parent, process group or session becomes. Reading
/// `/proc/PID/environ` then finds them again (the environment the process
/// started with; a zombie has none).
public enum ProcessMarks {
    /// Whether `pid` started with `name=value` in its environment.
    public static func has(_ pid: pid_t, _ name: String, _ value: String) -> Bool {
        guard let text = Files.read("/proc/\(pid)/environ") else { return false }
        let wanted = name + "=" + value
        return text.split(separator: "\0", omittingEmptySubsequences: true).contains { $0 == wanted }
    }

    /// The live processes among `entries` (zombies excluded) that carry `name=value`.
    public static func marked(_ name: String, _ value: String, among entries: [ProcessTable.Entry] = ProcessTable.all()) -> [ProcessTable.Entry] {
        entries.filter { $0.state != "Z" && has($0.pid, name, value) }
    }

    /// Records of `entries` with their command lines, as the watchdog lists survivors.
    public static func records(_ entries: [ProcessTable.Entry]) -> [ProcessRecord] {
        entries.map(ProcessRecord.init(entry:))
    }
}
