/// The JSON form of an outcome is part of the `faultline call` contract:
/// the keys `outcome`, `value`, `out`, `signal`, `signo`, `address`, `backtrace`,
/// `status`, `seconds` and `detail` and their values do not change. `code`, `frames`,
/// `truncated`, `access`, `message`, `stack_pointer` and `cut_at_call` are extra
/// keys that make the form round-trip; `severity` and `bucket` are computed from
/// the rest (written, never read).
///
/// JSON does not say a value's C type: decoding gives `.int32` for an
/// integer that fits, `.int64`/`.uint64` beyond, `.double` for a fraction,
/// `.void` for `null`, `.string` for text and `.bytes` for `{"base64":…}`.
extension Outcome: Codable {
    enum CodingKeys: String, CodingKey {
        case outcome, value, out, signal, signo, code, address, backtrace, frames, truncated, status, seconds, detail
        case access, message, severity, bucket
        case stackPointer = "stack_pointer"
        case cutAtCall = "cut_at_call"
    }

    /// Writes the `faultline call` form (without `input`).
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .outcome)
        switch self {
        case .returned(let value, let out):
            try container.encode(JSONValue(value), forKey: .value)
            if !out.isEmpty { try container.encode(out.map(JSONValue.init), forKey: .out) }
        case .signaled(let fault):
            try container.encode(fault.signal.name, forKey: .signal)
            try container.encode(fault.signal.rawValue, forKey: .signo)
            try container.encode(fault.code, forKey: .code)
            try container.encode(fault.address.map { "0x" + String($0, radix: 16) }, forKey: .address)
            try container.encode(fault.backtrace.map(\.description), forKey: .backtrace)
            try container.encode(fault.backtrace, forKey: .frames)
            if fault.truncated { try container.encode(true, forKey: .truncated) }
            try container.encode(fault.access, forKey: .access)
            try container.encodeIfPresent(fault.message, forKey: .message)
            try container.encodeIfPresent(fault.stackPointer, forKey: .stackPointer)
            try container.encode(fault.severity, forKey: .severity)
            try container.encode(fault.bucket, forKey: .bucket)
            if fault.cutAtCall { try container.encode(true, forKey: .cutAtCall) }
        case .exited(let status):
            try container.encode(status, forKey: .status)
        case .timedOut(let after):
            try container.encode(after.seconds, forKey: .seconds)
        case .corrupted(let detail):
            try container.encode(detail, forKey: .detail)
        }
    }

    /// Reads the form `encode(to:)` writes, and the JSON lines of `faultline call`.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .outcome) {
        case "returned":
            self = .returned(try container.decode(JSONValue.self, forKey: .value).value,
                             out: try container.decodeIfPresent([JSONValue].self, forKey: .out)?.map(\.value) ?? [])
        case "signaled":
            let address = try container.decodeIfPresent(String.self, forKey: .address)
                .flatMap { UInt64($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) }
            self = .signaled(Fault(
                signal: Signal(try container.decode(Int32.self, forKey: .signo)),
                code: try container.decodeIfPresent(Int32.self, forKey: .code),
                address: address,
                access: try container.decodeIfPresent(Fault.Access.self, forKey: .access),
                message: try container.decodeIfPresent(String.self, forKey: .message),
                stackPointer: try container.decodeIfPresent(UInt64.self, forKey: .stackPointer),
                backtrace: try container.decodeIfPresent([Frame].self, forKey: .frames) ?? [],
                truncated: try container.decodeIfPresent(Bool.self, forKey: .truncated) ?? false,
                cutAtCall: try container.decodeIfPresent(Bool.self, forKey: .cutAtCall) ?? false))
        case "exited":
            self = .exited(status: try container.decode(Int32.self, forKey: .status))
        case "timed_out":
            self = .timedOut(.nanoseconds(Int64((try container.decode(Double.self, forKey: .seconds) * 1e9).rounded())))
        case "corrupted":
            self = .corrupted(detail: try container.decode(String.self, forKey: .detail))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .outcome, in: container,
                                                   debugDescription: "unknown outcome \(other)")
        }
    }
}

/// A ``Value`` in its JSON form (see ``Value/json``), for `Codable`.
struct JSONValue: Codable {
    var value: Value

    init(_ value: Value) { self.value = value }

    private enum Base64Key: String, CodingKey { case base64 }

    func encode(to encoder: Encoder) throws {
        switch value {
        case .bytes(let bytes):
            var container = encoder.container(keyedBy: Base64Key.self)
            try container.encode(Base64.encode(bytes), forKey: .base64)
            return
        default: break
        }
        var container = encoder.singleValueContainer()
        switch value {
        case .void: try container.encodeNil()
        case .int8(let v): try container.encode(v)
        case .int16(let v): try container.encode(v)
        case .int32(let v): try container.encode(v)
        case .int64(let v): try container.encode(v)
        case .uint8(let v): try container.encode(v)
        case .uint16(let v): try container.encode(v)
        case .uint32(let v): try container.encode(v)
        case .uint64(let v): try container.encode(v)
        case .float(let v): if v.isFinite { try container.encode(v) } else { try container.encode(Self.nonFinite(Double(v))) }
        case .double(let v): if v.isFinite { try container.encode(v) } else { try container.encode(Self.nonFinite(v)) }
        case .bool(let v): try container.encode(v)
        case .string(let text): try container.encode(text)
        case .bytes: break
        }
    }

    private static func nonFinite(_ v: Double) -> String { v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }

    init(from decoder: Decoder) throws {
        if let object = try? decoder.container(keyedBy: Base64Key.self),
           let text = try? object.decode(String.self, forKey: .base64) {
            guard let bytes = Base64.decode(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid base64"))
            }
            value = .bytes(bytes)
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { value = .void }
        else if let v = try? container.decode(Bool.self) { value = .bool(v) }
        else if let v = try? container.decode(Int32.self) { value = .int32(v) }
        else if let v = try? container.decode(Int64.self) { value = .int64(v) }
        else if let v = try? container.decode(UInt64.self) { value = .uint64(v) }
        else if let v = try? container.decode(Double.self) { value = .double(v) }
        else { value = .string(try container.decode(String.self)) }
    }
}
