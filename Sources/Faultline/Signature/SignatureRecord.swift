#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// A signature prepared for libffi once (its `ffi_cif`), shared by every copy
/// of a ``NativeFunction``: a final class so that the C struct, which points
/// into itself, never moves.
final class PreparedSignature: @unchecked Sendable {
    /// The signature it was prepared from.
    let signature: Signature
    /// The prepared C struct; read-only after init, so safe to share between threads.
    let pointer: UnsafeMutablePointer<fl_signature>
    /// The signature's parameters that take input (one field of the argument record each).
    let inputs: [Signature.Parameter]
    /// Their scalar types when every one is a scalar (records of 8 bytes per input), else nil.
    let scalarInputs: [ScalarType]?

    /// The default signature, prepared once for the whole process.
    static let `default` = PreparedSignature(.default)

    /// Prepares `signature`. A ``Signature`` is valid by construction, so the C
    /// side cannot refuse it; if it does, that is a bug here.
    init(_ signature: Signature) {
        self.signature = signature
        inputs = signature.inputParameters
        let scalars = inputs.compactMap { parameter -> ScalarType? in
            if case .scalar(let type) = parameter { type } else { nil }
        }
        scalarInputs = scalars.count == inputs.count ? scalars : nil
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
        let arguments = ArgumentRecords(capacity: 8 * (inputs.count + 1))
        try arguments.append(values, prepared: self)
        let size = resultSize
        let result = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { result.deallocate() }
        result.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        return try body(UnsafePointer(arguments.base.assumingMemoryBound(to: UInt8.self)), arguments.size,
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

/// Argument records laid end to end in one 16-byte-aligned buffer (call i's
/// record is `base[offsets[i] ..< offsets[i+1]]`), encoded straight into it:
/// no allocation per call. ``removeAll()`` keeps the buffer, so that a caller
/// that encodes batch after batch (a pool) writes into warm pages.
final class ArgumentRecords {
    /// The records (`capacity` bytes, the first ``size`` of them written).
    private(set) var base: UnsafeMutableRawPointer
    /// Bytes allocated at ``base``.
    private(set) var capacity: Int
    /// Bytes written.
    private(set) var size = 0
    /// Where each record starts, and where the last one ends.
    private(set) var offsets: [UInt64] = [0]

    /// An empty buffer of `capacity` bytes (grown as records are appended).
    init(capacity: Int = 256) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// The number of records.
    var count: Int { offsets.count - 1 }

    /// Forgets every record, keeping the buffer; room for `count` offsets.
    func removeAll(reserving count: Int = 0) {
        size = 0
        offsets.removeAll(keepingCapacity: true)
        offsets.append(0)
        offsets.reserveCapacity(count + 1)
    }

    /// Checks `values` against `prepared`'s signature and appends their
    /// record; nothing is appended when it throws.
    func append(_ values: [Value], prepared: PreparedSignature) throws(InputError) {
        try append(contentsOf: [values], prepared: prepared)
    }

    /// Appends the record of every argument list of `batch` (see
    /// ``append(_:prepared:)``); when one throws, the records before it stay.
    /// Scalar-only signatures are written in one loop with the buffer grown
    /// once and no per-record access to this object's properties.
    func append(contentsOf batch: [[Value]], prepared: PreparedSignature) throws(InputError) {
        guard let scalars = prepared.scalarInputs else {
            for values in batch { try append(values, inputs: prepared.inputs) }
            return
        }
        let recordSize = 8 * scalars.count
        if capacity - size < recordSize * batch.count { grow(toHold: recordSize * batch.count) }
        var ends: [UInt64] = []
        swap(&ends, &offsets)
        defer { swap(&ends, &offsets) }
        ends.reserveCapacity(ends.count + batch.count)
        let base = self.base
        var end = size
        defer { size = end }
        try scalars.withUnsafeBufferPointer { (scalars) throws(InputError) in
            for values in batch {
                guard values.count == scalars.count else {
                    throw InputError(.wrongCount(expected: scalars.count, found: values.count), quote: Signature.inputJSON(values))
                }
                let field = base + end
                try values.withUnsafeBufferPointer { (values) throws(InputError) in
                    for index in 0..<scalars.count where !Self.store(values[index], as: scalars[index], at: field + 8 * index) {
                        throw InputError(.wrongType(expected: .scalar(scalars[index])), parameter: index,
                                         quote: values[index].description)
                    }
                }
                end += recordSize
                ends.append(UInt64(end))
            }
        }
    }

    /// Writes `value` as an 8-byte scalar field of `type` at `field`; false when it is not of that type.
    @inline(__always)
    private static func store(_ value: Value, as type: ScalarType, at field: UnsafeMutableRawPointer) -> Bool {
        switch (value, type) {
        case (.int8(let v), .int8): field.storeBytes(of: UInt64(UInt8(bitPattern: v)), as: UInt64.self)
        case (.int16(let v), .int16): field.storeBytes(of: UInt64(UInt16(bitPattern: v)), as: UInt64.self)
        case (.int32(let v), .int32): field.storeBytes(of: UInt64(UInt32(bitPattern: v)), as: UInt64.self)
        case (.int64(let v), .int64): field.storeBytes(of: v, as: Int64.self)
        case (.uint8(let v), .uint8): field.storeBytes(of: UInt64(v), as: UInt64.self)
        case (.uint16(let v), .uint16): field.storeBytes(of: UInt64(v), as: UInt64.self)
        case (.uint32(let v), .uint32): field.storeBytes(of: UInt64(v), as: UInt64.self)
        case (.uint64(let v), .uint64): field.storeBytes(of: v, as: UInt64.self)
        case (.float(let v), .float): field.storeBytes(of: UInt64(v.bitPattern), as: UInt64.self)
        case (.double(let v), .double): field.storeBytes(of: v, as: Double.self)
        case (.bool(let v), .bool): field.storeBytes(of: v ? 1 : 0, as: UInt64.self)
        default: return false
        }
        return true
    }

    /// Checks `values` against `inputs` (the signature's parameters that take
    /// input) and appends their record. Nothing is appended when it throws.
    func append(_ values: [Value], inputs: [Signature.Parameter]) throws(InputError) {
        let recordSize = try Self.size(of: values, inputs: inputs)
        if capacity - size < recordSize { grow(toHold: recordSize) }
        Self.write(values, to: base + size)
        size += recordSize
        offsets.append(UInt64(size))
    }

    /// Checks every list of `batch` against `prepared`'s signature and returns
    /// where each record would start in a buffer of them laid end to end, and
    /// where the last ends (``write(_:to:)`` writes one).
    static func offsets(of batch: [[Value]], prepared: PreparedSignature) throws(InputError) -> [UInt64] {
        var offsets = [UInt64](repeating: 0, count: batch.count + 1)
        var end = 0
        for (index, values) in batch.enumerated() {
            end += try size(of: values, inputs: prepared.inputs)
            offsets[index + 1] = UInt64(end)
        }
        return offsets
    }

    /// Makes room for `extra` more bytes (at least doubling, keeping what is written).
    private func grow(toHold extra: Int) {
        let needed = size + extra
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: size)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// The record's size, once `values` are checked against `inputs`.
    static func size(of values: [Value], inputs: [Signature.Parameter]) throws(InputError) -> Int {
        guard values.count == inputs.count else {
            throw InputError(.wrongCount(expected: inputs.count, found: values.count), quote: Signature.inputJSON(values))
        }
        var size = 0
        for index in values.indices {
            let parameter = inputs[index]
            switch (parameter, values[index]) {
            case (.scalar(let type), let value) where value.scalarType == type:
                size += 8
            case (.string, .string(let text)):
                if containsNUL(text) { throw InputError(.nulInString, parameter: index, quote: text) }
                size += Int(fl_argument_field_size(FL_TYPE_STRING.rawValue, UInt64(text.utf8.count)))
            case (.bytes, .bytes(let bytes)):
                size += Int(fl_argument_field_size(FL_TYPE_BYTES.rawValue, UInt64(bytes.count)))
            case (_, let value):
                throw InputError(.wrongType(expected: parameter), parameter: index, quote: value.description)
            }
        }
        return size
    }

    /// Whether `text` holds U+0000 (memchr on its UTF-8 storage).
    private static func containsNUL(_ text: String) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { $0.isEmpty ? false : memchr($0.baseAddress!, 0, $0.count) != nil } ?? text.utf8.contains(0)
    }

    /// Writes the fields of `values` (checked by ``size(of:inputs:)``) at `field`,
    /// every byte of the record included (padding zeroed).
    static func write(_ values: [Value], to start: UnsafeMutableRawPointer) {
        var field = start
        for value in values {
            switch value {
            case .void: break
            case .int8(let v): field.storeBytes(of: UInt64(UInt8(bitPattern: v)), as: UInt64.self)
            case .int16(let v): field.storeBytes(of: UInt64(UInt16(bitPattern: v)), as: UInt64.self)
            case .int32(let v): field.storeBytes(of: UInt64(UInt32(bitPattern: v)), as: UInt64.self)
            case .int64(let v): field.storeBytes(of: v, as: Int64.self)
            case .uint8(let v): field.storeBytes(of: UInt64(v), as: UInt64.self)
            case .uint16(let v): field.storeBytes(of: UInt64(v), as: UInt64.self)
            case .uint32(let v): field.storeBytes(of: UInt64(v), as: UInt64.self)
            case .uint64(let v): field.storeBytes(of: v, as: UInt64.self)
            case .float(let v): field.storeBytes(of: UInt64(v.bitPattern), as: UInt64.self)
            case .double(let v): field.storeBytes(of: v, as: Double.self)
            case .bool(let v): field.storeBytes(of: v ? 1 : 0, as: UInt64.self)
            case .string(let text):
                var text = text
                field = text.withUTF8 { payload(UnsafeRawBufferPointer($0), field: field, type: FL_TYPE_STRING) }
                continue
            case .bytes(let bytes):
                field = bytes.withUnsafeBytes { payload($0, field: field, type: FL_TYPE_BYTES) }
                continue
            }
            field += 8
        }
    }

    /// Writes a string or bytes field (length, bytes, zero padding) at `field`; returns the next field.
    private static func payload(_ bytes: UnsafeRawBufferPointer, field: UnsafeMutableRawPointer,
                                type: fl_type) -> UnsafeMutableRawPointer {
        let fieldSize = Int(fl_argument_field_size(type.rawValue, UInt64(bytes.count)))
        field.storeBytes(of: UInt64(bytes.count), as: UInt64.self)
        // The last 8 bytes hold the end of the payload, a string's NUL and the padding.
        (field + fieldSize - 8).storeBytes(of: 0, as: UInt64.self)
        if let source = bytes.baseAddress, !bytes.isEmpty { (field + 8).copyMemory(from: source, byteCount: bytes.count) }
        return field + fieldSize
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
