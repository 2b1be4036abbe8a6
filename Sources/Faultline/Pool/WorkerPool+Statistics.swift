#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// What a pool says about itself: its counters, the timeline of its last
/// crash, its workers' process ids and the program its helper runs.
extension WorkerPool {
    /// Counters since the pool was created.
    public struct Statistics: Sendable, Hashable {
        /// Workers forked so far (the initial ones and every replacement).
        public var workersStarted: Int
        /// Workers that died (crash, exit, deadline, recycling).
        public var workerDeaths: Int
        /// Workers alive now.
        public var liveWorkers: Int
        /// Inputs answered.
        public var calls: Int
        /// Batches handed out.
        public var batches: Int
        /// Times a run woke up with no event, only to check deadlines (0 without a deadline).
        public var idleWakeups: Int
        /// The helper process's id.
        public var helperPID: pid_t
        /// Workers ready beside the live ones, each taking a dead worker's place at once: one,
        /// and up to four while workers die faster than the helper forks.
        public var standbyWorkers: Int = 0
        /// The last crash a worker reported, on the path to its outcome (nil before any).
        public var lastCrash: CrashTimeline?
    }

    /// Where the time went between a worker's fault and its outcome, for the
    /// last crash a worker reported itself (monotonic clock, nanoseconds).
    public struct CrashTimeline: Sendable, Hashable {
        /// When the worker's fault handler ran.
        public var faultNanoseconds: Int64
        /// When the handler had written its report (the backtrace walked).
        public var reportedNanoseconds: Int64
        /// When the supervisor held the outcome, with its backtrace addresses (before any names).
        public var outcomeNanoseconds: Int64
        /// When the pool was last back at full strength after a death (a standby promoted,
        /// or a new worker arrived); may precede the outcome when a standby was ready.
        public var restoredNanoseconds: Int64
        /// From the fault to the outcome.
        public var outcomeLatency: Duration { .nanoseconds(outcomeNanoseconds - faultNanoseconds) }
        /// From the fault to full strength.
        public var restoredLatency: Duration { .nanoseconds(max(restoredNanoseconds, outcomeNanoseconds) - faultNanoseconds) }
    }

    /// The process ids of the workers serving calls, once every worker that
    /// died has been replaced (this waits for the replacement: an event).
    public var workerPIDs: [pid_t] {
        var pids = [pid_t](repeating: 0, count: Self.maximumWorkers)
        let count = fl_pool_worker_pids(pool, &pids, Int32(pids.count))
        return Array(pids.prefix(Int(min(Int(count), pids.count))))
    }

    /// Counters since the pool was created, once the pool is settled: every
    /// dead worker replaced and reaped.
    public var statistics: Statistics {
        let stats = fl_pool_statistics(pool)
        return Self.statistics(stats)
    }

    /// The program the helper runs, chosen when the pool was created:
    /// `faultline-helper` beside this executable when it is there (its forks
    /// are cheaper), a program named by `FAULTLINE_HELPER`, or this
    /// executable (`/proc/self/exe`), always for a function of this executable.
    public var helperExecutable: String { String(cString: fl_pool_helper_executable(pool)) }

    /// The last crash a worker reported (``CrashTimeline``), read at once,
    /// without waiting for replacements as ``statistics`` does.
    public var lastCrash: CrashTimeline? { Self.statistics(fl_pool_current_statistics(pool)).lastCrash }

    private static func statistics(_ stats: fl_pool_stats) -> Statistics {
        let crash = stats.last_fault_ns > 0 && stats.last_outcome_ns > 0
            ? CrashTimeline(faultNanoseconds: stats.last_fault_ns, reportedNanoseconds: stats.last_reported_ns,
                            outcomeNanoseconds: stats.last_outcome_ns,
                            restoredNanoseconds: stats.last_restored_ns)
            : nil
        return Statistics(workersStarted: Int(stats.workers_started), workerDeaths: Int(stats.worker_deaths),
                          liveWorkers: Int(stats.live_workers), calls: Int(stats.calls), batches: Int(stats.batches),
                          idleWakeups: Int(stats.idle_wakeups), helperPID: stats.helper_pid,
                          standbyWorkers: Int(stats.standby_workers), lastCrash: crash)
    }
}
