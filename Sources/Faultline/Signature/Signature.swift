/// The C type of one scalar parameter or return value.
///
/// ```swift
/// let t = try Signature(parsing: "unsigned int()").returnType   // .uint32
/// ```
public enum ScalarType: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// `int8_t`
    case int8
    /// `int16_t`
    case int16
    /// `int32_t`
    case int32
    /// `int64_t`
    case int64
    /// `uint8_t`
    case uint8
    /// `uint16_t`
    case uint16
    /// `uint32_t`
    case uint32
    /// `uint64_t`
    case uint64
    /// `float`
    case float
    /// `double`
    case double
    /// `_Bool`
    case bool

    /// The grammar's name: `int32`, `double`, `bool`…
    public var description: String { rawValue }

    /// The scalar a grammar name or a C spelling stands for (`int`, `size_t`,
    /// `unsigned char`…), with whitespace already normalized to single spaces.
    init?(name: String) {
        if let scalar = ScalarType(rawValue: name) { self = scalar; return }
        switch name {
        case "int8_t", "char", "signed char": self = .int8
        case "int16_t", "short", "short int", "signed short", "signed short int": self = .int16
        case "int32_t", "int", "signed", "signed int": self = .int32
        case "int64_t", "long", "long int", "signed long", "signed long int", "long long", "long long int",
             "signed long long", "signed long long int", "ssize_t", "ptrdiff_t", "intptr_t", "off_t":
            self = .int64
        case "uint8_t", "unsigned char": self = .uint8
        case "uint16_t", "unsigned short", "unsigned short int": self = .uint16
        case "uint32_t", "unsigned", "unsigned int": self = .uint32
        case "uint64_t", "size_t", "unsigned long", "unsigned long int", "unsigned long long",
             "unsigned long long int", "uintptr_t":
            self = .uint64
        case "_Bool": self = .bool
        default: return nil
        }
    }
}

/// The C signature of a native function: its return type and parameters.
///
/// Parsed from the contract's grammar (whitespace is free, C spellings are aliases):
/// ```
/// SIGNATURE := RETURN "(" [ PARAM { "," PARAM } ] ")"
/// RETURN    := "void" | SCALAR
/// PARAM     := SCALAR | "string" | "bytes" | "out_string[" N "]" | "out_bytes[" N "]"
/// ```
/// A `string` is one `const char *` parameter; `bytes` is a `const void *, size_t`
/// pair; `out_string[N]`/`out_bytes[N]` is a `void *, size_t` pair pointing to a
/// zero-filled buffer of N bytes that the callee may write.
///
/// ```swift
/// let signature = try Signature(parsing: "double(double, const char *)")
/// print(signature)              // double(double, string)
/// ```
public struct Signature: Hashable, Sendable, CustomStringConvertible {
    /// One parameter of a signature.
    ///
    /// ```swift
    /// let p: Signature.Parameter = .outString(capacity: 64)   // out_string[64]
    /// ```
    public enum Parameter: Hashable, Sendable, CustomStringConvertible {
        /// One C parameter of a scalar type.
        case scalar(ScalarType)
        /// One `const char *` parameter, NUL-terminated, with no NUL inside.
        case string
        /// Two C parameters: `const void *data, size_t length`.
        case bytes
        /// Two C parameters `void *buffer, size_t capacity`: a zero-filled
        /// buffer the callee may write text into. Takes no input.
        case outString(capacity: Int)
        /// Two C parameters `void *buffer, size_t capacity`: a zero-filled
        /// buffer the callee may write bytes into. Takes no input.
        case outBytes(capacity: Int)

        /// True for parameters whose value comes from the input (all but out buffers).
        public var takesInput: Bool {
            switch self {
            case .outString, .outBytes: false
            default: true
            }
        }

        /// The canonical spelling: `int32`, `string`, `out_bytes[16]`.
        public var description: String {
            switch self {
            case .scalar(let type): type.rawValue
            case .string: "string"
            case .bytes: "bytes"
            case .outString(let capacity): "out_string[\(capacity)]"
            case .outBytes(let capacity): "out_bytes[\(capacity)]"
            }
        }
    }

    /// At most this many parameters.
    public static let maximumParameters = 32
    /// The largest capacity of an output buffer: 64 MiB.
    public static let maximumCapacity = 64 << 20

    /// The return type; `nil` for `void`.
    public let returnType: ScalarType?
    /// The parameters, in order.
    public let parameters: [Parameter]

    /// `int32(int32)`: the shape of every callee before signatures existed.
    ///
    /// ```swift
    /// NativeFunction(library: path, symbol: "twice")   // signature: .default
    /// ```
    public static let `default` = Signature(returning: .int32, [.scalar(.int32)])

    /// Builds a signature in Swift. `nil` return type means `void`.
    ///
    /// ```swift
    /// let s = Signature(returning: .double, [.scalar(.double), .string])   // double(double, string)
    /// ```
    /// - Precondition: at most ``maximumParameters`` parameters; every output
    ///   capacity from 1 to ``maximumCapacity``. (Parse text with
    ///   ``init(parsing:)`` to get these as errors instead.)
    public init(returning returnType: ScalarType?, _ parameters: [Parameter]) {
        precondition(parameters.count <= Self.maximumParameters, "more than \(Self.maximumParameters) parameters")
        for parameter in parameters {
            switch parameter {
            case .outString(let capacity), .outBytes(let capacity):
                precondition((1...Self.maximumCapacity).contains(capacity), "output capacity \(capacity) out of range")
            default: break
            }
        }
        self.returnType = returnType
        self.parameters = parameters
    }

    /// Parses a signature in the contract's grammar, e.g. `"int64(bytes, out_string[32])"`
    /// or `"unsigned long (const char *, int)"`.
    ///
    /// ```swift
    /// do { _ = try Signature(parsing: "int33(int)") }
    /// catch { print(error) }   // unknown type 'int33' in signature
    /// ```
    public init(parsing text: String) throws(SignatureError) {
        let trimmed = Self.normalized(text)
        if trimmed.isEmpty { throw SignatureError(.empty, token: "") }
        guard let open = trimmed.firstIndex(of: "(") else {
            throw SignatureError(.missingOpenParenthesis, token: trimmed)
        }
        let returnName = Self.normalized(String(trimmed[..<open]))
        guard let close = trimmed.lastIndex(of: ")") else {
            throw SignatureError(.missingCloseParenthesis, token: trimmed)
        }
        let after = trimmed[trimmed.index(after: close)...]
        if !after.isEmpty { throw SignatureError(.trailingText, token: String(after)) }
        let inside = trimmed[trimmed.index(after: open)..<close]
        if let nested = inside.firstIndex(where: { $0 == "(" || $0 == ")" }) {
            throw SignatureError(.unexpectedParenthesis, token: String(inside[nested...]))
        }

        let returnType: ScalarType?
        if returnName.isEmpty {
            throw SignatureError(.missingReturnType, token: trimmed)
        } else if returnName == "void" {
            returnType = nil
        } else if let scalar = ScalarType(name: returnName) {
            returnType = scalar
        } else if (try? Self.parameter(returnName)) != nil {
            throw SignatureError(.notReturnable, token: returnName)
        } else {
            throw SignatureError(.unknownType, token: returnName)
        }

        var parameters: [Parameter] = []
        let words = Self.normalized(String(inside))
        if !words.isEmpty && words != "void" {
            let pieces = words.split(separator: ",", omittingEmptySubsequences: false)
            if pieces.count > Self.maximumParameters {
                throw SignatureError(.tooManyParameters, token: String(pieces.count))
            }
            for piece in pieces {
                parameters.append(try Self.parameter(Self.normalized(String(piece))))
            }
        }
        self.returnType = returnType
        self.parameters = parameters
    }

    /// How many parameters take a value from the input (all but the output buffers).
    public var inputCount: Int { parameters.count(where: \.takesInput) }

    /// The parameters that take input, in order.
    public var inputParameters: [Parameter] { parameters.filter(\.takesInput) }

    /// The canonical form: `double(double, string)`, `void(out_bytes[8])`, `int32()`.
    public var description: String {
        "\(returnType?.rawValue ?? "void")(\(parameters.map(\.description).joined(separator: ", ")))"
    }

    /// One parameter from its normalized spelling.
    private static func parameter(_ name: String) throws(SignatureError) -> Parameter {
        if name.isEmpty { throw SignatureError(.emptyParameter, token: "") }
        if name == "void" { throw SignatureError(.voidParameter, token: name) }
        if let scalar = ScalarType(name: name) { return .scalar(scalar) }
        switch name {
        case "string", "const char*", "char const*", "char*": return .string
        case "bytes": return .bytes
        case "out_string", "out_bytes": throw SignatureError(.missingSize, token: name)
        default: break
        }
        for (prefix, isString) in [("out_string[", true), ("out_bytes[", false)] where name.hasPrefix(prefix) {
            guard name.hasSuffix("]") else { throw SignatureError(.invalidSize, token: name) }
            let digits = name.dropFirst(prefix.count).dropLast()
            if digits.isEmpty { throw SignatureError(.missingSize, token: name) }
            guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw SignatureError(.invalidSize, token: name)
            }
            // At most 9 digits parse without overflow; anything longer is too large anyway.
            let significant = digits.drop(while: { $0 == "0" })
            guard significant.count <= 9, let capacity = Int(digits), capacity <= maximumCapacity else {
                throw SignatureError(.sizeTooLarge, token: name)
            }
            if capacity < 1 { throw SignatureError(.sizeTooSmall, token: name) }
            return isString ? .outString(capacity: capacity) : .outBytes(capacity: capacity)
        }
        throw SignatureError(.unknownType, token: name)
    }

    /// Whitespace runs become one space; no space around `*`, `[`, `]`, `(`, `)`, `,`; trimmed.
    private static func normalized(_ text: String) -> String {
        var out: [Character] = []
        var pendingSpace = false
        let tight: Set<Character> = ["*", "[", "]", "(", ")", ","]
        for character in text {
            if character.isWhitespace {
                pendingSpace = true
                continue
            }
            if pendingSpace, let last = out.last, !tight.contains(last), !tight.contains(character) {
                out.append(" ")
            }
            pendingSpace = false
            out.append(character)
        }
        return String(out)
    }
}

/// Why a signature could not be parsed: a kind and the offending token
/// (at most 80 characters of it). ``description`` makes the sentence.
///
/// ```swift
/// SignatureError(.unknownType, token: "int33").description   // unknown type 'int33' in signature
/// ```
public struct SignatureError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: String, Hashable, Sendable {
        /// Nothing but whitespace.
        case empty
        /// No `(` after the return type.
        case missingOpenParenthesis
        /// No `)` closing the parameter list.
        case missingCloseParenthesis
        /// A `(` or `)` inside the parameter list.
        case unexpectedParenthesis
        /// Text after the closing `)`.
        case trailingText
        /// Nothing before the `(`.
        case missingReturnType
        /// A name that is neither a type of the grammar nor a C alias.
        case unknownType
        /// `string`, `bytes` or an output buffer as the return type.
        case notReturnable
        /// `void` among the parameters.
        case voidParameter
        /// An empty slot between commas.
        case emptyParameter
        /// More than ``Signature/maximumParameters`` parameters.
        case tooManyParameters
        /// `out_string`/`out_bytes` without `[N]`.
        case missingSize
        /// A size that is not a decimal number, or a missing `]`.
        case invalidSize
        /// A size of 0.
        case sizeTooSmall
        /// A size above ``Signature/maximumCapacity`` (including ones that overflow).
        case sizeTooLarge
    }

    /// What is wrong.
    public let kind: Kind
    /// The offending text, at most 80 characters (longer tokens end in `…`).
    public let token: String

    /// Creates the error; `token` is shortened to 80 characters.
    public init(_ kind: Kind, token: String) {
        self.kind = kind
        self.token = Quote.short(token)
    }

    /// One line, e.g. `unknown type 'int33' in signature`.
    public var description: String {
        let buffer = token.split(separator: "[").first.map(String.init) ?? token
        return switch kind {
        case .empty: "empty signature"
        case .missingOpenParenthesis: "expected '(' after the return type in signature '\(token)'"
        case .missingCloseParenthesis: "missing ')' at the end of signature '\(token)'"
        case .unexpectedParenthesis: "unexpected parenthesis at '\(token)' in signature"
        case .trailingText: "unexpected '\(token)' after ')' in signature"
        case .missingReturnType: "missing return type in signature '\(token)'"
        case .unknownType: "unknown type '\(token)' in signature"
        case .notReturnable: "'\(token)' cannot be a return type (only void or a scalar)"
        case .voidParameter: "'void' cannot be a parameter type"
        case .emptyParameter: "empty parameter in signature"
        case .tooManyParameters: "\(token) parameters in signature, at most \(Signature.maximumParameters) allowed"
        case .missingSize: "\(buffer) needs a size: \(buffer)[N]"
        case .invalidSize: "invalid size in '\(token)': expected \(buffer)[N] with N a decimal number"
        case .sizeTooSmall: "\(buffer) needs a size of at least 1"
        case .sizeTooLarge: "\(buffer) size in '\(token)' exceeds the limit of \(Signature.maximumCapacity) bytes"
        }
    }
}

/// Shortens quoted input so that an error never echoes a huge text whole.
enum Quote {
    /// At most this many characters are quoted.
    static let limit = 80

    /// `text` itself, or its first 79 characters and `…`.
    static func short(_ text: some StringProtocol) -> String {
        // Look at a bounded prefix only: counting characters of a huge text is slow.
        let head = text.prefix(limit + 1)
        if head.count <= limit { return String(head) }
        return String(head.prefix(limit - 1)) + "…"
    }

    /// Up to 80 characters of UTF-8 bytes (the range is clipped first, so a huge range costs nothing).
    static func short(_ bytes: ArraySlice<UInt8>) -> String {
        short(String(decoding: bytes.prefix(limit * 4 + 4), as: UTF8.self))
    }
}
