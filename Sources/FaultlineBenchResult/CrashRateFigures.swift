/// The pool's crash rate against its C floor, both measured in the same run,
/// in alternating rounds: the figures behind `pool_crash_rate_vs_c_floor`.
/// A figure is nil when it could not be measured; the note says why.
public struct CrashRateFigures: Codable, Sendable {
    /// `WorkerPool.run` on all-faulting inputs (fl_mixed -1, SIGSEGV, backtraces on), crashes per second, the median of the rounds.
    public var poolCrashesPerSecond: Double?
    /// `faultline-floors --only fork_crash_unwind`: forked children that fault, walk and `_exit`, crashes per second, the median.
    public var floorCrashesPerSecond: Double?
    /// Every round's pool figure, in order.
    public var poolRounds: [Double] = []
    /// Every round's floor figure, in order.
    public var floorRounds: [Double] = []
    /// Crashes per round (each side).
    public var crashes: Int = 0
    /// Workers of the pool.
    public var workers: Int = 0
    /// Why the pool's figure is missing.
    public var poolNote: String?
    /// Why the floor's figure is missing.
    public var floorNote: String?

    /// Nothing measured yet.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case poolCrashesPerSecond = "pool_crashes_per_second", floorCrashesPerSecond = "floor_crashes_per_second"
        case poolRounds = "pool_rounds", floorRounds = "floor_rounds", crashes, workers
        case poolNote = "pool_note", floorNote = "floor_note"
    }
}

/// `faultline triage --replays 0 --json` against `faultline call` on the same
/// inputs (child processes, in alternating runs): the figures behind `triage_overhead`.
public struct TriageFigures: Codable, Sendable {
    /// Wall seconds of `faultline call`, the median of the runs.
    public var callSeconds: Double?
    /// Wall seconds of `faultline triage --replays 0 --json`, the median of the runs.
    public var triageSeconds: Double?
    /// Every run of `faultline call`, in order.
    public var callRuns: [Double] = []
    /// Every run of `faultline triage`, in order.
    public var triageRuns: [Double] = []
    /// Inputs per run.
    public var inputs: Int = 0
    /// How many of them fault.
    public var faults: Int = 0
    /// Groups triage found (3 distinct bugs are fed).
    public var groups: Int = 0
    /// Workers of both commands.
    public var workers: Int = 0
    /// Why there is no figure.
    public var note: String?

    /// Nothing measured yet.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case callSeconds = "call_seconds", triageSeconds = "triage_seconds", callRuns = "call_runs", triageRuns = "triage_runs"
        case inputs, faults, groups, workers, note
    }
}
