/// Why an input could not be read for a signature: a kind, which input value
/// (0-based, among the parameters that take input) when it is about one, and
/// a quote of the offending text (at most 80 characters). ``description``
/// makes the sentence.
///
/// ```swift
/// do { _ = try Signature.default.parseInput("[1.5]") }
/// catch { print(error) }   // input value 0: '1.5' is not an integer (int32 needs one)
/// ```
public struct InputError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Hashable, Sendable {
        /// Not JSON, or not the JSON the contract expects at this point.
        case invalidJSON(JSONProblem)
        /// The array holds `found` values; the signature takes `expected`.
        case wrongCount(expected: Int, found: Int)
        /// The value has the wrong JSON type for a parameter of this type.
        case wrongType(expected: Signature.Parameter)
        /// A number that does not fit the parameter's type (an integer out of
        /// range, or a float beyond the largest finite value).
        case outOfRange(ScalarType)
        /// A fraction or an exponent where an integer is required.
        case fraction(ScalarType)
        /// A string parameter containing U+0000.
        case nulInString
        /// `{"base64": …}` that is not valid base64.
        case invalidBase64
        /// Text after the complete input.
        case trailingGarbage
    }

    /// What the JSON scanner expected and did not find.
    public enum JSONProblem: String, Hashable, Sendable {
        /// The input is not a JSON array (for the default signature: nor an integer).
        case expectedArray = "expected a JSON array of the input values"
        /// No value where one must be.
        case expectedValue = "expected a JSON value"
        /// An array element not followed by `,` or `]`.
        case expectedCommaOrBracket = "expected ',' or ']'"
        /// An object member not followed by `,` or `}`.
        case expectedCommaOrBrace = "expected ',' or '}'"
        /// An object key that is not a string.
        case expectedKey = "expected a string key"
        /// A key not followed by `:`.
        case expectedColon = "expected ':'"
        /// `01`.
        case leadingZero = "leading zero in a number"
        /// `-`, `1.` or `1e` without digits.
        case expectedDigit = "expected a digit"
        /// A string without its closing quote.
        case unterminatedString = "unterminated string"
        /// A backslash escape JSON does not have.
        case unknownEscape = "unknown escape"
        /// `\u` not followed by 4 hex digits.
        case badUnicodeEscape = "expected 4 hex digits after \\u"
        /// A `\ud800`-`\udfff` escape that is not half of a pair.
        case unpairedSurrogate = "unpaired surrogate"
        /// A raw control character (below U+0020) inside a string.
        case controlCharacter = "control character in a string"
        /// Arrays or objects nested more than 64 deep.
        case nestedTooDeeply = "nested too deeply"
    }

    /// What is wrong.
    public let kind: Kind
    /// The input value concerned (0-based among the values of the array), if any.
    public let parameter: Int?
    /// The offending text, at most 80 characters.
    public let quote: String

    /// Creates the error; `quote` is shortened to 80 characters.
    public init(_ kind: Kind, parameter: Int? = nil, quote: some StringProtocol) {
        self.kind = kind
        self.parameter = parameter
        self.quote = Quote.short(quote)
    }

    /// One line, e.g. `input value 1 (uint8): 300 is out of range`.
    public var description: String {
        let at = parameter.map { "input value \($0): " } ?? "input: "
        return switch kind {
        case .invalidJSON(let problem): "\(at)invalid JSON at '\(quote)': \(problem.rawValue)"
        case .wrongCount(let expected, let found): "\(at)expected \(expected) value\(expected == 1 ? "" : "s"), found \(found) in '\(quote)'"
        case .wrongType(.bytes): "\(at)'\(quote)' is not bytes (a JSON string or {\"base64\": \"…\"})"
        case .wrongType(let expected): "\(at)'\(quote)' is not a valid \(expected)"
        case .outOfRange(let type): "\(at)\(quote) is out of range for \(type)"
        case .fraction(let type): "\(at)'\(quote)' is not an integer (\(type) needs one)"
        case .nulInString: "\(at)string '\(quote)' contains U+0000, which a C string cannot hold"
        case .invalidBase64: "\(at)invalid base64 in '\(quote)'"
        case .trailingGarbage: "\(at)unexpected '\(quote)' after the input"
        }
    }
}

extension Signature {
    /// Reads one input: a JSON array of the values of the parameters that take
    /// input, in order. Integers must be exact JSON integers in range; `float`
    /// and `double` take any JSON number (and the strings `"inf"`, `"-inf"`,
    /// `"nan"`); `bool` takes `true`/`false`; `string` a JSON string without
    /// U+0000; `bytes` a JSON string (its UTF-8) or `{"base64":"…"}`. With the
    /// default signature a bare integer is accepted too.
    ///
    /// ```swift
    /// let values = try Signature(parsing: "double(double, string)").parseInput(#"[1.5, "a\u00e9"]"#)
    /// // [.double(1.5), .string("aé")]
    /// ```
    public func parseInput(_ text: some StringProtocol) throws(InputError) -> [Value] {
        var scanner = JSONScanner(Array(text.utf8))
        scanner.skipSpace()
        let inputs = inputParameters
        if self == .default, scanner.peek != UInt8(ascii: "[") {
            let node = try scanner.value(depth: 0)
            try scanner.end()
            guard case .number = node.kind else {
                throw InputError(.wrongType(expected: .scalar(.int32)), parameter: 0, quote: scanner.quote(node))
            }
            return [try convert(node, to: inputs[0], index: 0, scanner: scanner)]
        }
        guard scanner.peek == UInt8(ascii: "[") else {
            throw scanner.invalid(.expectedArray)
        }
        let array = try scanner.value(depth: 0)
        try scanner.end()
        guard case .array(let elements) = array.kind else { throw scanner.invalid(.expectedArray) }
        if elements.count != inputs.count {
            throw InputError(.wrongCount(expected: inputs.count, found: elements.count), quote: scanner.quote(array))
        }
        var values: [Value] = []
        values.reserveCapacity(elements.count)
        for (index, (element, parameter)) in zip(elements, inputs).enumerated() {
            values.append(try convert(element, to: parameter, index: index, scanner: scanner))
        }
        return values
    }

    /// The canonical JSON array of an input (the `"input"` key of the output):
    /// each value's ``Value/json``, so strings are JSON strings and bytes are `{"base64":"…"}`.
    ///
    /// ```swift
    /// Signature.inputJSON([.int32(5), .bytes([1, 2])])   // [5,{"base64":"AQI="}]
    /// ```
    public static func inputJSON(_ values: [Value]) -> String {
        "[" + values.map(\.json).joined(separator: ",") + "]"
    }

    private func convert(_ node: JSONScanner.Node, to parameter: Parameter, index: Int,
                         scanner: JSONScanner) throws(InputError) -> Value {
        let quote = scanner.quote(node)
        switch parameter {
        case .scalar(let type):
            return try Self.scalar(node, type, index: index, quote: quote)
        case .string:
            guard case .string(let bytes) = node.kind else {
                throw InputError(.wrongType(expected: .string), parameter: index, quote: quote)
            }
            if bytes.contains(0) { throw InputError(.nulInString, parameter: index, quote: quote) }
            return .string(String(decoding: bytes, as: UTF8.self))
        case .bytes:
            switch node.kind {
            case .string(let bytes):
                return .bytes(bytes)
            case .object(let members):
                guard members.count == 1, members[0].key == Array("base64".utf8),
                      case .string(let encoded) = members[0].value.kind else {
                    throw InputError(.wrongType(expected: .bytes), parameter: index, quote: quote)
                }
                guard let decoded = Base64.decode(String(decoding: encoded, as: UTF8.self)) else {
                    throw InputError(.invalidBase64, parameter: index, quote: quote)
                }
                return .bytes(decoded)
            default:
                throw InputError(.wrongType(expected: .bytes), parameter: index, quote: quote)
            }
        case .outString, .outBytes:
            preconditionFailure("output buffers take no input")
        }
    }

    private static func scalar(_ node: JSONScanner.Node, _ type: ScalarType, index: Int,
                               quote: String) throws(InputError) -> Value {
        switch type {
        case .bool:
            guard case .bool(let flag) = node.kind else {
                throw InputError(.wrongType(expected: .scalar(type)), parameter: index, quote: quote)
            }
            return .bool(flag)
        case .float, .double:
            let text: String
            switch node.kind {
            case .number(let digits, _):
                text = String(decoding: digits, as: UTF8.self)
            case .string(let bytes) where [Array("inf".utf8), Array("-inf".utf8), Array("nan".utf8)].contains(bytes):
                let word = String(decoding: bytes, as: UTF8.self)
                let special: Double = word == "nan" ? .nan : (word == "inf" ? .infinity : -.infinity)
                return type == .float ? .float(Float(special)) : .double(special)
            default:
                throw InputError(.wrongType(expected: .scalar(type)), parameter: index, quote: quote)
            }
            if type == .float {
                guard let value = Float(text), value.isFinite else {
                    throw InputError(.outOfRange(type), parameter: index, quote: quote)
                }
                return .float(value)
            }
            guard let value = Double(text), value.isFinite else {
                throw InputError(.outOfRange(type), parameter: index, quote: quote)
            }
            return .double(value)
        default:
            guard case .number(let digits, let isInteger) = node.kind else {
                throw InputError(.wrongType(expected: .scalar(type)), parameter: index, quote: quote)
            }
            guard isInteger else { throw InputError(.fraction(type), parameter: index, quote: quote) }
            let text = String(decoding: digits, as: UTF8.self)
            let outOfRange = InputError(.outOfRange(type), parameter: index, quote: quote)
            if type == .uint64 {
                guard let value = UInt64(text) else { throw outOfRange }
                return .uint64(value)
            }
            // Every other integer type fits in Int64; "-0" is 0.
            guard let wide = Int64(text) else { throw outOfRange }
            let value: Value? = switch type {
            case .int8: Int8(exactly: wide).map(Value.int8)
            case .int16: Int16(exactly: wide).map(Value.int16)
            case .int32: Int32(exactly: wide).map(Value.int32)
            case .int64: .int64(wide)
            case .uint8: UInt8(exactly: wide).map(Value.uint8)
            case .uint16: UInt16(exactly: wide).map(Value.uint16)
            case .uint32: UInt32(exactly: wide).map(Value.uint32)
            default: nil
            }
            guard let value else { throw outOfRange }
            return value
        }
    }
}

/// A small, exact JSON scanner over UTF-8 bytes: numbers keep their text (so
/// 64-bit integers stay exact and `3` differs from `3.0`), strings their
/// decoded UTF-8 bytes. Every node remembers where it came from, for quotes.
struct JSONScanner {
    /// One JSON value and its byte range in the input.
    struct Node {
        enum Kind {
            case number(ArraySlice<UInt8>, isInteger: Bool)
            case string([UInt8])
            case bool(Bool)
            case null
            case array([Node])
            case object([(key: [UInt8], value: Node)])
        }
        var kind: Kind
        var range: Range<Int>
    }

    /// Arrays and objects nest at most this deep (the scanner recurses).
    static let maximumDepth = 64

    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// Up to 80 characters of a node's text.
    func quote(_ node: Node) -> String { Quote.short(bytes[node.range]) }

    /// An invalid-JSON error quoting the text from the current position on.
    func invalid(_ problem: InputError.JSONProblem) -> InputError {
        let rest = bytes[min(position, bytes.count)...]
        return InputError(.invalidJSON(problem), quote: rest.isEmpty ? "end of input" : Quote.short(rest))
    }

    mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    /// Only whitespace may follow.
    mutating func end() throws(InputError) {
        skipSpace()
        if position < bytes.count {
            throw InputError(.trailingGarbage, quote: Quote.short(bytes[position...]))
        }
    }

    /// One value, after optional whitespace.
    mutating func value(depth: Int) throws(InputError) -> Node {
        skipSpace()
        let start = position
        guard let c = peek else { throw invalid(.expectedValue) }
        switch c {
        case UInt8(ascii: "["):
            if depth >= Self.maximumDepth { throw invalid(.nestedTooDeeply) }
            position += 1
            var elements: [Node] = []
            skipSpace()
            if peek == UInt8(ascii: "]") {
                position += 1
                return Node(kind: .array([]), range: start..<position)
            }
            while true {
                elements.append(try value(depth: depth + 1))
                skipSpace()
                if peek == UInt8(ascii: ",") { position += 1; continue }
                if peek == UInt8(ascii: "]") { position += 1; break }
                throw invalid(.expectedCommaOrBracket)
            }
            return Node(kind: .array(elements), range: start..<position)
        case UInt8(ascii: "{"):
            if depth >= Self.maximumDepth { throw invalid(.nestedTooDeeply) }
            position += 1
            var members: [(key: [UInt8], value: Node)] = []
            skipSpace()
            if peek == UInt8(ascii: "}") {
                position += 1
                return Node(kind: .object([]), range: start..<position)
            }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw invalid(.expectedKey) }
                let key = try string()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw invalid(.expectedColon) }
                position += 1
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                if peek == UInt8(ascii: ",") { position += 1; continue }
                if peek == UInt8(ascii: "}") { position += 1; break }
                throw invalid(.expectedCommaOrBrace)
            }
            return Node(kind: .object(members), range: start..<position)
        case UInt8(ascii: "\""):
            let text = try string()
            return Node(kind: .string(text), range: start..<position)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for (word, kind) in [("true", Node.Kind.bool(true)), ("false", .bool(false)), ("null", .null)] {
                let literal = Array(word.utf8)
                if bytes[position...].starts(with: literal) {
                    position += literal.count
                    return Node(kind: kind, range: start..<position)
                }
            }
            throw invalid(.expectedValue)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        default:
            throw invalid(.expectedValue)
        }
    }

    private static func isDigit(_ c: UInt8?) -> Bool {
        guard let c else { return false }
        return c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    private mutating func number() throws(InputError) -> Node {
        let start = position
        var isInteger = true
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") {
            position += 1
            if Self.isDigit(peek) { throw invalid(.leadingZero) }
        } else if Self.isDigit(peek) {
            while Self.isDigit(peek) { position += 1 }
        } else {
            throw invalid(.expectedDigit)
        }
        if peek == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard Self.isDigit(peek) else { throw invalid(.expectedDigit) }
            while Self.isDigit(peek) { position += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard Self.isDigit(peek) else { throw invalid(.expectedDigit) }
            while Self.isDigit(peek) { position += 1 }
        }
        return Node(kind: .number(bytes[start..<position], isInteger: isInteger), range: start..<position)
    }

    /// A string starting at `"`: its decoded UTF-8 bytes.
    private mutating func string() throws(InputError) -> [UInt8] {
        position += 1 // the opening quote
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw invalid(.unterminatedString) }
            switch c {
            case UInt8(ascii: "\""):
                position += 1
                return out
            case UInt8(ascii: "\\"):
                position += 1
                guard let escape = peek else { throw invalid(.unterminatedString) }
                position += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard bytes[position...].starts(with: [0x5C, UInt8(ascii: "u")]) else {
                            throw invalid(.unpairedSurrogate)
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw invalid(.unpairedSurrogate) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw invalid(.unpairedSurrogate)
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                default:
                    position -= 2
                    throw invalid(.unknownEscape)
                }
            case 0..<0x20:
                throw invalid(.controlCharacter)
            default:
                out.append(c)
                position += 1
            }
        }
    }

    private mutating func hex4() throws(InputError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek else { throw invalid(.badUnicodeEscape) }
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A")) + 10
            default: throw invalid(.badUnicodeEscape)
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}
