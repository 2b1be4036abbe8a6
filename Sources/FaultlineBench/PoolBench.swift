import FaultlineBenchResult
import Faultline
import FaultlineHarness

/// Measures the supervised worker pool and the fork server (a pool whose
/// workers serve one call each, forked by the small helper process).
///
/// Pool figures: calls per second from runs of many inputs (the way the pool
/// is meant to be used: all workers busy, inputs in batches), latency p50/p99
/// from single calls (one round trip to a worker each). Recovery: from
/// calling a faulting input to its outcome, and on to the moment the pool is
/// back at full strength (`workerPIDs` returns once the helper's replacement
/// worker has registered).
enum PoolBench {
    /// Inputs per run for the throughput of the cheap callee, and of the mixed workloads.
    static let identityRunLength = 100_000
    static let mixedRunLength = 10_000

    /// The `pool` row, and the resident memory of its workers and helper.
    static func poolRow(_ victims: Victims, workers: Int, budget: Budget, rss: inout ResidentMemory) -> StrategyFigures {
        var row = StrategyFigures(name: "pool")
        let configuration = WorkerPool.Configuration(workers: workers)
        let identityPool: WorkerPool
        let mixedPool: WorkerPool
        do {
            identityPool = try WorkerPool(library: victims.library, symbol: "fl_identity", configuration: configuration)
            mixedPool = try WorkerPool(library: victims.library, symbol: "fl_mixed", configuration: configuration)
        } catch {
            rss.workerNote = "not available: \(error)"
            return .notAvailable("pool", "not available: cannot start a pool: \(error)")
        }
        defer {
            identityPool.shutdown()
            mixedPool.shutdown()
        }
        row.workloads.append(("identity", measure(identityPool, .identity, runLength: identityRunLength,
                                                  seconds: budget.seconds(3))))
        // The workers' memory after the busiest workload, then the helper's.
        let workerPeaks = identityPool.workerPIDs.compactMap { ProcessTable.peakResidentBytes($0) }
        if workerPeaks.isEmpty {
            rss.workerNote = "no worker could be read in /proc"
        } else {
            rss.workerPeak = workerPeaks.max()
            rss.workersTotal = workerPeaks.reduce(0, +)
            rss.workerCount = workerPeaks.count
        }
        rss.helperPeak = ProcessTable.peakResidentBytes(identityPool.statistics.helperPID)

        for percent in Workload.mixedPercentages {
            let workload = Workload.mixed(percent: percent)
            row.workloads.append((workload.name, measure(mixedPool, workload, runLength: mixedRunLength,
                                                         seconds: budget.seconds(2))))
        }
        var timeline: [(String, JSON)] = []
        row.recovery = recovery(mixedPool, faultingInput: -1, seconds: budget.seconds(1.5),
                                method: "WorkerPool.call(-1) on fl_mixed (SIGSEGV in a worker, backtrace symbolized in "
                                    + "the helper); restored = until workerPIDs shows the replacement (the standby) taking calls",
                                timeline: &timeline)
        let statistics = mixedPool.statistics
        row.extras = [
            ("workers", .int(workers)),
            ("latency_note", .string("p50/p99: single calls (one round trip to a worker); "
                + "calls_per_second: runs of \(identityRunLength) (identity) or \(mixedRunLength) (mixed) inputs")),
            ("mixed_fault_kinds", .array(Workload.allFaultKinds.map { .int(Int($0)) })),
            ("mixed_workers_started", .int(statistics.workersStarted)),
            ("mixed_worker_deaths", .int(statistics.workerDeaths)),
        ] + timeline
        return row
    }

    /// The `fork_server` row: one fresh process per call, forked by the helper.
    static func forkServerRow(_ victims: Victims, budget: Budget) -> StrategyFigures {
        var row = StrategyFigures(name: "fork_server")
        let identity: ForkServerStrategy
        let mixed: ForkServerStrategy
        do {
            identity = try ForkServerStrategy(library: victims.library, symbol: "fl_identity")
            mixed = try ForkServerStrategy(library: victims.library, symbol: "fl_mixed")
        } catch {
            return .notAvailable("fork_server", "not available: cannot start the fork server: \(error)")
        }
        defer {
            identity.pool.shutdown()
            mixed.pool.shutdown()
        }
        row.workloads.append(("identity", StrategyBench.measure(identity, .identity, seconds: budget.seconds(2))))
        for percent in Workload.mixedPercentages {
            let workload = Workload.mixed(percent: percent)
            row.workloads.append((workload.name, StrategyBench.measure(mixed, workload, seconds: budget.seconds(1.5))))
        }
        var timeline: [(String, JSON)] = []
        row.recovery = recovery(mixed.pool, faultingInput: -1, seconds: budget.seconds(1),
                                method: "ForkServerStrategy.call(-1) on fl_mixed (SIGSEGV); restored = until the "
                                    + "helper's next one-call worker registered", timeline: &timeline)
        row.extras = [("mixed_fault_kinds", .array(Workload.allFaultKinds.map { .int(Int($0)) })),
                      ("workers", .int(1))] + timeline
        return row
    }

    /// Per-call latency of the fork server on `fl_identity`, or why there is none (for the large-parent probe).
    static func forkServerLatency(library: String, seconds: Double) -> (LatencySummary?, String?) {
        do {
            let server = try ForkServerStrategy(library: library, symbol: "fl_identity")
            defer { server.pool.shutdown() }
            return (try StrategyBench.timeEach(seconds: seconds) { _ = try server.call(1) }, nil)
        } catch {
            return (nil, "not available: \(error)")
        }
    }

    /// Throughput from runs of inputs (half the time), latency from single calls (the other half).
    /// A run holds at most `runLength` inputs, fewer when the workload is slow (a run should not
    /// last more than one of the 5 rounds); short runs take the next slice of the workload each time.
    static func measure(_ pool: WorkerPool, _ workload: Workload, runLength: Int, seconds: Double) -> WorkloadCell {
        let rounds = 5
        let roundSeconds = seconds / 2 / Double(rounds)
        let cycle = workload.inputs.count
        var rates: [Double] = []
        var calls = 0
        var faults = 0
        do {
            // Warm up and calibrate on one pass over the workload.
            let probeStart = benchNow()
            _ = try pool.run(workload.inputs)
            let perCall = Double(benchNow() - probeStart) / 1e9 / Double(cycle)
            var length = min(runLength, max(100, Int(roundSeconds / 2 / perCall)))
            if length >= cycle { length -= length % cycle }
            let whole = length % cycle == 0 ? (0..<length).map { workload.inputs[$0 % cycle] } : []
            var position = 0
            for _ in 0..<rounds {
                let start = benchNow()
                var roundCalls = 0
                repeat {
                    let inputs = whole.isEmpty ? (0..<length).map { workload.inputs[(position + $0) % cycle] } : whole
                    position = (position + length) % cycle
                    let outcomes = try pool.run(inputs)
                    faults += outcomes.reduce(0) { $0 + ($1.returnedValue == nil ? 1 : 0) }
                    roundCalls += outcomes.count
                } while Double(benchNow() - start) / 1e9 < roundSeconds
                rates.append(Double(roundCalls) / (Double(benchNow() - start) / 1e9))
                calls += roundCalls
            }
            let single = try measureCalls(inputs: workload.inputs, seconds: seconds / 2) {
                try pool.call($0).returnedValue == nil
            }
            return .measured(WorkloadFigures(callsPerSecond: benchMedian(rates), latency: single.latency,
                                         calls: calls + single.calls, batch: single.batch, faults: faults + single.faults))
        } catch {
            return .skipped("failed: \(error)")
        }
    }

    /// Times `faultingInput` from the call to its outcome, and to the capacity
    /// restored; and, from the pool's own timeline of each crash, from the
    /// fault to the outcome held by the supervisor (with backtrace addresses)
    /// and to full strength (`timeline` gets `fault_to_outcome_*` and
    /// `fault_to_restored_*` p50/p99 in ns).
    static func recovery(_ pool: WorkerPool, faultingInput: Int32, seconds: Double, method: String,
                         timeline: inout [(String, JSON)]) -> Recovery? {
        var outcome: [Double] = []
        var restored: [Double] = []
        var faultToOutcome: [Double] = []
        var faultToRestored: [Double] = []
        var faultToReport: [Double] = []
        let start = benchNow()
        do {
            _ = pool.statistics // start at full strength
            while outcome.count < 5 || Double(benchNow() - start) / 1e9 < seconds {
                let before = benchNow()
                let result = try pool.call(faultingInput)
                let delivered = benchNow()
                _ = pool.workerPIDs // returns once the replacement has registered
                let back = benchNow()
                guard result.returnedValue == nil else { return nil }
                outcome.append(Double(delivered - before))
                restored.append(Double(back - before))
                if let crash = pool.lastCrash, crash.faultNanoseconds >= before, crash.faultNanoseconds <= delivered {
                    faultToOutcome.append(Double(crash.outcomeNanoseconds - crash.faultNanoseconds))
                    faultToReport.append(Double(crash.reportedNanoseconds - crash.faultNanoseconds))
                    faultToRestored.append(Double(max(crash.restoredNanoseconds, crash.outcomeNanoseconds) - crash.faultNanoseconds))
                }
            }
        } catch {
            return nil
        }
        if let summary = LatencySummary(faultToOutcome), let back = LatencySummary(faultToRestored),
           let report = LatencySummary(faultToReport) {
            timeline = [("fault_to_report_p50_ns", .number(report.p50)), ("fault_to_outcome_p50_ns", .number(summary.p50)), ("fault_to_outcome_p99_ns", .number(summary.p99)),
                        ("fault_to_restored_p50_ns", .number(back.p50)), ("fault_to_restored_p99_ns", .number(back.p99)),
                        ("fault_timeline_samples", .int(summary.count))]
        }
        guard let outcomeSummary = LatencySummary(outcome), let restoredSummary = LatencySummary(restored) else { return nil }
        return Recovery(method: method, outcome: outcomeSummary, restored: restoredSummary)
    }
}
