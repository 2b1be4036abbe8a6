import FaultlineBenchResult

/// The sandbox's targets: `--sandbox pure` against no sandbox, both measured
/// in the same run (``SandboxBench``).
extension Target {
    static func sandboxTargets(_ report: BenchReport) -> [Target] {
        let figures = report.sandbox
        let notMeasured = figures.rounds == 0 ? "not measured: the sandbox section did not run" : figures.note
        let workersNote = figures.workers == 2 ? nil : "measured with \(figures.workers) workers, not 2"
        return [
            Target(name: "sandbox_pool_calls_ratio",
                   description: "pool cheap callee calls/s with --sandbox pure ≥ 0.9× without a sandbox",
                   measured: figures.poolCallsRatio, unit: "ratio", limit: 0.9, atMost: false,
                   detail: "WorkerPool.run of fl_identity in runs of \(figures.poolRunLength) inputs, \(figures.workers) workers, "
                       + "\(figures.rounds) rounds alternating: sandboxed \(showRate(figures.sandboxedPoolCallsPerSecond)) / "
                       + "plain \(showRate(figures.poolCallsPerSecond)) (medians; the figure is the median of the rounds' ratios)",
                   note: notMeasured ?? workersNote),
            Target(name: "sandbox_syscall_cost",
                   description: "an allowed system call in a worker under --sandbox pure ≤ 2× the same call without a sandbox",
                   measured: benchRatio(figures.sandboxedSyscallNs, figures.syscallNs), unit: "ratio", limit: 2, atMost: true,
                   detail: "getppid in fl_getppid_loop(\(figures.syscallsPerCall)) less fl_getppid_loop(0), over \(figures.syscallsPerCall), "
                       + "in a 1-worker pool, \(figures.rounds) rounds alternating: sandboxed \(showNs(figures.sandboxedSyscallNs)) / "
                       + "plain \(showNs(figures.syscallNs)) (medians)",
                   note: notMeasured),
            Target(name: "sandbox_worker_start",
                   description: "a worker's start under --sandbox pure (fork to its call) ≤ 1.5× an unsandboxed worker's",
                   measured: benchRatio(figures.sandboxedWorkerCycleNs, figures.workerCycleNs), unit: "ratio", limit: 1.5, atMost: true,
                   detail: "ForkServerStrategy on fl_identity, calls back to back, each in a fresh worker (forked by the helper, set up, "
                       + "one call, exit), \(figures.rounds) rounds alternating: sandboxed \(showNs(figures.sandboxedWorkerCycleNs)) / "
                       + "plain \(showNs(figures.workerCycleNs)) per call (medians); a 1-worker pool from its creation to its first result: "
                       + "sandboxed \(showNs(figures.sandboxedPoolStartNs)) / plain \(showNs(figures.poolStartNs)) = "
                       + "\(showNumber(benchRatio(figures.sandboxedPoolStartNs, figures.poolStartNs)))×",
                   note: notMeasured),
        ]
    }
}
