#if canImport(Glibc)
import Glibc
#endif

/// One entry of a backtrace: an instruction address and, when it could be
/// resolved after the fact, where it is — the object file, the function, the
/// source line.
///
/// An address inside code the compiler inlined stands for several frames:
/// one per inlined function (``inlined`` true, innermost first), then the
/// function it was inlined into, all with the same ``address``.
public struct Frame: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The instruction address (the faulting instruction, then return addresses).
    public var address: UInt64
    /// The demangled name of the function (from `.symtab` when the object has
    /// one, else `.dynsym`); nil when no symbol contains the address.
    public var symbol: String?
    /// `address` minus the start of `symbol`, or of the image when there is no symbol.
    public var offset: UInt64?
    /// The path of the object file (executable or shared library) containing `address`.
    public var image: String?
    /// The image's GNU build-id in hex, when it has one.
    public var buildID: String?
    /// `address` minus the image's load bias: what symbolizers (`addr2line -e`,
    /// `llvm-symbolizer`) take, the same in every process that loads this build.
    public var imageOffset: UInt64?
    /// The source file, when debugging information names it.
    public var file: String?
    /// The source line, when known.
    public var line: Int?
    /// The source column, when known.
    public var column: Int?
    /// True for a function the compiler inlined into the next frame.
    public var inlined: Bool

    /// Creates a frame from already known parts.
    public init(address: UInt64, symbol: String? = nil, offset: UInt64? = nil, image: String? = nil,
                buildID: String? = nil, imageOffset: UInt64? = nil, file: String? = nil, line: Int? = nil,
                column: Int? = nil, inlined: Bool = false) {
        self.address = address
        self.symbol = symbol
        self.offset = offset
        self.image = image
        self.buildID = buildID
        self.imageOffset = imageOffset
        self.file = file
        self.line = line
        self.column = column
        self.inlined = inlined
    }

    enum CodingKeys: String, CodingKey {
        case address, symbol, offset, image, file, line, column, inlined
        case buildID = "build_id"
        case imageOffset = "image_offset"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(address: try container.decode(UInt64.self, forKey: .address),
                  symbol: try container.decodeIfPresent(String.self, forKey: .symbol),
                  offset: try container.decodeIfPresent(UInt64.self, forKey: .offset),
                  image: try container.decodeIfPresent(String.self, forKey: .image),
                  buildID: try container.decodeIfPresent(String.self, forKey: .buildID),
                  imageOffset: try container.decodeIfPresent(UInt64.self, forKey: .imageOffset),
                  file: try container.decodeIfPresent(String.self, forKey: .file),
                  line: try container.decodeIfPresent(Int.self, forKey: .line),
                  column: try container.decodeIfPresent(Int.self, forKey: .column),
                  inlined: try container.decodeIfPresent(Bool.self, forKey: .inlined) ?? false)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(address, forKey: .address)
        try container.encodeIfPresent(symbol, forKey: .symbol)
        try container.encodeIfPresent(offset, forKey: .offset)
        try container.encodeIfPresent(image, forKey: .image)
        try container.encodeIfPresent(buildID, forKey: .buildID)
        try container.encodeIfPresent(imageOffset, forKey: .imageOffset)
        try container.encodeIfPresent(file, forKey: .file)
        try container.encodeIfPresent(line, forKey: .line)
        try container.encodeIfPresent(column, forKey: .column)
        if inlined { try container.encode(true, forKey: .inlined) }
    }

    /// The image's file name without its directory.
    public var imageName: String? {
        image.map { path in path.split(separator: "/").last.map(String.init) ?? path }
    }

    /// The source file and line, `parser.c:88`, when known (the file's name without directories).
    public var sourceLocation: String? {
        guard let file else { return nil }
        let name = file.split(separator: "/").last.map(String.init) ?? file
        return line.map { "\(name):\($0)" } ?? name
    }

    /// `parse_header (parser.c:88)`, or `raise_a_fault+0x2a`, or
    /// `libfoo.so+0x1234`, or `0x7f…` when nothing is known.
    public var description: String {
        if let symbol, let location = sourceLocation { return "\(symbol) (\(location))" }
        if let symbol, let offset { return "\(symbol)+0x\(String(offset, radix: 16))" }
        if let symbol { return symbol }
        if let imageName, let offset = imageOffset ?? offset { return "\(imageName)+0x\(String(offset, radix: 16))" }
        return "0x\(String(address, radix: 16))"
    }
}
