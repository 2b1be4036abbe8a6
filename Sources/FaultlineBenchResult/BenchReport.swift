/// Everything one `faultline bench` run measured: the one definition of the
/// JSON that `faultline bench --json` writes (``OrderedJSONEncoder``) and the
/// report renderer reads back (Foundation's `JSONDecoder`).
///
/// The JSON object has these keys, in this order:
/// `schema`, `run` (budget, machine), `strategies` (name → figures),
/// `floors`, `fork_cost`, `rss`, `peers`, `unwinder`, `signatures`, `targets`. A strategy object always
/// has `available`; when true it also has `calls_per_second`, `p50_ns`,
/// `p99_ns` (the cheap `identity` workload), `recovery_p50_ns`,
/// `recovery_p99_ns` (null where it does not apply), and `workloads`
/// (workload name → `calls_per_second`, `p50_ns`, `p99_ns`, `calls`,
/// `faults`, `latency_batch`, or `available: false` with a `reason`).
///
/// Read back, a report holds what the JSON holds: latency summaries have their
/// p50 and p99 (and mean and sample count where the JSON has them); a sample
/// count the JSON does not carry reads as 0, a largest sample as the p99.
public struct BenchReport: Codable, Sendable {
    /// The version of this JSON shape.
    public var schema = 1
    /// How the run was set up.
    public var run: RunInfo
    /// One row per strategy, in table order.
    public var strategies: [StrategyFigures] = []
    /// The C floors, measured in this (the bench's) process.
    public var floors = Floors()
    /// The floors at the limit of the machine, measured in a minimal C process (`faultline-floors`).
    public var limitFloors: LimitFloors?
    /// Fork with a small and with a large parent.
    public var forkCost = ForkCost()
    /// Resident memory of the supervisor and the workers.
    public var rss = ResidentMemory()
    /// The Python peers.
    public var peers = PeerReport()
    /// C++ exceptions with libunwind confined or process-wide.
    public var unwinder = UnwinderFigures()
    /// Calls through the signature path against their baselines.
    public var signatures = SignatureFigures()
    /// The performance targets judged on these figures (filled by the bench at the end of the run).
    public var targets: [Target] = []

    /// An empty report of a run set up as `run`.
    public init(run: RunInfo) { self.run = run }

    /// The row named `name`, if measured.
    public func strategy(_ name: String) -> StrategyFigures? { strategies.first { $0.name == name } }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: BenchKey.self)
        try object.encode(schema, forKey: "schema")
        try object.encode(run, forKey: "run")
        var rows = object.nestedContainer(keyedBy: BenchKey.self, forKey: "strategies")
        for row in strategies { try rows.encode(row, forKey: BenchKey(row.name)) }
        try object.encode(floors, forKey: "floors")
        try object.encodeIfPresent(limitFloors, forKey: "limit_floors")
        try object.encode(forkCost, forKey: "fork_cost")
        try object.encode(rss, forKey: "rss")
        try object.encode(peers, forKey: "peers")
        try object.encode(unwinder, forKey: "unwinder")
        try object.encode(signatures, forKey: "signatures")
        try object.encode(targets, forKey: "targets")
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: BenchKey.self)
        schema = try object.decode(Int.self, forKey: "schema")
        run = try object.decode(RunInfo.self, forKey: "run")
        let rows = try object.nestedContainer(keyedBy: BenchKey.self, forKey: "strategies")
        strategies = try StrategyFigures.order(rows.allKeys.map(\.stringValue)).map { name in
            var row = try rows.decode(StrategyFigures.self, forKey: BenchKey(name))
            row.name = name
            return row
        }
        floors = try object.decode(Floors.self, forKey: "floors")
        limitFloors = try object.decodeIfPresent(LimitFloors.self, forKey: "limit_floors")
        forkCost = try object.decode(ForkCost.self, forKey: "fork_cost")
        rss = try object.decode(ResidentMemory.self, forKey: "rss")
        peers = try object.decode(PeerReport.self, forKey: "peers")
        unwinder = try object.decode(UnwinderFigures.self, forKey: "unwinder")
        signatures = try object.decodeIfPresent(SignatureFigures.self, forKey: "signatures") ?? SignatureFigures()
        targets = try object.decode([Target].self, forKey: "targets")
    }
}

/// How the run was set up, and on what.
public struct RunInfo: Codable, Sendable {
    /// The time budget asked for, in seconds.
    public var budgetSeconds: Double
    /// True for `--quick`.
    public var quick: Bool
    /// Worker processes of the pool rows.
    public var workers: Int
    /// The victims library.
    public var library: String
    /// Online processors.
    public var cores: Int
    /// `uname -r`.
    public var kernel: String
    /// /sys/kernel/mm/transparent_hugepage/enabled, the selected word.
    public var transparentHugePages: String
    /// Wall-clock seconds the run took (filled at the end).
    public var elapsedSeconds: Double = 0

    /// Describes a run.
    public init(budgetSeconds: Double, quick: Bool, workers: Int, library: String, cores: Int, kernel: String,
                transparentHugePages: String) {
        self.budgetSeconds = budgetSeconds
        self.quick = quick
        self.workers = workers
        self.library = library
        self.cores = cores
        self.kernel = kernel
        self.transparentHugePages = transparentHugePages
    }

    private enum CodingKeys: String, CodingKey {
        case budgetSeconds = "budget_seconds", elapsedSeconds = "elapsed_seconds", quick, workers, library, cores, kernel
        case transparentHugePages = "transparent_hugepages"
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: CodingKeys.self)
        try object.encode(budgetSeconds, forKey: .budgetSeconds)
        try object.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try object.encode(quick, forKey: .quick)
        try object.encode(workers, forKey: .workers)
        try object.encode(library, forKey: .library)
        try object.encode(cores, forKey: .cores)
        try object.encode(kernel, forKey: .kernel)
        try object.encode(transparentHugePages, forKey: .transparentHugePages)
    }
}

/// Nanosecond durations and their order statistics: the one way the bench
/// turns raw timings into p50/p99 figures.
public struct LatencySummary: Sendable {
    /// How many samples the figures come from.
    public var count: Int
    /// The median, in nanoseconds.
    public var p50: Double
    /// The 99th percentile, in nanoseconds.
    public var p99: Double
    /// The mean, in nanoseconds.
    public var mean: Double
    /// The largest sample, in nanoseconds.
    public var max: Double

    /// A summary from figures already computed.
    public init(count: Int, p50: Double, p99: Double, mean: Double, max: Double) {
        self.count = count
        self.p50 = p50
        self.p99 = p99
        self.mean = mean
        self.max = max
    }

    /// Summarizes `samples` (nanoseconds). Nil when there are none.
    public init?(_ samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        count = sorted.count
        p50 = Self.percentile(sorted, 0.50)
        p99 = Self.percentile(sorted, 0.99)
        mean = sorted.reduce(0, +) / Double(sorted.count)
        max = sorted[sorted.count - 1]
    }

    /// Nearest-rank percentile of an already sorted, non-empty array.
    public static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
    }

    /// A summary read back from JSON figures: nil without a p50 and a p99.
    static func read(p50: Double?, p99: Double?, mean: Double? = nil, samples: Int? = nil) -> LatencySummary? {
        guard let p50, let p99 else { return nil }
        return LatencySummary(count: samples ?? 0, p50: p50, p99: p99, mean: mean ?? p50, max: p99)
    }
}

/// What one timed workload produced: throughput and per-call latency.
public struct WorkloadFigures: Sendable {
    /// Calls per second: the median over the rounds.
    public var callsPerSecond: Double
    /// Per-call latency. When `batch` > 1 each sample is the mean of a batch of calls.
    public var latency: LatencySummary
    /// How many calls were made in all.
    public var calls: Int
    /// How many calls each latency sample covers.
    public var batch: Int
    /// How many calls ended other than by returning.
    public var faults: Int

    /// The figures of one workload.
    public init(callsPerSecond: Double, latency: LatencySummary, calls: Int, batch: Int, faults: Int) {
        self.callsPerSecond = callsPerSecond
        self.latency = latency
        self.calls = calls
        self.batch = batch
        self.faults = faults
    }
}

/// What one workload gave for one strategy: figures, or why there are none.
public enum WorkloadCell: Codable, Sendable {
    /// Measured.
    case measured(WorkloadFigures)
    /// Not measured, and why (e.g. "not applicable: exit(7) ends the process").
    case skipped(String)

    /// The figures, when measured.
    public var measurement: WorkloadFigures? {
        if case .measured(let value) = self { return value }
        return nil
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: BenchKey.self)
        switch self {
        case .measured(let m):
            try object.encode(true, forKey: "available")
            try object.encode(m.callsPerSecond, forKey: "calls_per_second")
            try object.encode(m.latency.p50, forKey: "p50_ns")
            try object.encode(m.latency.p99, forKey: "p99_ns")
            try object.encode(m.latency.mean, forKey: "mean_ns")
            try object.encode(m.calls, forKey: "calls")
            try object.encode(m.faults, forKey: "faults")
            try object.encode(m.batch, forKey: "latency_batch")
        case .skipped(let reason):
            try object.encode(false, forKey: "available")
            try object.encode(reason, forKey: "reason")
        }
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: BenchKey.self)
        // Peers' cells carry no `available`: they are measured figures.
        guard try object.decodeIfPresent(Bool.self, forKey: "available") ?? true else {
            self = .skipped(try object.decodeIfPresent(String.self, forKey: "reason") ?? "not measured")
            return
        }
        func number(_ key: BenchKey) throws -> Double? { try object.decodeIfPresent(Double.self, forKey: key) }
        let calls = try number("calls").map { Int($0) } ?? 0
        let latency = LatencySummary(count: calls, p50: try number("p50_ns") ?? .nan, p99: try number("p99_ns") ?? .nan,
                                     mean: try number("mean_ns") ?? .nan, max: try number("p99_ns") ?? .nan)
        self = .measured(WorkloadFigures(callsPerSecond: try number("calls_per_second") ?? .nan, latency: latency,
                                         calls: calls, batch: try number("latency_batch").map { Int($0) } ?? 1,
                                         faults: try number("faults").map { Int($0) } ?? 0))
    }
}

/// Crash recovery: from the fault to the outcome delivered, and to the capacity restored.
public struct Recovery: Sendable {
    /// What was timed, in words.
    public var method: String
    /// From the call of a faulting input to its outcome in the caller's hands.
    public var outcome: LatencySummary
    /// From the same start until the capacity is back (a replacement worker
    /// ready); equal to `outcome` where nothing has to be restored.
    public var restored: LatencySummary

    /// A recovery figure.
    public init(method: String, outcome: LatencySummary, restored: LatencySummary) {
        self.method = method
        self.outcome = outcome
        self.restored = restored
    }
}

/// One strategy of the bench: its workloads, its recovery, and extra figures.
public struct StrategyFigures: Codable, Sendable {
    /// `direct`, `guard`, `fork`, `pool`, `fork_server`.
    public var name: String
    /// Why the whole row is missing, or nil when it was measured.
    public var unavailable: String?
    /// Workload name → figures, in table order.
    public var workloads: [(String, WorkloadCell)] = []
    /// Crash recovery, where it applies.
    public var recovery: Recovery?
    /// Why there is no recovery figure.
    public var recoveryNote: String?
    /// More figures, in JSON form.
    public var extras: [(String, JSON)] = []

    /// The table order of the strategies.
    public static let tableOrder = ["direct", "guard", "fork", "pool", "fork_server"]

    /// A row to fill.
    public init(name: String, unavailable: String? = nil) {
        self.name = name
        self.unavailable = unavailable
    }

    /// A row that could not be measured.
    public static func notAvailable(_ name: String, _ reason: String) -> StrategyFigures {
        StrategyFigures(name: name, unavailable: reason)
    }

    /// The figures of one workload, when measured.
    public func measurement(_ workload: String) -> WorkloadFigures? {
        workloads.first { $0.0 == workload }?.1.measurement
    }

    /// A number among the extras, when present.
    public func extraNumber(_ key: String) -> Double? {
        extras.first(where: { $0.0 == key })?.1.numberValue
    }

    /// Names in table order, unknown ones after the known ones, by name.
    static func order(_ names: [String]) -> [String] {
        names.sorted { (tableOrder.firstIndex(of: $0) ?? Int.max, $0) < (tableOrder.firstIndex(of: $1) ?? Int.max, $1) }
    }

    /// The keys this type writes itself; every other key of a strategy object is an extra.
    private static let ownKeys: Set<String> = [
        "available", "reason", "calls_per_second", "p50_ns", "p99_ns", "recovery_p50_ns", "recovery_p99_ns",
        "recovery_outcome_p50_ns", "recovery_outcome_p99_ns", "recovery_method", "recovery_samples", "recovery_note", "workloads",
    ]

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: BenchKey.self)
        if let unavailable {
            try object.encode(false, forKey: "available")
            try object.encode(unavailable, forKey: "reason")
            for key: BenchKey in ["calls_per_second", "p50_ns", "p99_ns", "recovery_p50_ns", "recovery_p99_ns"] {
                try object.encodeNil(forKey: key)
            }
            return
        }
        let identity = measurement("identity")
        try object.encode(true, forKey: "available")
        try object.encode(identity?.callsPerSecond, forKey: "calls_per_second")
        try object.encode(identity?.latency.p50, forKey: "p50_ns")
        try object.encode(identity?.latency.p99, forKey: "p99_ns")
        try object.encode(recovery?.restored.p50, forKey: "recovery_p50_ns")
        try object.encode(recovery?.restored.p99, forKey: "recovery_p99_ns")
        try object.encode(recovery?.outcome.p50, forKey: "recovery_outcome_p50_ns")
        try object.encode(recovery?.outcome.p99, forKey: "recovery_outcome_p99_ns")
        if let recovery {
            try object.encode(recovery.method, forKey: "recovery_method")
            try object.encode(recovery.outcome.count, forKey: "recovery_samples")
        } else if let recoveryNote {
            try object.encode(recoveryNote, forKey: "recovery_note")
        }
        var cells = object.nestedContainer(keyedBy: BenchKey.self, forKey: "workloads")
        for (name, cell) in workloads { try cells.encode(cell, forKey: BenchKey(name)) }
        for (key, value) in extras { try object.encode(value, forKey: BenchKey(key)) }
    }

    /// Reads a row back; its `name` is the key it was found under (set by ``BenchReport``).
    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: BenchKey.self)
        name = decoder.codingPath.last?.stringValue ?? ""
        guard try object.decode(Bool.self, forKey: "available") else {
            unavailable = try object.decodeIfPresent(String.self, forKey: "reason") ?? "not available"
            return
        }
        let cells = try object.nestedContainer(keyedBy: BenchKey.self, forKey: "workloads")
        workloads = try Workloads.order(cells.allKeys.map(\.stringValue)).map {
            ($0, try cells.decode(WorkloadCell.self, forKey: BenchKey($0)))
        }
        func number(_ key: BenchKey) throws -> Double? { try object.decodeIfPresent(Double.self, forKey: key) }
        if let method = try object.decodeIfPresent(String.self, forKey: "recovery_method"),
           let outcome = LatencySummary.read(p50: try number("recovery_outcome_p50_ns"), p99: try number("recovery_outcome_p99_ns"),
                                             samples: try number("recovery_samples").map { Int($0) }),
           let restored = LatencySummary.read(p50: try number("recovery_p50_ns"), p99: try number("recovery_p99_ns"),
                                              samples: try number("recovery_samples").map { Int($0) }) {
            recovery = Recovery(method: method, outcome: outcome, restored: restored)
        }
        recoveryNote = try object.decodeIfPresent(String.self, forKey: "recovery_note")
        extras = try object.allKeys.filter { !Self.ownKeys.contains($0.stringValue) }
            .sorted { $0.stringValue < $1.stringValue }
            .map { ($0.stringValue, try object.decode(JSON.self, forKey: $0)) }
    }
}

/// The names of the bench's workloads, in table order.
public enum Workloads {
    /// `identity`, then the mixed workloads.
    public static let tableOrder = ["identity", "mixed_5", "mixed_25"]

    /// Names in table order, unknown ones after the known ones, by name.
    static func order(_ names: [String]) -> [String] {
        names.sorted { (tableOrder.firstIndex(of: $0) ?? Int.max, $0) < (tableOrder.firstIndex(of: $1) ?? Int.max, $1) }
    }
}

/// The C floors, in nanoseconds per operation (medians over rounds).
public struct Floors: Codable, Sendable {
    /// A plain call of `fl_identity` through a volatile pointer.
    public var plainCall: Double?
    /// sigsetjmp + call.
    public var sigsetjmpCall: Double?
    /// fl_guard_call in a C loop, non-faulting.
    public var guardCall: Double?
    /// Caught SIGSEGV + siglongjmp, no backtrace (per-fault samples).
    public var faultLongjmp: LatencySummary?
    /// The same with a libunwind backtrace.
    public var faultLongjmpBacktrace: LatencySummary?
    /// fork + _exit + waitpid (per-fork samples).
    public var forkWaitpid: LatencySummary?
    /// A 4-byte round trip to a persistent echo process over pipes.
    public var pipeRoundTrip: LatencySummary?
    /// A waiting forked child faults: from "go" to the parent seeing its death.
    public var faultDeath: LatencySummary?

    /// No floor measured yet.
    public init() {}

    /// The summaries, by JSON name, in order.
    private var summaries: [(String, LatencySummary?)] {
        [("fault_longjmp", faultLongjmp), ("fault_longjmp_backtrace", faultLongjmpBacktrace), ("fork_waitpid", forkWaitpid),
         ("pipe_round_trip", pipeRoundTrip), ("fault_death", faultDeath)]
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: BenchKey.self)
        try object.encode(plainCall, forKey: "plain_call_ns")
        try object.encode(sigsetjmpCall, forKey: "sigsetjmp_call_ns")
        try object.encode(guardCall, forKey: "guard_call_c_ns")
        for (name, summary) in summaries { try object.encode(summary?.p50, forKey: BenchKey(name + "_ns")) }
        for (name, summary) in summaries {
            var figures = object.nestedContainer(keyedBy: BenchKey.self, forKey: BenchKey(name))
            try figures.encode(summary?.p50, forKey: "p50_ns")
            try figures.encode(summary?.p99, forKey: "p99_ns")
            try figures.encode(summary?.mean, forKey: "mean_ns")
            try figures.encode(summary?.count ?? 0, forKey: "samples")
        }
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: BenchKey.self)
        plainCall = try object.decodeIfPresent(Double.self, forKey: "plain_call_ns")
        sigsetjmpCall = try object.decodeIfPresent(Double.self, forKey: "sigsetjmp_call_ns")
        guardCall = try object.decodeIfPresent(Double.self, forKey: "guard_call_c_ns")
        func summary(_ name: String) throws -> LatencySummary? {
            guard object.contains(BenchKey(name)) else { return nil }
            let figures = try object.nestedContainer(keyedBy: BenchKey.self, forKey: BenchKey(name))
            return LatencySummary.read(p50: try figures.decodeIfPresent(Double.self, forKey: "p50_ns"),
                                       p99: try figures.decodeIfPresent(Double.self, forKey: "p99_ns"),
                                       mean: try figures.decodeIfPresent(Double.self, forKey: "mean_ns"),
                                       samples: try figures.decodeIfPresent(Int.self, forKey: "samples"))
        }
        faultLongjmp = try summary("fault_longjmp")
        faultLongjmpBacktrace = try summary("fault_longjmp_backtrace")
        forkWaitpid = try summary("fork_waitpid")
        pipeRoundTrip = try summary("pipe_round_trip")
        faultDeath = try summary("fault_death")
    }
}

/// Per-call fork cost in one parent process.
public struct ForkFigures: Codable, Sendable {
    /// Resident bytes of the parent while measuring.
    public var parentResidentBytes: Int?
    /// Raw fork + waitpid, p50 ns.
    public var forkWaitpid: LatencySummary?
    /// ForkStrategy on `fl_identity`, p50 ns per call.
    public var forkStrategy: LatencySummary?
    /// ForkServerStrategy on `fl_identity`, when available.
    public var forkServer: LatencySummary?
    /// Why the fork-server figure is missing.
    public var forkServerNote: String?

    /// The figures of one parent.
    public init(parentResidentBytes: Int? = nil, forkWaitpid: LatencySummary? = nil, forkStrategy: LatencySummary? = nil,
                forkServer: LatencySummary? = nil, forkServerNote: String? = nil) {
        self.parentResidentBytes = parentResidentBytes
        self.forkWaitpid = forkWaitpid
        self.forkStrategy = forkStrategy
        self.forkServer = forkServer
        self.forkServerNote = forkServerNote
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: BenchKey.self)
        try object.encode(parentResidentBytes, forKey: "parent_rss_bytes")
        try object.encode(forkWaitpid?.p50, forKey: "fork_waitpid_p50_ns")
        try object.encode(forkWaitpid?.p99, forKey: "fork_waitpid_p99_ns")
        try object.encode(forkStrategy?.p50, forKey: "fork_p50_ns")
        try object.encode(forkStrategy?.p99, forKey: "fork_p99_ns")
        try object.encode(forkServer?.p50, forKey: "fork_server_p50_ns")
        try object.encode(forkServer?.p99, forKey: "fork_server_p99_ns")
        if let forkServerNote { try object.encode(forkServerNote, forKey: "fork_server_note") }
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: BenchKey.self)
        func summary(_ prefix: String) throws -> LatencySummary? {
            LatencySummary.read(p50: try object.decodeIfPresent(Double.self, forKey: BenchKey(prefix + "_p50_ns")),
                                p99: try object.decodeIfPresent(Double.self, forKey: BenchKey(prefix + "_p99_ns")))
        }
        parentResidentBytes = try object.decodeIfPresent(Int.self, forKey: "parent_rss_bytes")
        forkWaitpid = try summary("fork_waitpid")
        forkStrategy = try summary("fork")
        forkServer = try summary("fork_server")
        forkServerNote = try object.decodeIfPresent(String.self, forKey: "fork_server_note")
    }
}

/// Fork with a small parent (the bench itself) and a large one (a child that touched N bytes).
public struct ForkCost: Codable, Sendable {
    /// In the bench process.
    public var small = ForkFigures()
    /// In the large-parent probe, or nil with `largeNote`.
    public var large: ForkFigures?
    /// How many bytes the large parent allocated and touched.
    public var largeParentBytes: Int = 0
    /// Why the large-parent figures are missing.
    public var largeNote: String?

    /// Nothing measured yet.
    public init() {}

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: BenchKey.self)
        try object.encode(small, forKey: "small_parent")
        try object.encode(largeParentBytes, forKey: "large_parent_bytes")
        if let large {
            try object.encode(large, forKey: "large_parent")
        } else {
            var missing = object.nestedContainer(keyedBy: BenchKey.self, forKey: "large_parent")
            try missing.encode(false, forKey: "available")
            try missing.encode(largeNote ?? "not measured", forKey: "reason")
        }
        try object.encode(benchRatio(large?.forkStrategy?.p50, small.forkStrategy?.p50), forKey: "large_over_small_fork")
        try object.encode(benchRatio(large?.forkServer?.p50, small.forkStrategy?.p50), forKey: "large_fork_server_over_small_fork")
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: BenchKey.self)
        small = try object.decode(ForkFigures.self, forKey: "small_parent")
        largeParentBytes = try object.decode(Int.self, forKey: "large_parent_bytes")
        let large = try object.nestedContainer(keyedBy: BenchKey.self, forKey: "large_parent")
        if try large.decodeIfPresent(Bool.self, forKey: "available") == false {
            largeNote = try large.decodeIfPresent(String.self, forKey: "reason")
        } else {
            self.large = try object.decode(ForkFigures.self, forKey: "large_parent")
        }
    }
}

/// Resident memory, in bytes.
public struct ResidentMemory: Codable, Sendable {
    /// VmHWM of the bench process (the supervisor of the pool rows).
    public var supervisorPeak: Int?
    /// VmRSS of the bench process at the end.
    public var supervisorCurrent: Int?
    /// The largest VmHWM among the pool's workers.
    public var workerPeak: Int?
    /// The sum of the workers' VmHWM.
    public var workersTotal: Int?
    /// How many workers were looked at.
    public var workerCount: Int = 0
    /// VmHWM of the pool's helper process (the one that forks the workers).
    public var helperPeak: Int?
    /// Why the worker figures are missing.
    public var workerNote: String?

    /// Nothing measured yet.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case supervisorPeak = "supervisor_peak_bytes", supervisorCurrent = "supervisor_current_bytes"
        case workerPeak = "worker_peak_bytes", workersTotal = "workers_total_peak_bytes", workerCount = "workers"
        case helperPeak = "helper_peak_bytes", workerNote = "worker_note"
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: CodingKeys.self)
        try object.encode(supervisorPeak, forKey: .supervisorPeak)
        try object.encode(supervisorCurrent, forKey: .supervisorCurrent)
        try object.encode(workerPeak, forKey: .workerPeak)
        try object.encode(workersTotal, forKey: .workersTotal)
        try object.encode(workerCount, forKey: .workerCount)
        try object.encode(helperPeak, forKey: .helperPeak)
        if let workerNote { try object.encode(workerNote, forKey: .workerNote) }
    }
}

/// The Python peers: what a Python program gets on the same library.
public struct PeerReport: Codable, Sendable {
    /// `Python 3.x.y`, or nil when there is no python3.
    public var python: String?
    /// Why nothing was measured.
    public var unavailable: String?
    /// Peer name → workload name → figures, in table order. A peer that could
    /// not run has one workload `*`, skipped with the reason.
    public var peers: [(String, [(String, WorkloadCell)])] = []

    /// The peers, in table order.
    public static let tableOrder = ["pebble", "process_pool_executor", "python_fork"]

    /// Nothing measured yet.
    public init() {}

    /// The figures of one peer on one workload.
    public func measurement(_ peer: String, _ workload: String) -> WorkloadFigures? {
        peers.first { $0.0 == peer }?.1.first { $0.0 == workload }?.1.measurement
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: BenchKey.self)
        try object.encode(unavailable == nil, forKey: "available")
        try object.encode(python, forKey: "python")
        if let unavailable { try object.encode(unavailable, forKey: "reason") }
        for (peer, workloads) in peers {
            var figures = object.nestedContainer(keyedBy: BenchKey.self, forKey: BenchKey(peer))
            if workloads.count == 1, workloads[0].0 == "*", case .skipped(let reason) = workloads[0].1 {
                try figures.encode(false, forKey: "available")
                try figures.encode(reason, forKey: "reason")
                continue
            }
            let identity = workloads.first { $0.0 == "identity" }?.1.measurement
            try figures.encode(true, forKey: "available")
            try figures.encode(identity?.callsPerSecond, forKey: "calls_per_second")
            try figures.encode(identity?.latency.p50, forKey: "p50_ns")
            try figures.encode(identity?.latency.p99, forKey: "p99_ns")
            var cells = figures.nestedContainer(keyedBy: BenchKey.self, forKey: "workloads")
            for (name, cell) in workloads { try cells.encode(cell, forKey: BenchKey(name)) }
        }
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: BenchKey.self)
        python = try object.decodeIfPresent(String.self, forKey: "python")
        if try object.decode(Bool.self, forKey: "available") == false {
            unavailable = try object.decodeIfPresent(String.self, forKey: "reason") ?? "not available"
        }
        let names = object.allKeys.map(\.stringValue).filter { !["available", "python", "reason"].contains($0) }
        for name in names.sorted(by: { (Self.tableOrder.firstIndex(of: $0) ?? Int.max, $0) < (Self.tableOrder.firstIndex(of: $1) ?? Int.max, $1) }) {
            let figures = try object.nestedContainer(keyedBy: BenchKey.self, forKey: BenchKey(name))
            guard try figures.decode(Bool.self, forKey: "available") else {
                peers.append((name, [("*", .skipped(try figures.decodeIfPresent(String.self, forKey: "reason") ?? "not available"))]))
                continue
            }
            let cells = try figures.nestedContainer(keyedBy: BenchKey.self, forKey: "workloads")
            peers.append((name, try Workloads.order(cells.allKeys.map(\.stringValue)).map {
                ($0, try cells.decode(WorkloadCell.self, forKey: BenchKey($0)))
            }))
        }
    }
}

/// What Faultline's way of loading libunwind saves C++: the cost of one
/// throw/catch with libunwind confined (RTLD_LOCAL) against bound process-wide.
public struct UnwinderFigures: Codable, Sendable {
    /// Nanoseconds per throw/catch with libunwind confined (RTLD_LOCAL).
    public var confinedThrowNs: Double?
    /// Nanoseconds per throw/catch with libunwind bound process-wide.
    public var globalThrowNs: Double?
    /// The object `_Unwind_RaiseException` resolves to with libunwind confined.
    public var confinedUnwinder: String?
    /// The object `_Unwind_RaiseException` resolves to with libunwind bound process-wide.
    public var globalUnwinder: String?
    /// Why a figure is missing.
    public var note: String?

    /// Nothing measured yet.
    public init() {}

    /// global / confined.
    public var ratio: Double? { benchRatio(globalThrowNs, confinedThrowNs) }

    private enum CodingKeys: String, CodingKey {
        case confinedThrowNs = "confined_throw_ns", globalThrowNs = "global_throw_ns", ratio = "global_vs_confined"
        case confinedUnwinder = "confined_unwinder", globalUnwinder = "global_unwinder", note
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: CodingKeys.self)
        try object.encode(confinedThrowNs, forKey: .confinedThrowNs)
        try object.encode(globalThrowNs, forKey: .globalThrowNs)
        try object.encode(ratio, forKey: .ratio)
        try object.encode(confinedUnwinder, forKey: .confinedUnwinder)
        try object.encode(globalUnwinder, forKey: .globalUnwinder)
        try object.encode(note, forKey: .note)
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: CodingKeys.self)
        confinedThrowNs = try object.decodeIfPresent(Double.self, forKey: .confinedThrowNs)
        globalThrowNs = try object.decodeIfPresent(Double.self, forKey: .globalThrowNs)
        confinedUnwinder = try object.decodeIfPresent(String.self, forKey: .confinedUnwinder)
        globalUnwinder = try object.decodeIfPresent(String.self, forKey: .globalUnwinder)
        note = try object.decodeIfPresent(String.self, forKey: .note)
    }
}

/// One performance target, judged on the figures of one run (medians), with
/// pass/fail and, where a target is missed, by how much.
public struct Target: Codable, Sendable {
    /// A stable key, e.g. `guard_call_vs_plain`.
    public var name: String
    /// The target in words, e.g. `guard non-faulting call ≤ 3× plain call`.
    public var description: String
    /// The measured figure (a ratio, nanoseconds or calls per second), nil when it could not be measured.
    public var measured: Double?
    /// `ratio`, `ns` or `calls/s`.
    public var unit: String
    /// The limit the figure is held to.
    public var limit: Double
    /// True when the figure must stay at or below the limit, false when at or above.
    public var atMost: Bool
    /// How the figure was obtained (the two numbers behind a ratio, for instance).
    public var detail: String
    /// Why there is no figure, or a caveat.
    public var note: String?
    /// Where the cost was found when this target was profiled (shown only when it fails).
    public var profile: String?

    /// A target and its figure.
    public init(name: String, description: String, measured: Double?, unit: String, limit: Double, atMost: Bool,
                detail: String, note: String? = nil, profile: String? = nil) {
        self.name = name
        self.description = description
        self.measured = measured
        self.unit = unit
        self.limit = limit
        self.atMost = atMost
        self.detail = detail
        self.note = note
        self.profile = profile
    }

    /// True or false once measured; nil when not measured.
    public var pass: Bool? {
        guard let measured else { return nil }
        return atMost ? measured <= limit : measured >= limit
    }

    /// measured / limit: below 1 is good for an "at most" target, above 1 for an "at least" one.
    public var fractionOfLimit: Double? { measured.map { $0 / limit } }

    /// `passes`, or by how much it misses, e.g. `misses: 2.41× the limit`.
    public var verdict: String {
        guard let pass, let fraction = fractionOfLimit else { return "not measured" }
        if pass { return "passes" }
        return atMost
            ? "misses: \(showNumber(fraction))× over the limit"
            : "misses: \(showNumber(fraction)) of the limit (needs \(showNumber(1 / fraction))× more)"
    }

    private enum CodingKeys: String, CodingKey {
        case name, description, measured, unit, limit, comparison, pass, fractionOfLimit = "fraction_of_limit", verdict, detail, note
        case profile = "profile_note"
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: CodingKeys.self)
        try object.encode(name, forKey: .name)
        try object.encode(description, forKey: .description)
        try object.encode(measured, forKey: .measured)
        try object.encode(unit, forKey: .unit)
        try object.encode(limit, forKey: .limit)
        try object.encode(atMost ? "<=" : ">=", forKey: .comparison)
        try object.encode(pass, forKey: .pass)
        try object.encode(fractionOfLimit, forKey: .fractionOfLimit)
        try object.encode(verdict, forKey: .verdict)
        try object.encode(detail, forKey: .detail)
        if let note { try object.encode(note, forKey: .note) }
        if pass == false, let profile { try object.encode(profile, forKey: .profile) }
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: CodingKeys.self)
        name = try object.decode(String.self, forKey: .name)
        description = try object.decode(String.self, forKey: .description)
        measured = try object.decodeIfPresent(Double.self, forKey: .measured)
        unit = try object.decode(String.self, forKey: .unit)
        limit = try object.decode(Double.self, forKey: .limit)
        atMost = try object.decode(String.self, forKey: .comparison) == "<="
        detail = try object.decode(String.self, forKey: .detail)
        note = try object.decodeIfPresent(String.self, forKey: .note)
        profile = try object.decodeIfPresent(String.self, forKey: .profile)
    }
}

/// `a / b`, or nil when either is missing or b is zero.
public func benchRatio(_ a: Double?, _ b: Double?) -> Double? {
    guard let a, let b, b != 0 else { return nil }
    return a / b
}

/// `12.3 ns`, `4.56 µs`, `1.23 ms`, or `n/a`.
public func showNs(_ value: Double?) -> String {
    guard let value else { return "n/a" }
    if value < 1_000 { return "\(showNumber(value)) ns" }
    if value < 1_000_000 { return "\(showNumber(value / 1_000)) µs" }
    if value < 1_000_000_000 { return "\(showNumber(value / 1_000_000)) ms" }
    return "\(showNumber(value / 1_000_000_000)) s"
}

/// `1.23M/s`, `45.6k/s`, or `n/a`.
public func showRate(_ value: Double?) -> String {
    guard let value else { return "n/a" }
    if value >= 1_000_000 { return "\(showNumber(value / 1_000_000))M/s" }
    if value >= 1_000 { return "\(showNumber(value / 1_000))k/s" }
    return "\(showNumber(value))/s"
}

/// Three significant digits, or `n/a`.
public func showNumber(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "n/a" }
    let magnitude = abs(value)
    let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    if decimals == 0 { return String(Int64(rounded)) }
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) - 1 < decimals {
        text += String(repeating: "0", count: decimals - (text.distance(from: dot, to: text.endIndex) - 1))
    }
    return text
}
