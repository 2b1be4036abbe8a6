import FaultlineBenchResult
import CFaultline
import CFaultlineLab
import FaultlineHarness
import Faultline

extension Victims {
    /// The function a workload calls.
    func function(for workload: Workload) -> NativeFunction {
        workload.symbol == "fl_identity" ? identity : mixed
    }
}

/// Measures the in-process and per-call strategies: direct, guard, fork.
enum StrategyBench {
    /// Times `strategy` on `workload` for about `seconds`. A faulted call is
    /// one whose outcome is not `returned`. A thrown error (the strategy
    /// itself failed) becomes a skipped cell that says so.
    static func measure(_ strategy: some Strategy, _ workload: Workload, seconds: Double) -> WorkloadCell {
        do {
            return .measured(try measureCalls(inputs: workload.inputs, seconds: seconds) {
                try strategy.call($0).returnedValue == nil
            })
        } catch {
            return .skipped("failed: \(error)")
        }
    }

    /// Times single calls of `call` for about `seconds` (at least `minimum` calls).
    static func timeEach(seconds: Double, minimum: Int = 5, _ call: () throws -> Void) rethrows -> LatencySummary? {
        var samples: [Double] = []
        let start = benchNow()
        while samples.count < minimum || Double(benchNow() - start) / 1e9 < seconds {
            let before = benchNow()
            try call()
            samples.append(Double(benchNow() - before))
        }
        return LatencySummary(samples)
    }

    /// `DirectStrategy`: the identity workload only; a mixed workload would end the bench.
    static func direct(_ victims: Victims, budget: Budget) -> StrategyFigures {
        var row = StrategyFigures(name: "direct")
        row.workloads.append(("identity", measure(DirectStrategy(victims.identity), .identity, seconds: budget.seconds(1))))
        for percent in Workload.mixedPercentages {
            row.workloads.append(("mixed_\(percent)", .skipped("not applicable: the first fault would end the bench")))
        }
        row.recoveryNote = "not applicable: a fault ends the process"
        return row
    }

    /// `GuardStrategy`: identity, mixed workloads without exit(7) (which would
    /// end the process), and recovery from the C floors (no Swift around the
    /// fault) plus the same through the Swift strategy with a symbolized backtrace.
    static func guardRow(_ victims: Victims, floors: Floors, budget: Budget) -> StrategyFigures {
        var row = StrategyFigures(name: "guard")
        let strategy = GuardStrategy(victims.identity, captureBacktrace: false)
        row.workloads.append(("identity", measure(strategy, .identity, seconds: budget.seconds(1))))
        for percent in Workload.mixedPercentages {
            let workload = Workload.mixed(percent: percent, kinds: Workload.guardableFaultKinds)
            row.workloads.append((workload.name, measure(GuardStrategy(victims.mixed, captureBacktrace: false), workload,
                                                         seconds: budget.seconds(1))))
        }
        if let fault = floors.faultLongjmp {
            row.recovery = Recovery(method: "fl_guard_call on fl_null_write (SIGSEGV) in a C loop, no backtrace; "
                                        + "the caller can call again at once",
                                    outcome: fault, restored: fault)
        }
        let symbolized = timeEach(seconds: budget.seconds(0.5)) {
            _ = try? GuardStrategy(victims.faulting, captureBacktrace: true).call(1)
        }
        // Many calls at once: GuardStrategy.call([Int32]) runs them in one C loop.
        let identityInputs = Workload.identity.inputs
        let batchInputs = (0..<4096).map { identityInputs[$0 % identityInputs.count] }
        let batched = timeEach(seconds: budget.seconds(0.5)) { _ = try? strategy.call(batchInputs) }
        let batchPerCall = batched.map { $0.p50 / Double(batchInputs.count) }
        row.extras = [
            ("mixed_fault_kinds", .array(Workload.guardableFaultKinds.map { .int(Int($0)) })),
            ("mixed_note", .string("exit(7) is left out: the guard cannot survive exit(), it ends the process")),
            ("recovery_backtrace_p50_ns", .number(floors.faultLongjmpBacktrace?.p50)),
            ("recovery_backtrace_p99_ns", .number(floors.faultLongjmpBacktrace?.p99)),
            ("recovery_strategy_symbolized_p50_ns", .number(symbolized?.p50)),
            ("recovery_strategy_symbolized_p99_ns", .number(symbolized?.p99)),
            ("call_c_loop_ns", .number(floors.guardCall)),
            ("call_batch_ns", .number(batchPerCall)),
            ("call_batch_size", .number(Double(batchInputs.count))),
        ]
        return row
    }

    /// `ForkStrategy` (one child per call, backtraces on): identity, mixed
    /// workloads with every fault kind, and recovery (a faulting call's
    /// latency: nothing has to be restored afterwards). The identity figures
    /// come from ``forkPair(_:seconds:chunk:)``, which also gives the raw
    /// fork + waitpid floor measured in the same process at the same time.
    static func fork(_ victims: Victims, budget: Budget) -> (row: StrategyFigures, pair: ForkPair) {
        var row = StrategyFigures(name: "fork")
        let pair = forkPair(ForkStrategy(victims.identity), seconds: budget.seconds(3), chunk: 20)
        if let latency = pair.strategy {
            row.workloads.append(("identity", .measured(WorkloadFigures(
                callsPerSecond: Double(latency.count) / (latency.mean * Double(latency.count) / 1e9),
                latency: latency, calls: latency.count, batch: 1, faults: 0))))
        } else {
            row.workloads.append(("identity", .skipped("failed: ForkStrategy could not fork")))
        }
        for percent in Workload.mixedPercentages {
            let workload = Workload.mixed(percent: percent)
            row.workloads.append((workload.name, measure(ForkStrategy(victims.mixed), workload, seconds: budget.seconds(1.5))))
        }
        let faulting = ForkStrategy(victims.faulting)
        if let recovery = try? timeEach(seconds: budget.seconds(1), { _ = try faulting.call(1) }) {
            row.recovery = Recovery(method: "ForkStrategy on fl_null_write (SIGSEGV) with backtrace: fork, fault, "
                                        + "report, waitpid, symbolize; a new child per call, so nothing to restore",
                                    outcome: recovery, restored: recovery)
        }
        row.extras = [("mixed_fault_kinds", .array(Workload.allFaultKinds.map { .int(Int($0)) })),
                      ("identity_note", .string("identity calls interleaved with the raw fork + waitpid floor, "
                          + "\(20) of each at a time, so both see the same parent and the same machine load"))]
        return (row, pair)
    }

    /// Raw fork + waitpid and a fork strategy, measured in alternating chunks.
    struct ForkPair {
        /// fl_floor_fork_waitpid_ns samples.
        var raw: LatencySummary?
        /// One sample per strategy call on `fl_identity`.
        var strategy: LatencySummary?
    }

    /// Alternates `chunk` raw forks and `chunk` calls of `fork` for about `seconds`,
    /// so that the ratio of the two is not skewed by the parent growing or the load changing.
    static func forkPair(_ fork: ForkStrategy, seconds: Double, chunk: Int) -> ForkPair {
        var buffer = [Int64](repeating: 0, count: chunk)
        var raw: [Double] = []
        var calls: [Double] = []
        let start = benchNow()
        _ = try? fork.call(1) // warm up: backtrace library, first-touch pages
        repeat {
            let mean = buffer.withUnsafeMutableBufferPointer { fl_floor_fork_waitpid_ns(Int64(chunk), $0.baseAddress!) }
            guard mean >= 0 else { break }
            raw += buffer.map(Double.init)
            for _ in 0..<chunk {
                let before = benchNow()
                guard (try? fork.call(1)) != nil else { break }
                calls.append(Double(benchNow() - before))
            }
        } while Double(benchNow() - start) / 1e9 < seconds
        return ForkPair(raw: LatencySummary(raw), strategy: LatencySummary(calls))
    }
}
