import Faultline

/// Measures the supervised worker pool and the fork server.
enum PoolBench {
    /// Why the pool rows are empty in this build.
    static let missing = "not available: WorkerPool is not in this build"

    /// The `pool` row and the workers' resident memory.
    static func poolRow(_ victims: Victims, workers: Int, budget: Budget, rss: inout ResidentMemory) -> StrategyRow {
        rss.workerNote = missing
        return .notAvailable("pool", missing)
    }

    /// The `fork_server` row.
    static func forkServerRow(_ victims: Victims, budget: Budget) -> StrategyRow {
        .notAvailable("fork_server", missing)
    }

    /// Per-call latency of the fork server on `fl_identity`, or why there is none.
    static func forkServerLatency(library: String, seconds: Double) -> (LatencySummary?, String?) {
        (nil, missing)
    }
}
