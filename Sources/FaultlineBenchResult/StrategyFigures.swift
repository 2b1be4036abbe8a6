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
