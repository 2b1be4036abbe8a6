import CFaultline

/// A signature prepared for libffi once (its `ffi_cif`), shared by every copy
/// of a ``NativeFunction``: a final class so that the C struct, which points
/// into itself, never moves.
final class PreparedSignature: @unchecked Sendable {
    /// The signature it was prepared from.
    let signature: Signature
    /// The prepared C struct; read-only after init, so safe to share between threads.
    let pointer: UnsafeMutablePointer<fl_signature>

    /// The default signature, prepared once for the whole process.
    static let `default` = PreparedSignature(.default)

    /// Prepares `signature`. A ``Signature`` is valid by construction, so the C
    /// side cannot refuse it; if it does, that is a bug here.
    init(_ signature: Signature) {
        self.signature = signature
        pointer = .allocate(capacity: 1)
        let types = signature.parameters.map(\.typeCode)
        let capacities = signature.parameters.map { parameter -> UInt64 in
            switch parameter {
            case .outString(let capacity), .outBytes(let capacity): UInt64(capacity)
            default: 0
            }
        }
        let status = fl_signature_prepare(pointer, signature.returnType?.typeCode ?? FL_TYPE_VOID.rawValue,
                                          types, capacities, UInt32(types.count))
        precondition(status == 0, "fl_signature_prepare refused \(signature)")
    }

    deinit { pointer.deallocate() }

    /// Bytes of the result record.
    var resultSize: Int { Int(fl_signature_result_size(pointer)) }

    /// Encodes `values` into an argument record and allocates a zero-filled
    /// result record (both 8-byte aligned, freed on return), then runs `body`
    /// with (arguments, arguments size, result). Throws ``InputError`` when the
    /// values do not fit the signature (count, type, NUL in a string).
    func withRecords<R>(_ values: [Value],
                        _ body: (UnsafePointer<UInt8>, Int, UnsafeMutablePointer<UInt8>) throws -> R) throws -> R {
        let arguments = try ArgumentRecord(values, for: signature)
        defer { arguments.storage.deallocate() }
        let size = resultSize
        let result = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { result.deallocate() }
        result.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        return try body(arguments.storage.assumingMemoryBound(to: UInt8.self), arguments.size,
                        result.assumingMemoryBound(to: UInt8.self))
    }

    /// Reads the result record after a call that returned: the typed return
    /// value and one value per out buffer (``Outcome/returned(_:out:)``).
    func decode(_ result: UnsafePointer<UInt8>) -> Outcome {
        let raw = UnsafeRawPointer(result)
        let value: Value = switch signature.returnType {
        case nil: .void
        case .int8: .int8(raw.loadUnaligned(as: Int8.self))
        case .int16: .int16(raw.loadUnaligned(as: Int16.self))
        case .int32: .int32(raw.loadUnaligned(as: Int32.self))
        case .int64: .int64(raw.loadUnaligned(as: Int64.self))
        case .uint8: .uint8(raw.loadUnaligned(as: UInt8.self))
        case .uint16: .uint16(raw.loadUnaligned(as: UInt16.self))
        case .uint32: .uint32(raw.loadUnaligned(as: UInt32.self))
        case .uint64: .uint64(raw.loadUnaligned(as: UInt64.self))
        case .float: .float(raw.loadUnaligned(as: Float.self))
        case .double: .double(raw.loadUnaligned(as: Double.self))
        case .bool: .bool(raw.load(as: UInt8.self) != 0)
        }
        var out: [Value] = []
        let offsets = withUnsafeBytes(of: pointer.pointee.out_offsets) { Array($0.bindMemory(to: UInt64.self)) }
        for (index, parameter) in signature.parameters.enumerated() {
            switch parameter {
            case .outString(let capacity):
                let buffer = UnsafeBufferPointer(start: result + Int(offsets[index]), count: capacity)
                let text = Array(buffer.prefix(while: { $0 != 0 }))
                if let string = String(validating: text, as: UTF8.self) {
                    out.append(.string(string))
                } else {
                    out.append(.bytes(text))
                }
            case .outBytes(let capacity):
                out.append(.bytes(Array(UnsafeBufferPointer(start: result + Int(offsets[index]), count: capacity))))
            default:
                break
            }
        }
        return .returned(value, out: out)
    }
}

/// Argument records laid end to end (call i's is bytes[offsets[i] ..< offsets[i+1]]),
/// encoded straight into one buffer: no allocation per call.
struct ArgumentRecords {
    /// The records.
    private(set) var bytes: [UInt8] = []
    /// Where each starts, and where the last ends.
    private(set) var offsets: [UInt64] = [0]

    /// Reserves room for `count` records of about `bytesEach` bytes.
    init(reserving count: Int, bytesEach: Int) {
        bytes.reserveCapacity(count * bytesEach)
        offsets.reserveCapacity(count + 1)
    }

    /// Checks `values` against `inputs` (the signature's parameters that take
    /// input) and appends their record.
    mutating func append(_ values: [Value], inputs: [Signature.Parameter]) throws(InputError) {
        let size = try ArgumentRecord.size(of: values, inputs: inputs)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: size))
        bytes.withUnsafeMutableBytes { ArgumentRecord.write(values, inputs: inputs, to: $0.baseAddress! + start) }
        offsets.append(UInt64(bytes.count))
    }
}

/// An argument record (layout in CFaultlineSignature.h): one 8-byte-aligned
/// field per parameter that takes input. The caller deallocates `storage`.
struct ArgumentRecord {
    let storage: UnsafeMutableRawPointer
    let size: Int

    /// Checks `values` against `signature` and encodes them.
    init(_ values: [Value], for signature: Signature) throws(InputError) {
        let inputs = signature.inputParameters
        let size = try Self.size(of: values, inputs: inputs)
        self.size = size
        storage = .allocate(byteCount: max(size, 8), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: max(size, 8))
        Self.write(values, inputs: inputs, to: storage)
    }

    /// The record's size, once `values` are checked against `inputs`.
    static func size(of values: [Value], inputs: [Signature.Parameter]) throws(InputError) -> Int {
        guard values.count == inputs.count else {
            throw InputError(.wrongCount(expected: inputs.count, found: values.count), quote: Signature.inputJSON(values))
        }
        var size = 0
        for (index, (value, parameter)) in zip(values, inputs).enumerated() {
            let length: Int
            switch (parameter, value) {
            case (.string, .string(let text)):
                if text.utf8.contains(0) { throw InputError(.nulInString, parameter: index, quote: text) }
                length = text.utf8.count
            case (.bytes, .bytes(let bytes)):
                length = bytes.count
            case (.scalar(let type), _) where type.rawValue == value.typeName:
                length = 0
            default:
                throw InputError(.wrongType(expected: parameter), parameter: index, quote: value.description)
            }
            size += Int(fl_argument_field_size(parameter.typeCode, UInt64(length)))
        }
        return size
    }

    /// Writes the fields of `values` at `storage` (zero-filled, `size(of:inputs:)` bytes).
    static func write(_ values: [Value], inputs: [Signature.Parameter], to storage: UnsafeMutableRawPointer) {
        var offset = 0
        for (value, parameter) in zip(values, inputs) {
            let field = storage + offset
            switch value {
            case .void: break
            case .int8(let v): field.storeBytes(of: v, as: Int8.self)
            case .int16(let v): field.storeBytes(of: v, as: Int16.self)
            case .int32(let v): field.storeBytes(of: v, as: Int32.self)
            case .int64(let v): field.storeBytes(of: v, as: Int64.self)
            case .uint8(let v): field.storeBytes(of: v, as: UInt8.self)
            case .uint16(let v): field.storeBytes(of: v, as: UInt16.self)
            case .uint32(let v): field.storeBytes(of: v, as: UInt32.self)
            case .uint64(let v): field.storeBytes(of: v, as: UInt64.self)
            case .float(let v): field.storeBytes(of: v, as: Float.self)
            case .double(let v): field.storeBytes(of: v, as: Double.self)
            case .bool(let v): field.storeBytes(of: v ? 1 : 0, as: UInt8.self)
            case .string(let text):
                let bytes = Array(text.utf8)
                field.storeBytes(of: UInt64(bytes.count), as: UInt64.self)
                bytes.withUnsafeBytes { (field + 8).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(field), byteCount: $0.count) }
            case .bytes(let bytes):
                field.storeBytes(of: UInt64(bytes.count), as: UInt64.self)
                bytes.withUnsafeBytes { (field + 8).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(field), byteCount: $0.count) }
            }
            let length: Int = switch value {
            case .string(let text): text.utf8.count
            case .bytes(let bytes): bytes.count
            default: 0
            }
            offset += Int(fl_argument_field_size(parameter.typeCode, UInt64(length)))
        }
    }
}

extension ScalarType {
    /// The C type code (`fl_type`).
    var typeCode: UInt32 {
        switch self {
        case .int8: FL_TYPE_INT8.rawValue
        case .int16: FL_TYPE_INT16.rawValue
        case .int32: FL_TYPE_INT32.rawValue
        case .int64: FL_TYPE_INT64.rawValue
        case .uint8: FL_TYPE_UINT8.rawValue
        case .uint16: FL_TYPE_UINT16.rawValue
        case .uint32: FL_TYPE_UINT32.rawValue
        case .uint64: FL_TYPE_UINT64.rawValue
        case .float: FL_TYPE_FLOAT.rawValue
        case .double: FL_TYPE_DOUBLE.rawValue
        case .bool: FL_TYPE_BOOL.rawValue
        }
    }
}

extension Signature.Parameter {
    /// The C type code (`fl_type`).
    var typeCode: UInt32 {
        switch self {
        case .scalar(let type): type.typeCode
        case .string: FL_TYPE_STRING.rawValue
        case .bytes: FL_TYPE_BYTES.rawValue
        case .outString: FL_TYPE_OUT_STRING.rawValue
        case .outBytes: FL_TYPE_OUT_BYTES.rawValue
        }
    }
}
