#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// Why a pool could not be made or used (the callee's crashes are outcomes, not these).
///
/// Built from the fields of the C side's `fl_pool_error`, never from a sentence.
public enum PoolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What the pool was doing when a system call failed.
    public enum Step: String, Hashable, Sendable {
        /// Allocating the pool.
        case memory
        /// Creating its sockets.
        case sockets
        /// Starting the helper process.
        case spawnHelper = "spawn helper"
        /// Sending the helper its configuration.
        case configureHelper = "configure helper"
        /// Running calls: the helper is gone, or the pool was shut down.
        case run

        init(_ raw: Int32) {
            switch raw {
            case Int32(FL_POOL_STEP_MEMORY): self = .memory
            case Int32(FL_POOL_STEP_SOCKETS): self = .sockets
            case Int32(FL_POOL_STEP_SPAWN): self = .spawnHelper
            case Int32(FL_POOL_STEP_CONFIGURE): self = .configureHelper
            default: self = .run
            }
        }
    }

    /// A system call failed.
    case system(Step, Errno)
    /// The helper's program could not be started (see `FAULTLINE_HELPER`): its path and the errno.
    case helperNotStarted(path: String, Errno)
    /// The helper process died while loading the library (for example a
    /// constructor that crashes), with how it ended when known.
    case helperDied(library: String, status: ExitStatus?)
    /// Loading the library did not finish within the per-call deadline.
    case loadTimedOut(library: String, seconds: Double)
    /// More workers than one pool keeps (nothing was started).
    case tooManyWorkers(requested: Int, limit: Int)
    /// A function pointer that is neither exported by a library nor part of this executable.
    case unlocatableFunction(String)
    /// The init function failed: it returned non-zero or crashed. No call was made.
    case initFailed(InitFailure)
    /// Crash verification could not start its fresh process (the reason, as the loader gave it).
    case replayUnavailable(String)
    /// A report from a worker that Faultline could not make sense of: a bug
    /// of Faultline's, raised instead of guessing an outcome.
    case inconsistentReport(InconsistentReport)

    /// One line.
    public var description: String {
        switch self {
        case .system(let step, let error):
            "\(step.rawValue): \(error) (errno \(error.rawValue))"
        case .helperNotStarted(let path, let error):
            "cannot start the helper '\(path)': \(error) (errno \(error.rawValue))"
        case .helperDied(let library, let status):
            switch status {
            case .signal(let signal)?:
                "the helper died of signal \(signal.rawValue) (\(signal.name)) while loading '\(library)'"
            case .exitCode(let code)?:
                "the helper exited with status \(code) while loading '\(library)'"
            case nil:
                "the helper died while loading '\(library)'"
            }
        case .loadTimedOut(let library, let seconds):
            "loading '\(library)' did not finish within the deadline of \(seconds) s"
        case .tooManyWorkers(let requested, let limit):
            "a pool keeps at most \(limit) workers, \(requested) were requested"
        case .unlocatableFunction(let function):
            "cannot find \(function) in a loaded object"
        case .initFailed(let failure):
            failure.description
        case .replayUnavailable(let reason):
            "cannot start the process that replays crashes: \(reason)"
        case .inconsistentReport(let report):
            report.description
        }
    }
}
