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
