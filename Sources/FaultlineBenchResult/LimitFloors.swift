/// The floors at the limit of the machine: what `faultline-floors`, a minimal
/// C process, measured (see Sources/FaultlineFloors/main.c for what each figure
/// is the floor of). Unlike ``Floors``, measured inside the bench's own large
/// Swift process, these are what the mechanisms cost a small process.
///
/// In JSON: `available`, `reason` (absent when available), `iterations`, then one
/// object per figure (`p50_ns`, `p99_ns`), absent when not measured, and
/// `fork_crash_unwind` (`per_second`), the pool's crash floor, a rate.
public struct LimitFloors: Codable, Sendable, Equatable {
    /// The median and the 99th percentile of one figure, in nanoseconds.
    public struct Figure: Codable, Sendable, Equatable {
        /// The median, in nanoseconds.
        public var p50: Double
        /// The 99th percentile, in nanoseconds.
        public var p99: Double

        /// A figure from its two percentiles.
        public init(p50: Double, p99: Double) {
            self.p50 = p50
            self.p99 = p99
        }

        private enum CodingKeys: String, CodingKey {
            case p50 = "p50_ns"
            case p99 = "p99_ns"
        }
    }

    /// Whether every figure was measured.
    public var available: Bool
    /// Why not, when ``available`` is false.
    public var reason: String?
    /// Samples per figure (0 when unknown).
    public var iterations: Int
    /// fork; the child calls a trivial function and `_exit(0)`s; waitpid.
    public var forkCallExitWaitpid: Figure?
    /// The same with vfork (reference only).
    public var vforkExitWaitpid: Figure?
    /// From "go" to a waiting forked child to the parent having seen it die of SIGSEGV.
    public var faultSeenByParent: Figure?
    /// One FUTEX_WAKE/FUTEX_WAIT round trip between two processes on a shared page.
    public var futexWakeRoundTrip: Figure?
    /// One round trip between two processes over two eventfds.
    public var eventfdRoundTrip: Figure?
    /// A 4-byte message to a forked echo process and back over two pipes.
    public var pipeRoundTrip: Figure?
    /// A caught SIGSEGV and siglongjmp back, in one process.
    public var sigsetjmpFaultLongjmp: Figure?
    /// Crashes per second of two forkers in parallel, one child per crash that faults in
    /// the victims library, walks its stack once with libunwind and `_exit`s: the pool's crash floor.
    public var forkCrashUnwindPerSecond: Double?

    /// The name `faultline-floors` prints the crash floor under (`NAME.per_second V`).
    public static let crashFloorName = "fork_crash_unwind"

    /// The figures' names as `faultline-floors` prints them, in its order.
    public static let names = [
        "fork_call_exit_waitpid", "vfork_exit_waitpid", "fault_seen_by_parent", "futex_wake_round_trip",
        "eventfd_round_trip", "pipe_round_trip", "sigsetjmp_fault_longjmp",
    ]

    /// Floors that could not be measured, and why.
    public static func unavailable(_ reason: String) -> LimitFloors {
        LimitFloors(available: false, reason: reason, iterations: 0)
    }

    /// Floors from their parts (figures default to not measured).
    public init(available: Bool, reason: String? = nil, iterations: Int) {
        self.available = available
        self.reason = reason
        self.iterations = iterations
    }

    /// The figure printed as `name` (one of ``names``); nil when not measured or unknown.
    public subscript(name: String) -> Figure? {
        get {
            switch name {
            case "fork_call_exit_waitpid": forkCallExitWaitpid
            case "vfork_exit_waitpid": vforkExitWaitpid
            case "fault_seen_by_parent": faultSeenByParent
            case "futex_wake_round_trip": futexWakeRoundTrip
            case "eventfd_round_trip": eventfdRoundTrip
            case "pipe_round_trip": pipeRoundTrip
            case "sigsetjmp_fault_longjmp": sigsetjmpFaultLongjmp
            default: nil
            }
        }
        set {
            switch name {
            case "fork_call_exit_waitpid": forkCallExitWaitpid = newValue
            case "vfork_exit_waitpid": vforkExitWaitpid = newValue
            case "fault_seen_by_parent": faultSeenByParent = newValue
            case "futex_wake_round_trip": futexWakeRoundTrip = newValue
            case "eventfd_round_trip": eventfdRoundTrip = newValue
            case "pipe_round_trip": pipeRoundTrip = newValue
            case "sigsetjmp_fault_longjmp": sigsetjmpFaultLongjmp = newValue
            default: break
            }
        }
    }

    /// Every figure by name, in ``names`` order (the crash floor, a rate, is apart).
    public var figures: [(name: String, figure: Figure?)] { Self.names.map { ($0, self[$0]) } }

    /// Reads the output of `faultline-floors`: `iterations N`, then `NAME.p50_ns V`
    /// and `NAME.p99_ns V` per figure, `fork_crash_unwind.per_second V` (`NAME.error TEXT`
    /// for one that failed). Unknown lines are ignored. Available only when every
    /// figure of ``names`` has both percentiles and the crash floor its rate; otherwise
    /// ``reason`` says what is missing.
    public static func parse(_ output: String) -> LimitFloors {
        var floors = LimitFloors(available: false, iterations: 0)
        var p50: [String: Double] = [:], p99: [String: Double] = [:], errors: [String] = []
        for line in output.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let key = line[..<space], value = line[line.index(after: space)...]
            if key == "iterations" {
                floors.iterations = Int(value) ?? 0
                continue
            }
            guard let dot = key.lastIndex(of: ".") else { continue }
            let name = String(key[..<dot]), field = key[key.index(after: dot)...]
            switch field {
            case "p50_ns": p50[name] = Double(value)
            case "p99_ns": p99[name] = Double(value)
            case "per_second" where name == crashFloorName: floors.forkCrashUnwindPerSecond = Double(value)
            case "error": errors.append("\(name): \(value)")
            default: break
            }
        }
        var missing: [String] = []
        for name in names {
            if let low = p50[name], let high = p99[name] {
                floors[name] = Figure(p50: low, p99: high)
            } else if !errors.contains(where: { $0.hasPrefix(name + ":") }) {
                missing.append(name)
            }
        }
        if floors.forkCrashUnwindPerSecond == nil && !errors.contains(where: { $0.hasPrefix(crashFloorName + ":") }) {
            missing.append(crashFloorName)
        }
        if !missing.isEmpty { errors.append("no figure " + missing.joined(separator: ", ")) }
        floors.available = errors.isEmpty
        floors.reason = errors.isEmpty ? nil : errors.joined(separator: "; ")
        return floors
    }

    private enum CodingKeys: String, CodingKey {
        case available, reason, iterations
        case forkCallExitWaitpid = "fork_call_exit_waitpid"
        case vforkExitWaitpid = "vfork_exit_waitpid"
        case faultSeenByParent = "fault_seen_by_parent"
        case futexWakeRoundTrip = "futex_wake_round_trip"
        case eventfdRoundTrip = "eventfd_round_trip"
        case pipeRoundTrip = "pipe_round_trip"
        case sigsetjmpFaultLongjmp = "sigsetjmp_fault_longjmp"
        case forkCrashUnwind = "fork_crash_unwind"
    }

    private enum RateKeys: String, CodingKey {
        case perSecond = "per_second"
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: CodingKeys.self)
        try object.encode(available, forKey: .available)
        try object.encodeIfPresent(reason, forKey: .reason)
        try object.encode(iterations, forKey: .iterations)
        try object.encodeIfPresent(forkCallExitWaitpid, forKey: .forkCallExitWaitpid)
        try object.encodeIfPresent(vforkExitWaitpid, forKey: .vforkExitWaitpid)
        try object.encodeIfPresent(faultSeenByParent, forKey: .faultSeenByParent)
        try object.encodeIfPresent(futexWakeRoundTrip, forKey: .futexWakeRoundTrip)
        try object.encodeIfPresent(eventfdRoundTrip, forKey: .eventfdRoundTrip)
        try object.encodeIfPresent(pipeRoundTrip, forKey: .pipeRoundTrip)
        try object.encodeIfPresent(sigsetjmpFaultLongjmp, forKey: .sigsetjmpFaultLongjmp)
        if let forkCrashUnwindPerSecond {
            var rate = object.nestedContainer(keyedBy: RateKeys.self, forKey: .forkCrashUnwind)
            try rate.encode(forkCrashUnwindPerSecond, forKey: .perSecond)
        }
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: CodingKeys.self)
        available = try object.decode(Bool.self, forKey: .available)
        reason = try object.decodeIfPresent(String.self, forKey: .reason)
        iterations = try object.decode(Int.self, forKey: .iterations)
        forkCallExitWaitpid = try object.decodeIfPresent(Figure.self, forKey: .forkCallExitWaitpid)
        vforkExitWaitpid = try object.decodeIfPresent(Figure.self, forKey: .vforkExitWaitpid)
        faultSeenByParent = try object.decodeIfPresent(Figure.self, forKey: .faultSeenByParent)
        futexWakeRoundTrip = try object.decodeIfPresent(Figure.self, forKey: .futexWakeRoundTrip)
        eventfdRoundTrip = try object.decodeIfPresent(Figure.self, forKey: .eventfdRoundTrip)
        pipeRoundTrip = try object.decodeIfPresent(Figure.self, forKey: .pipeRoundTrip)
        sigsetjmpFaultLongjmp = try object.decodeIfPresent(Figure.self, forKey: .sigsetjmpFaultLongjmp)
        if object.contains(.forkCrashUnwind) {
            let rate = try object.nestedContainer(keyedBy: RateKeys.self, forKey: .forkCrashUnwind)
            forkCrashUnwindPerSecond = try rate.decodeIfPresent(Double.self, forKey: .perSecond)
        }
    }
}
