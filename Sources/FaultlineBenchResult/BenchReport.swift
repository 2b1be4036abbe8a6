/// Everything one `faultline bench` run measured: the one definition of the
/// JSON that `faultline bench --json` writes (``OrderedJSONEncoder``) and the
/// report renderer reads back (Foundation's `JSONDecoder`).
///
/// The JSON object has these keys, in this order:
/// `schema`, `run` (budget, machine), `strategies` (name → figures),
/// `floors`, `fork_cost`, `rss`, `peers`, `unwinder`, `signatures`, `cli`, `sandbox`, `symbolize`, `crash_rate`, `triage`, `targets`. A strategy object always
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
    /// `faultline call` end to end.
    public var cli = CLIFigures()
    /// The sandbox against no sandbox.
    public var sandbox = SandboxFigures()
    /// Source-level naming of frames (SourceSymbolizer).
    public var symbolize = SymbolizeFigures()
    /// The pool's crash rate against its C floor.
    public var crashRate = CrashRateFigures()
    /// `faultline triage` against `faultline call`.
    public var triage = TriageFigures()
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
        try object.encode(cli, forKey: "cli")
        try object.encode(sandbox, forKey: "sandbox")
        try object.encode(symbolize, forKey: "symbolize")
        try object.encode(crashRate, forKey: "crash_rate")
        try object.encode(triage, forKey: "triage")
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
        cli = try object.decodeIfPresent(CLIFigures.self, forKey: "cli") ?? CLIFigures()
        sandbox = try object.decodeIfPresent(SandboxFigures.self, forKey: "sandbox") ?? SandboxFigures()
        symbolize = try object.decodeIfPresent(SymbolizeFigures.self, forKey: "symbolize") ?? SymbolizeFigures()
        crashRate = try object.decodeIfPresent(CrashRateFigures.self, forKey: "crash_rate") ?? CrashRateFigures()
        triage = try object.decodeIfPresent(TriageFigures.self, forKey: "triage") ?? TriageFigures()
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
