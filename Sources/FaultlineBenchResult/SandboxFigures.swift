/// What the sandbox costs, each figure beside its baseline measured in the
/// same run, in alternating rounds (`--sandbox pure` against no sandbox): the
/// figures behind the targets `sandbox_pool_calls_ratio`, `sandbox_syscall_cost`
/// and `sandbox_worker_start`. A figure is nil when it could not be measured;
/// `note` says why.
public struct SandboxFigures: Codable, Sendable {
    /// Worker processes of the two calls/s pools.
    public var workers: Int = 0
    /// Rounds of each measurement (each round measures both, one after the other).
    public var rounds: Int = 0
    /// `fl_identity` calls per second through a pool without a sandbox, median of the rounds.
    public var poolCallsPerSecond: Double?
    /// The same through a pool whose workers run under `pure`.
    public var sandboxedPoolCallsPerSecond: Double?
    /// Median over the rounds of sandboxed / plain calls per second.
    public var poolCallsRatio: Double?
    /// Inputs per run of the calls/s rounds.
    public var poolRunLength: Int = 0
    /// ns per `getppid` in a worker without a sandbox (`fl_getppid_loop(n)` minus `fl_getppid_loop(0)`, over n), median.
    public var syscallNs: Double?
    /// The same in a worker under `pure` (the seccomp program runs on every system call).
    public var sandboxedSyscallNs: Double?
    /// System calls per timed call.
    public var syscallsPerCall: Int = 0
    /// ns per call of the fork server without a sandbox: one fresh worker per call (forked by
    /// the helper, set up, one call, exit), calls back to back; median of the rounds.
    public var workerCycleNs: Double?
    /// The same with every worker applying `pure` (rlimits, setns, Landlock, seccomp) before its call.
    public var sandboxedWorkerCycleNs: Double?
    /// ns from `WorkerPool(…, workers: 1)` to its first result, without a sandbox, median.
    public var poolStartNs: Double?
    /// The same with `pure` (the program built, the namespace made and the probe run once per pool).
    public var sandboxedPoolStartNs: Double?
    /// Why a figure is missing.
    public var note: String?

    /// Nothing measured yet.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case workers, rounds, poolCallsPerSecond = "pool_calls_per_second", sandboxedPoolCallsPerSecond = "sandboxed_pool_calls_per_second"
        case poolCallsRatio = "pool_calls_ratio", poolRunLength = "pool_run_length"
        case syscallNs = "syscall_ns", sandboxedSyscallNs = "sandboxed_syscall_ns", syscallsPerCall = "syscalls_per_call"
        case workerCycleNs = "worker_cycle_ns", sandboxedWorkerCycleNs = "sandboxed_worker_cycle_ns"
        case poolStartNs = "pool_start_ns", sandboxedPoolStartNs = "sandboxed_pool_start_ns", note
    }
}
