#if canImport(Glibc)
import Glibc
#endif

/// One entry of a backtrace: an instruction address and, when it could be
/// resolved after the fact, the function and the object file that contain it.
public struct Frame: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The instruction address (the faulting instruction, then return addresses).
    public var address: UInt64
    /// The demangled name of the enclosing function, if the dynamic symbol table has one.
    public var symbol: String?
    /// `address` minus the start of `symbol`.
    public var offset: UInt64?
    /// The path of the object file (executable or shared library) containing `address`.
    public var image: String?

    /// Creates a frame from already known parts.
    public init(address: UInt64, symbol: String? = nil, offset: UInt64? = nil, image: String? = nil) {
        self.address = address
        self.symbol = symbol
        self.offset = offset
        self.image = image
    }

    /// `raise_a_fault+0x2a`, or `libfoo.so+0x1234`, or `0x7f…` when nothing is known.
    public var description: String {
        if let symbol, let offset { return "\(symbol)+0x\(String(offset, radix: 16))" }
        if let image, let offset { return "\(image.split(separator: "/").last.map(String.init) ?? image)+0x\(String(offset, radix: 16))" }
        return "0x\(String(address, radix: 16))"
    }
}
