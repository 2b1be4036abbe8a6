/// The JSON form of an outcome is part of the `faultline call` contract:
/// the keys `outcome`, `value`, `signal`, `signo`, `address`, `backtrace`,
/// `status` and `seconds` and their values do not change. `code`, `frames`
/// and `truncated` are extra keys that make the form round-trip.
extension Outcome: Codable {
    enum CodingKeys: String, CodingKey {
        case outcome, value, signal, signo, code, address, backtrace, frames, truncated, status, seconds
    }

    /// Writes the `faultline call` form (without `input`).
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .outcome)
        switch self {
        case .returned(let value):
            try container.encode(value, forKey: .value)
        case .signaled(let fault):
            try container.encode(fault.signal.name, forKey: .signal)
            try container.encode(fault.signal.rawValue, forKey: .signo)
            try container.encode(fault.code, forKey: .code)
            try container.encode(fault.address.map { "0x" + String($0, radix: 16) }, forKey: .address)
            try container.encode(fault.backtrace.map(\.description), forKey: .backtrace)
            try container.encode(fault.backtrace, forKey: .frames)
            if fault.truncated { try container.encode(true, forKey: .truncated) }
        case .exited(let status):
            try container.encode(status, forKey: .status)
        case .timedOut(let seconds):
            try container.encode(seconds, forKey: .seconds)
        }
    }

    /// Reads the form `encode(to:)` writes, and the JSON lines of `faultline call`.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .outcome) {
        case "returned":
            self = .returned(try container.decode(Int32.self, forKey: .value))
        case "signaled":
            let address = try container.decodeIfPresent(String.self, forKey: .address)
                .flatMap { UInt64($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) }
            self = .signaled(Fault(
                signal: Signal(try container.decode(Int32.self, forKey: .signo)),
                code: try container.decodeIfPresent(Int32.self, forKey: .code),
                address: address,
                backtrace: try container.decodeIfPresent([Frame].self, forKey: .frames) ?? [],
                truncated: try container.decodeIfPresent(Bool.self, forKey: .truncated) ?? false))
        case "exited":
            self = .exited(status: try container.decode(Int32.self, forKey: .status))
        case "timed_out":
            self = .timedOut(seconds: try container.decode(Double.self, forKey: .seconds))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .outcome, in: container,
                                                   debugDescription: "unknown outcome \(other)")
        }
    }
}
