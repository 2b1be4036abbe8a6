/// One value that crosses a native call: a C scalar, a string or a buffer.
///
/// A returned value carries the C type it was returned as (`.int64`, `.double`…),
/// so that a 64-bit integer stays exact and a `float` stays a `float`.
/// Arguments use the same cases: `string` for a `const char *` parameter,
/// `bytes` for a `const void *, size_t` pair. An output buffer comes back as
/// `.string` (an `out_string` that holds UTF-8 up to its first NUL) or
/// `.bytes` (an `out_bytes`, or an `out_string` that is not UTF-8).
///
/// ```swift
/// let outcome = try GuardStrategy(function).call(arguments: [.double(1.5), .string("abc")])
/// if case .returned(.double(let x), _) = outcome { print(x) }
/// ```
public enum Value: Hashable, Sendable, CustomStringConvertible {
    /// What a `void` function returns.
    case void
    /// C `int8_t`.
    case int8(Int8)
    /// C `int16_t`.
    case int16(Int16)
    /// C `int32_t` (`int`).
    case int32(Int32)
    /// C `int64_t` (`long` on LP64).
    case int64(Int64)
    /// C `uint8_t`.
    case uint8(UInt8)
    /// C `uint16_t`.
    case uint16(UInt16)
    /// C `uint32_t`.
    case uint32(UInt32)
    /// C `uint64_t` (`size_t` on LP64).
    case uint64(UInt64)
    /// C `float`.
    case float(Float)
    /// C `double`.
    case double(Double)
    /// C `_Bool`.
    case bool(Bool)
    /// Text: a `const char *` argument (no NUL inside), or an `out_string` result.
    case string(String)
    /// Raw bytes: a `const void *, size_t` argument, or an output buffer.
    case bytes([UInt8])

    /// The value as a signed 64-bit integer, when it is an integer that fits.
    public var integer: Int64? {
        switch self {
        case .int8(let v): Int64(v)
        case .int16(let v): Int64(v)
        case .int32(let v): Int64(v)
        case .int64(let v): v
        case .uint8(let v): Int64(v)
        case .uint16(let v): Int64(v)
        case .uint32(let v): Int64(v)
        case .uint64(let v): Int64(exactly: v)
        default: nil
        }
    }

    /// The value's JSON form in `faultline call` output: integers exact,
    /// floats in their shortest round-tripping form (`"inf"`, `"-inf"` and
    /// `"nan"` as strings), `true`/`false`, `null` for `void`, a string for
    /// text, and `{"base64":"…"}` for bytes.
    public var json: String {
        switch self {
        case .void: "null"
        case .int8(let v): String(v)
        case .int16(let v): String(v)
        case .int32(let v): String(v)
        case .int64(let v): String(v)
        case .uint8(let v): String(v)
        case .uint16(let v): String(v)
        case .uint32(let v): String(v)
        case .uint64(let v): String(v)
        case .float(let v): Self.jsonNumber(v.isFinite ? v.description : nil, nonFinite: Double(v))
        case .double(let v): Self.jsonNumber(v.isFinite ? v.description : nil, nonFinite: v)
        case .bool(let v): v ? "true" : "false"
        case .string(let text): JSONText.quoted(text)
        case .bytes(let bytes): "{\"base64\":\"\(Base64.encode(bytes))\"}"
        }
    }

    /// Swift prints finite floats as valid JSON numbers (`1.5`, `1e-07`);
    /// non-finite ones become the strings the contract names.
    private static func jsonNumber(_ finite: String?, nonFinite value: Double) -> String {
        if let finite { return finite }
        if value.isNaN { return "\"nan\"" }
        return value > 0 ? "\"inf\"" : "\"-inf\""
    }

    /// `int32 4`, `double 1.5`, `string "abc"`, `bytes (3)`.
    public var description: String {
        switch self {
        case .void: "void"
        case .string(let text): "string \(JSONText.quoted(text))"
        case .bytes(let bytes): "bytes (\(bytes.count))"
        default: "\(typeName) \(json)"
        }
    }

    /// The scalar type of this value, nil for void, strings and bytes.
    var scalarType: ScalarType? {
        switch self {
        case .int8: .int8
        case .int16: .int16
        case .int32: .int32
        case .int64: .int64
        case .uint8: .uint8
        case .uint16: .uint16
        case .uint32: .uint32
        case .uint64: .uint64
        case .float: .float
        case .double: .double
        case .bool: .bool
        case .void, .string, .bytes: nil
        }
    }

    /// The grammar's name of this value's type (`int32`, `string`…).
    public var typeName: String {
        switch self {
        case .void: "void"
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .uint8: "uint8"
        case .uint16: "uint16"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .float: "float"
        case .double: "double"
        case .bool: "bool"
        case .string: "string"
        case .bytes: "bytes"
        }
    }
}

/// Standard base64 (RFC 4648, with padding), without Foundation.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes `bytes`.
    package static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let n = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
            out += rest == 2 ? [alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")] : [UInt8(ascii: "="), UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard base64 with padding; `nil` when `text` is not valid base64.
    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            var n: UInt32 = 0
            var padding = 0
            for k in 0..<4 {
                let c = input[index + k]
                let digit: UInt32
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = UInt32(c - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = UInt32(c - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): digit = 62
                case UInt8(ascii: "/"): digit = 63
                case UInt8(ascii: "=") where index + 4 == input.count && k >= 2:
                    digit = 0
                    padding += 1
                default: return nil
                }
                if padding > 0 && c != UInt8(ascii: "=") { return nil } // data after padding
                n = n << 6 | digit
            }
            out.append(UInt8(n >> 16 & 0xff))
            if padding < 2 { out.append(UInt8(n >> 8 & 0xff)) }
            if padding < 1 { out.append(UInt8(n & 0xff)) }
            index += 4
        }
        return out
    }
}
