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
        if self == .default, scanner.peek != UInt8(ascii: "[") {
            let node = try scanner.value(depth: 0)
            try scanner.end()
            guard case .number = node.kind else {
                throw InputError(.wrongType(expected: .scalar(.int32)), parameter: 0, quote: scanner.quote(node))
            }
            return [try convert(node, to: .scalar(.int32), index: 0, scanner: scanner)]
        }
        let inputs = inputParameters
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
        // Quoted only for an error: quoting costs more than reading a number.
        var quote: String { scanner.quote(node) }
        switch parameter {
        case .scalar(let type):
            return try Self.scalar(node, type, index: index, quote: { scanner.quote(node) })
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
                               quote: () -> String) throws(InputError) -> Value {
        switch type {
        case .bool:
            guard case .bool(let flag) = node.kind else {
                throw InputError(.wrongType(expected: .scalar(type)), parameter: index, quote: quote())
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
                throw InputError(.wrongType(expected: .scalar(type)), parameter: index, quote: quote())
            }
            if type == .float {
                guard let value = Float(text), value.isFinite else {
                    throw InputError(.outOfRange(type), parameter: index, quote: quote())
                }
                return .float(value)
            }
            guard let value = Double(text), value.isFinite else {
                throw InputError(.outOfRange(type), parameter: index, quote: quote())
            }
            return .double(value)
        default:
            guard case .number(let digits, let isInteger) = node.kind else {
                throw InputError(.wrongType(expected: .scalar(type)), parameter: index, quote: quote())
            }
            guard isInteger else { throw InputError(.fraction(type), parameter: index, quote: quote()) }
            let text = String(decoding: digits, as: UTF8.self)
            var outOfRange: InputError { InputError(.outOfRange(type), parameter: index, quote: quote()) }
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
