import Faultline
import FaultlineHarness

/// Is the calling process still trustworthy after a crash? The sharpest test:
/// let the callee fault while it holds its library's lock
/// (`fl_fault_holding_lock`), then make a call that takes that lock
/// (`fl_locked_identity`). In-process recovery leaves the lock held, so the
/// second call deadlocks; isolation leaves it in the dead process.
///
/// Both calls run in a supervised subject; the watchdog gives the second call
/// a deadline and reports whether it returned.
public enum LockProbe {
    /// The subject body: `make` builds the strategy under test for a function.
    public static func subject(_ make: @escaping (NativeFunction) throws -> any Strategy) -> Experiment.Subject {
        { _ in
            let fault = try make(try Victims.function("fl_fault_holding_lock")).call(1)
            SubjectChannel.call(0, CallRecord(input: 1, outcome: fault))
            SubjectChannel.emit("locking")
            let started = Clock.now()
            let second = try make(try Victims.function("fl_locked_identity")).call(7)
            SubjectChannel.call(1, CallRecord(input: 7, outcome: second, seconds: Clock.now() - started))
            return 0
        }
    }

    /// Runs the subject `name` and waits `deadline` seconds for the second call.
    public static func run(_ supervisor: Supervisor, subject name: String, deadline: Double) throws -> Result {
        let child = try supervisor.start(subject: name)
        let status = child.wait(deadline)
        let calls = child.lines.calls()
        var result = Result(firstCall: calls[0], secondCall: calls[1], deadlocked: false, waited: Clock.now() - child.startedAt,
                            state: nil, cpuSeconds: 0, exitStatus: status?.description)
        if status == nil {
            result.state = child.state
            result.cpuSeconds = child.cpuSeconds
            result.deadlocked = calls[1] == nil && child.lines.count("locking") == 1
        }
        child.kill()
        return result
    }

    /// What the probe saw.
    public struct Result: Codable, Sendable {
        /// The faulting call while holding the lock.
        public var firstCall: CallRecord?
        /// The call that takes the lock, if it came back.
        public var secondCall: CallRecord?
        /// The second call was still blocked at the deadline.
        public var deadlocked: Bool
        /// Seconds waited.
        public var waited: Double
        /// Process state at the deadline (S: sleeping on the lock).
        public var state: String?
        /// CPU the stuck subject had used.
        public var cpuSeconds: Double
        /// How the subject ended, if it did.
        public var exitStatus: String?

        /// The process could keep working: the second call returned 7.
        public var safe: Bool { secondCall?.value == 7 }

        /// One line for summaries.
        public var line: String {
            let first = firstCall?.text ?? "no answer"
            if let second = secondCall {
                return "fault while holding a lock (\(first)), then taking that lock: \(second.text) in \(Format.seconds(second.seconds ?? 0)): process still usable"
            }
            if deadlocked {
                return "fault while holding a lock (\(first)), then taking that lock: still blocked after \(Format.seconds(waited)) (state \(state ?? "?"), \(Format.seconds(cpuSeconds)) CPU): deadlock"
            }
            return "fault while holding a lock (\(first)): subject ended with \(exitStatus ?? "?") before the second call"
        }
    }
}
