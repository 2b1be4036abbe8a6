#if canImport(Glibc)
import Glibc
#endif
import Faultline
import FaultlineHarness

/// The procedure experiments 02 and 09 apply to a caller that may hang:
/// watch its progress until the budget is spent; if it is still running,
/// measure its CPU over a short window, send SIGINT to it alone (what Ctrl-C
/// delivers to the program being waited on), and, if that does not end it,
/// SIGKILL it alone; then list what is left below the watchdog (orphans are
/// re-parented to it, a subreaper) before everything is killed.
public enum HangProbe {
    /// What the probe saw.
    public struct Result: Sendable {
        /// The watch until the budget.
        public var watch: Watch
        /// CPU use of the caller and its descendants over the window, in percent of one core.
        public var cpuPercent: Double?
        /// The caller's state when hung (S sleeping, R running).
        public var state: String?
        /// Live processes below the caller while hung.
        public var poolSize: Int = 0
        /// Whether SIGINT ended the caller (nil when it was not hung).
        public var sigintEnded: Bool?
        /// How the caller ended after SIGINT, or nil.
        public var sigintStatus: ExitStatus?
        /// Seconds from SIGINT to its end, or the time waited.
        public var sigintSeconds: Double = 0
        /// Processes still alive once the caller was gone.
        public var leftBehind: [ProcessRecord] = []

        /// `hung: 6 of 11 results, none after 0.21 s, still waiting at 2.50 s (caller state S, 0 % CPU)`.
        public func hungLine(total: Int, unit: String = "results") -> String {
            guard watch.hung else {
                return "did not hang: ended with \(watch.status.map { "\($0)" } ?? "?") after \(Format.seconds(watch.waited)), \(watch.progress) of \(total) \(unit)"
            }
            return "hung: \(watch.progress) of \(total) \(unit), none after \(Format.seconds(watch.lastProgressAt)), still waiting at \(Format.seconds(watch.waited)) (caller state \(state ?? "?"), \(Format.percent(cpuPercent ?? .nan)) CPU for the whole tree)"
        }

        /// `SIGINT to the waiting program: it ended (…) after 3 ms`.
        public var sigintLine: String? {
            guard let ended = sigintEnded else { return nil }
            return ended
                ? "SIGINT to the waiting program: it ended (\(sigintStatus.map { "\($0)" } ?? "?")) after \(Format.seconds(sigintSeconds))"
                : "SIGINT to the waiting program: no effect after \(Format.seconds(sigintSeconds)); SIGKILL sent to it alone"
        }

        /// `left behind: nothing` or the list.
        public var leftLine: String? {
            guard sigintEnded != nil else { return nil }
            let left = leftBehind.map { "pid \($0.pid) `\($0.command)` (state \($0.state), re-parented to the watchdog)" }
            return "left behind once it was gone: " + (left.isEmpty ? "nothing" : "\(left.count) process(es): " + left.joined(separator: ", ")) + "; all killed and reaped"
        }
    }

    /// Runs the procedure on `child`; the budget covers the watch and the CPU window.
    public static func run(_ child: SupervisedChild, supervisor: Supervisor, budget: Double, progress tag: String) -> Result {
        let window = min(0.5, budget / 4)
        var result = Result(watch: child.watch(for: budget - window, progress: tag))
        guard result.watch.hung else { return result }
        let before = child.treeCPUSeconds
        Clock.sleep(window)
        result.cpuPercent = (child.treeCPUSeconds - before) / window * 100
        result.state = child.state
        result.poolSize = ProcessTable.descendants(of: child.pid).count
        let sent = Clock.now()
        child.send(SIGINT)
        result.sigintStatus = child.wait(min(1, budget))
        result.sigintSeconds = Clock.now() - sent
        result.sigintEnded = result.sigintStatus != nil
        if result.sigintStatus == nil {
            child.send(SIGKILL)
            child.wait(1)
        }
        Clock.sleep(0.2) // orphans are re-parented, and pools finish their own clean-up
        result.leftBehind = supervisor.survivors()
        supervisor.cleanUp()
        return result
    }
}
