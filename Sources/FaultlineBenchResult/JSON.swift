/// A JSON value with ordered object keys: the bench's extra figures, and the
/// tree ``OrderedJSONEncoder`` builds. Written by hand so that the bench needs
/// no Foundation and its output keeps a stable, readable key order.
public indirect enum JSON: Sendable, Equatable {
    /// `null`: a figure that could not be measured.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A finite number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSON])
    /// An object, its members in order.
    case object([(String, JSON)])

    /// A number, or null when the value is missing or not finite.
    public static func number(_ value: Double?) -> JSON {
        guard let value, value.isFinite else { return .null }
        return .number(value)
    }

    /// An integer.
    public static func int(_ value: Int) -> JSON { .number(Double(value)) }

    /// The number, when this is one.
    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The compact text of this value.
    public var text: String {
        var output = ""
        write(to: &output)
        return output
    }

    /// Same value, object members compared in order.
    public static func == (left: JSON, right: JSON) -> Bool {
        switch (left, right) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: false
        }
    }

    private func write(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let value): output += Self.format(value)
        case .string(let value): Self.quote(value, into: &output)
        case .array(let values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                value.write(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { output += "," }
                Self.quote(key, into: &output)
                output += ":"
                value.write(to: &output)
            }
            output += "}"
        }
    }

    /// Whole numbers without a fraction; others with up to 4 decimals.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let scaled = (value * 10_000).rounded() / 10_000
        return "\(scaled)"
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, the rest as is.
    private static func quote(_ text: String, into output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

extension JSON: Codable {
    /// Decodes any JSON value (object keys in the order the decoder lists them).
    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: BenchKey.self) {
            self = .object(try object.allKeys.map { ($0.stringValue, try object.decode(JSON.self, forKey: $0)) })
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var values: [JSON] = []
            while !array.isAtEnd { values.append(try array.decode(JSON.self)) }
            self = .array(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Double.self) {
            self = .number(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    /// Encodes the value as it is (object keys in order).
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .number(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .string(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .array(let values):
            var array = encoder.unkeyedContainer()
            for value in values { try array.encode(value) }
        case .object(let members):
            var object = encoder.container(keyedBy: BenchKey.self)
            for (key, value) in members { try object.encode(value, forKey: BenchKey(key)) }
        }
    }
}

/// Any key of a bench JSON object (the figures' keys are fixed, the strategy, peer and workload names are not).
public struct BenchKey: CodingKey, Hashable, ExpressibleByStringLiteral, Sendable {
    /// The key.
    public var stringValue: String
    /// Always nil: bench objects have string keys only.
    public var intValue: Int? { nil }
    /// The key `name`.
    public init(_ name: String) { stringValue = name }
    /// The key `stringValue`.
    public init(stringValue: String) { self.stringValue = stringValue }
    /// Never: bench objects have string keys only.
    public init?(intValue: Int) { nil }
    /// The key written as a literal, e.g. `"p50_ns"`.
    public init(stringLiteral value: String) { stringValue = value }
}

/// Encodes any `Encodable` value to compact JSON text, keeping object keys in
/// the order they were encoded (Foundation's `JSONEncoder` does not), with
/// numbers as ``JSON/format(_:)`` writes them and non-finite numbers as null.
/// Decode the text with Foundation's `JSONDecoder`.
public struct OrderedJSONEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// The JSON tree of `value`.
    public func tree(_ value: some Encodable) throws -> JSON {
        let root = Node()
        try value.encode(to: TreeEncoder(node: root, codingPath: []))
        return root.json
    }

    /// The compact JSON text of `value`.
    public func encode(_ value: some Encodable) throws -> String { try tree(value).text }
}

/// A value being built: unset, a scalar, or a container whose members are filled in later.
private final class Node {
    enum Content {
        case unset
        case scalar(JSON)
        case object([(String, Node)])
        case array([Node])
    }
    var content = Content.unset

    var json: JSON {
        switch content {
        case .unset: .object([])
        case .scalar(let value): value
        case .object(let members): .object(members.map { ($0.0, $0.1.json) })
        case .array(let nodes): .array(nodes.map(\.json))
        }
    }

    /// Turns this node into an object (keeping members already there) and adds a member.
    func member(_ key: String) -> Node {
        let child = Node()
        if case .object(var members) = content {
            if let index = members.firstIndex(where: { $0.0 == key }) {
                members[index].1 = child
            } else {
                members.append((key, child))
            }
            content = .object(members)
        } else {
            content = .object([(key, child)])
        }
        return child
    }

    /// Turns this node into an array (keeping elements already there) and adds an element.
    func element() -> Node {
        let child = Node()
        if case .array(let nodes) = content {
            content = .array(nodes + [child])
        } else {
            content = .array([child])
        }
        return child
    }

    var count: Int {
        if case .array(let nodes) = content { return nodes.count }
        return 0
    }
}

private struct TreeEncoder: Encoder {
    let node: Node
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([]) }
        return KeyedEncodingContainer(KeyedTree<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return UnkeyedTree(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleTree(node: node, codingPath: codingPath) }
}

private struct SingleTree: SingleValueEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .scalar(.null) }
    mutating func encode(_ value: Bool) throws { node.content = .scalar(.bool(value)) }
    mutating func encode(_ value: String) throws { node.content = .scalar(.string(value)) }
    mutating func encode(_ value: Double) throws { node.content = .scalar(.number(Optional(value))) }
    mutating func encode(_ value: Float) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int8) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int16) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int32) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int64) throws { try encode(Double(value)) }
    mutating func encode(_ value: UInt) throws { try encode(Double(value)) }
    mutating func encode(_ value: UInt8) throws { try encode(Double(value)) }
    mutating func encode(_ value: UInt16) throws { try encode(Double(value)) }
    mutating func encode(_ value: UInt32) throws { try encode(Double(value)) }
    mutating func encode(_ value: UInt64) throws { try encode(Double(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: TreeEncoder(node: node, codingPath: codingPath))
    }
}

private struct KeyedTree<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    var codingPath: [any CodingKey]

    private func single(_ key: Key) -> SingleTree { SingleTree(node: node.member(key.stringValue), codingPath: codingPath + [key]) }

    mutating func encodeNil(forKey key: Key) throws { var s = single(key); try s.encodeNil() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { var s = single(key); try s.encode(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        TreeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        TreeEncoder(node: node.member("super"), codingPath: codingPath + [BenchKey("super")])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedTree: UnkeyedEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]
    var count: Int { node.count }

    private func next() -> TreeEncoder { TreeEncoder(node: node.element(), codingPath: codingPath) }

    mutating func encodeNil() throws { var s = next().singleValueContainer(); try s.encodeNil() }
    mutating func encode<T: Encodable>(_ value: T) throws { try value.encode(to: next()) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next().container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { next().unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { next() }
}
