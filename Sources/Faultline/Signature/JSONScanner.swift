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
