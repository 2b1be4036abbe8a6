import FaultlineBenchResult
#if canImport(Glibc)
import Glibc
#endif
import Faultline
import FaultlineHarness
import Synchronization

/// The child processes the bench starts (the large-parent probe, the Python
/// peers), run under a deadline and registered, so that SIGINT or SIGTERM
/// kills their whole process groups before the bench exits. The pools need no
/// such care: their helpers end when this process's control sockets close.
enum BenchChildren {
    private static let running = Mutex<Set<pid_t>>([])

    /// Kills every registered child's process group (for a SIGINT/SIGTERM handler).
    static func killAll() {
        let groups = running.withLock { $0 }
        for group in groups { kill(-group, SIGKILL) }
    }

    /// Starts `executable`, waits at most `timeout` seconds, kills its group if it is still running.
    /// Returns the finished child and its status (nil when it was killed at the deadline).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
                    timeout: Double) throws
        -> (process: ChildProcess, status: ExitStatus?) {
        let child = try ChildProcess(executable, arguments, environment: environment, stdin: stdin)
        running.withLock { _ = $0.insert(child.pid) }
        defer { running.withLock { _ = $0.remove(child.pid) } }
        let status = child.wait(timeout: timeout)
        if status == nil { child.kill() }
        return (child, status)
    }

    /// The `key value` lines a probe child prints: numbers, and the values that are not numbers.
    static func keyValues(_ output: String) -> (numbers: [String: Double], words: [String: String]) {
        var numbers: [String: Double] = [:]
        var words: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            if let value = Double(parts[1]) { numbers[parts[0]] = value } else { words[parts[0]] = parts[1] }
        }
        return (numbers, words)
    }
}
