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
