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
