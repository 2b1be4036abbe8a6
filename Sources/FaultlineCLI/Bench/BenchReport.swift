/// Everything one `faultline bench` run measured, and its JSON form.
///
/// The JSON object (what `--json` prints) has these keys:
/// `schema`, `run` (budget, machine), `strategies` (name → figures),
/// `floors`, `fork_cost`, `rss`, `peers`, `unwinder`, `targets`. A strategy object always
/// has `available`; when true it also has `calls_per_second`, `p50_ns`,
/// `p99_ns` (the cheap `identity` workload), `recovery_p50_ns`,
/// `recovery_p99_ns` (null where it does not apply), and `workloads`
/// (workload name → `calls_per_second`, `p50_ns`, `p99_ns`, `calls`,
/// `faults`, `latency_batch`, or `available: false` with a `reason`).
struct BenchReport {
    /// How the run was set up.
    var run: RunInfo
    /// One row per strategy, in table order.
    var strategies: [StrategyRow] = []
    /// The C floors.
    var floors = Floors()
    /// Fork with a small and with a large parent.
    var forkCost = ForkCost()
    /// Resident memory of the supervisor and the workers.
    var rss = ResidentMemory()
    /// The Python peers.
    var peers = PeerReport()
    /// C++ exceptions with libunwind confined or process-wide.
    var unwinder = UnwinderFigures()

    /// The row named `name`, if measured.
    func strategy(_ name: String) -> StrategyRow? { strategies.first { $0.name == name } }

    /// The whole report as one JSON object.
    var json: JSON {
        .object([
            ("schema", .int(1)),
            ("run", run.json),
            ("strategies", .object(strategies.map { ($0.name, $0.json) })),
            ("floors", floors.json),
            ("fork_cost", forkCost.json),
            ("rss", rss.json),
            ("peers", peers.json),
            ("unwinder", unwinder.json),
            ("targets", .array(Target.evaluate(self).map(\.json))),
        ])
    }
}

/// How the run was set up, and on what.
struct RunInfo {
    /// The time budget asked for, in seconds.
    var budgetSeconds: Double
    /// True for `--quick`.
    var quick: Bool
    /// Worker processes of the pool rows.
    var workers: Int
    /// The victims library.
    var library: String
    /// Online processors.
    var cores: Int
    /// `uname -r`.
    var kernel: String
    /// /sys/kernel/mm/transparent_hugepage/enabled, the selected word.
    var transparentHugePages: String
    /// Wall-clock seconds the run took (filled at the end).
    var elapsedSeconds: Double = 0

    var json: JSON {
        .object([
            ("budget_seconds", .number(budgetSeconds)),
            ("elapsed_seconds", .number(elapsedSeconds)),
            ("quick", .bool(quick)),
            ("workers", .int(workers)),
            ("library", .string(library)),
            ("cores", .int(cores)),
            ("kernel", .string(kernel)),
            ("transparent_hugepages", .string(transparentHugePages)),
        ])
    }
}

/// What one workload gave for one strategy: figures, or why there are none.
enum WorkloadCell {
    /// Measured.
    case measured(Measurement)
    /// Not measured, and why (e.g. "not applicable: exit(7) ends the process").
    case skipped(String)

    /// The figures, when measured.
    var measurement: Measurement? {
        if case .measured(let value) = self { return value }
        return nil
    }

    var json: JSON {
        switch self {
        case .measured(let m):
            return .object([
                ("available", .bool(true)),
                ("calls_per_second", .number(m.callsPerSecond)),
                ("p50_ns", .number(m.latency.p50)),
                ("p99_ns", .number(m.latency.p99)),
                ("mean_ns", .number(m.latency.mean)),
                ("calls", .int(m.calls)),
                ("faults", .int(m.faults)),
                ("latency_batch", .int(m.batch)),
            ])
        case .skipped(let reason):
            return .object([("available", .bool(false)), ("reason", .string(reason))])
        }
    }
}

/// Crash recovery: from the fault to the outcome delivered, and to the capacity restored.
struct Recovery {
    /// What was timed, in words.
    var method: String
    /// From the call of a faulting input to its outcome in the caller's hands.
    var outcome: LatencySummary
    /// From the same start until the capacity is back (a replacement worker
    /// ready); equal to `outcome` where nothing has to be restored.
    var restored: LatencySummary
}

/// One strategy: its workloads, its recovery, and extra figures.
struct StrategyRow {
    /// `direct`, `guard`, `fork`, `pool`, `fork_server`.
    var name: String
    /// Why the whole row is missing, or nil when it was measured.
    var unavailable: String?
    /// Workload name → figures, in table order.
    var workloads: [(String, WorkloadCell)] = []
    /// Crash recovery, where it applies.
    var recovery: Recovery?
    /// Why there is no recovery figure.
    var recoveryNote: String?
    /// More figures, in JSON form.
    var extras: [(String, JSON)] = []

    /// A row that could not be measured.
    static func notAvailable(_ name: String, _ reason: String) -> StrategyRow {
        StrategyRow(name: name, unavailable: reason)
    }

    /// The figures of one workload, when measured.
    func measurement(_ workload: String) -> Measurement? {
        workloads.first { $0.0 == workload }?.1.measurement
    }

    /// A number among the extras, when present.
    func extraNumber(_ key: String) -> Double? {
        guard case .number(let value)? = extras.first(where: { $0.0 == key })?.1 else { return nil }
        return value
    }

    var json: JSON {
        if let unavailable {
            return .object([
                ("available", .bool(false)), ("reason", .string(unavailable)),
                ("calls_per_second", .null), ("p50_ns", .null), ("p99_ns", .null),
                ("recovery_p50_ns", .null), ("recovery_p99_ns", .null),
            ])
        }
        let identity = measurement("identity")
        var members: [(String, JSON)] = [
            ("available", .bool(true)),
            ("calls_per_second", .number(identity?.callsPerSecond)),
            ("p50_ns", .number(identity?.latency.p50)),
            ("p99_ns", .number(identity?.latency.p99)),
            ("recovery_p50_ns", .number(recovery?.restored.p50)),
            ("recovery_p99_ns", .number(recovery?.restored.p99)),
            ("recovery_outcome_p50_ns", .number(recovery?.outcome.p50)),
            ("recovery_outcome_p99_ns", .number(recovery?.outcome.p99)),
        ]
        if let recovery {
            members.append(("recovery_method", .string(recovery.method)))
            members.append(("recovery_samples", .int(recovery.outcome.count)))
        } else if let recoveryNote {
            members.append(("recovery_note", .string(recoveryNote)))
        }
        members.append(("workloads", .object(workloads.map { ($0.0, $0.1.json) })))
        return .object(members + extras)
    }
}

/// The C floors, in nanoseconds per operation (medians over rounds).
struct Floors {
    /// A plain call of `fl_identity` through a volatile pointer.
    var plainCall: Double?
    /// sigsetjmp + call.
    var sigsetjmpCall: Double?
    /// fl_guard_call in a C loop, non-faulting.
    var guardCall: Double?
    /// Caught SIGSEGV + siglongjmp, no backtrace (per-fault samples).
    var faultLongjmp: LatencySummary?
    /// The same with a libunwind backtrace.
    var faultLongjmpBacktrace: LatencySummary?
    /// fork + _exit + waitpid (per-fork samples).
    var forkWaitpid: LatencySummary?
    /// A 4-byte round trip to a persistent echo process over pipes.
    var pipeRoundTrip: LatencySummary?
    /// A waiting forked child faults: from "go" to the parent seeing its death.
    var faultDeath: LatencySummary?

    var json: JSON {
        func summary(_ value: LatencySummary?) -> [(String, JSON)] {
            [("p50_ns", .number(value?.p50)), ("p99_ns", .number(value?.p99)), ("mean_ns", .number(value?.mean)),
             ("samples", .int(value?.count ?? 0))]
        }
        return .object([
            ("plain_call_ns", .number(plainCall)),
            ("sigsetjmp_call_ns", .number(sigsetjmpCall)),
            ("guard_call_c_ns", .number(guardCall)),
            ("fault_longjmp_ns", .number(faultLongjmp?.p50)),
            ("fault_longjmp_backtrace_ns", .number(faultLongjmpBacktrace?.p50)),
            ("fork_waitpid_ns", .number(forkWaitpid?.p50)),
            ("pipe_round_trip_ns", .number(pipeRoundTrip?.p50)),
            ("fault_death_ns", .number(faultDeath?.p50)),
            ("fault_longjmp", .object(summary(faultLongjmp))),
            ("fault_longjmp_backtrace", .object(summary(faultLongjmpBacktrace))),
            ("fork_waitpid", .object(summary(forkWaitpid))),
            ("pipe_round_trip", .object(summary(pipeRoundTrip))),
            ("fault_death", .object(summary(faultDeath))),
        ])
    }
}

/// Per-call fork cost in one parent process.
struct ForkFigures {
    /// Resident bytes of the parent while measuring.
    var parentResidentBytes: Int?
    /// Raw fork + waitpid, p50 ns.
    var forkWaitpid: LatencySummary?
    /// ForkStrategy on `fl_identity`, p50 ns per call.
    var forkStrategy: LatencySummary?
    /// ForkServerStrategy on `fl_identity`, when available.
    var forkServer: LatencySummary?
    /// Why the fork-server figure is missing.
    var forkServerNote: String?

    var json: JSON {
        .object([
            ("parent_rss_bytes", parentResidentBytes.map { JSON.int($0) } ?? .null),
            ("fork_waitpid_p50_ns", .number(forkWaitpid?.p50)),
            ("fork_waitpid_p99_ns", .number(forkWaitpid?.p99)),
            ("fork_p50_ns", .number(forkStrategy?.p50)),
            ("fork_p99_ns", .number(forkStrategy?.p99)),
            ("fork_server_p50_ns", .number(forkServer?.p50)),
            ("fork_server_p99_ns", .number(forkServer?.p99)),
        ] + (forkServerNote.map { [("fork_server_note", JSON.string($0))] } ?? []))
    }
}

/// Fork with a small parent (the bench itself) and a large one (a child that touched N bytes).
struct ForkCost {
    /// In the bench process.
    var small = ForkFigures()
    /// In the large-parent probe, or nil with `largeNote`.
    var large: ForkFigures?
    /// How many bytes the large parent allocated and touched.
    var largeParentBytes: Int = 0
    /// Why the large-parent figures are missing.
    var largeNote: String?

    var json: JSON {
        var members: [(String, JSON)] = [
            ("small_parent", small.json),
            ("large_parent_bytes", .int(largeParentBytes)),
            ("large_parent", large?.json ?? .object([("available", .bool(false)),
                                                     ("reason", .string(largeNote ?? "not measured"))])),
        ]
        members.append(("large_over_small_fork", .number(benchRatio(large?.forkStrategy?.p50, small.forkStrategy?.p50))))
        members.append(("large_fork_server_over_small_fork",
                        .number(benchRatio(large?.forkServer?.p50, small.forkStrategy?.p50))))
        return .object(members)
    }
}

/// Resident memory, in bytes.
struct ResidentMemory {
    /// VmHWM of the bench process (the supervisor of the pool rows).
    var supervisorPeak: Int?
    /// VmRSS of the bench process at the end.
    var supervisorCurrent: Int?
    /// The largest VmHWM among the pool's workers.
    var workerPeak: Int?
    /// The sum of the workers' VmHWM.
    var workersTotal: Int?
    /// How many workers were looked at.
    var workerCount: Int = 0
    /// VmHWM of the pool's helper process (the one that forks the workers).
    var helperPeak: Int?
    /// Why the worker figures are missing.
    var workerNote: String?

    var json: JSON {
        func bytes(_ value: Int?) -> JSON { value.map { JSON.int($0) } ?? .null }
        return .object([
            ("supervisor_peak_bytes", bytes(supervisorPeak)),
            ("supervisor_current_bytes", bytes(supervisorCurrent)),
            ("worker_peak_bytes", bytes(workerPeak)),
            ("workers_total_peak_bytes", bytes(workersTotal)),
            ("workers", .int(workerCount)),
            ("helper_peak_bytes", bytes(helperPeak)),
        ] + (workerNote.map { [("worker_note", JSON.string($0))] } ?? []))
    }
}

/// `a / b`, or nil when either is missing or b is zero.
func benchRatio(_ a: Double?, _ b: Double?) -> Double? {
    guard let a, let b, b != 0 else { return nil }
    return a / b
}
