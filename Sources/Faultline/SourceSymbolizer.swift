#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import CFaultlineSymbols
import Synchronization

/// One function frame of an address, as the image's symbols and DWARF say:
/// an address inside inlined code has several, the innermost first.
public struct SourceFrame: Hashable, Sendable, Codable {
    /// The demangled function name, with the compiler's suffixes kept
    /// (`f.cold`, `g(int) [clone .isra.0]`; see ``SourceSymbolizer/baseName(_:)``);
    /// nil when no symbol contains the address.
    public var symbol: String?
    /// The image offset asked for minus the function's start (the real function's frame only).
    public var symbolOffset: UInt64?
    /// The source file, as the DWARF line table names it (usually absolute).
    public var file: String?
    /// The source line, when the image or its debug file has a line table.
    public var line: Int?
    /// The source column, when the compiler recorded one.
    public var column: Int?
    /// True for a function inlined into the next frame; false for the last, real, function.
    public var inlined: Bool

    /// Creates a frame from known parts.
    public init(symbol: String? = nil, symbolOffset: UInt64? = nil, file: String? = nil, line: Int? = nil,
                column: Int? = nil, inlined: Bool = false) {
        self.symbol = symbol
        self.symbolOffset = symbolOffset
        self.file = file
        self.line = line
        self.column = column
        self.inlined = inlined
    }
}

/// Names code addresses at the source level: function (static and local ones
/// too), file, line, column, and the functions inlined there. For crash
/// reports, after the fact: never in a signal handler.
///
/// The work is C's (CFaultlineSymbols, over elfutils' libdwfl, loaded with
/// dlopen on the first look-up): one Dwfl per image, opened on first use;
/// names from `.symtab`, else `.dynsym`, and only from a symbol whose extent
/// contains the address (a stripped library's local function has no name
/// rather than a wrong one); DWARF from the image or a separate debug file
/// found locally (build-id, `.gnu_debuglink`).
/// debuginfod is off unless the environment has `FAULTLINE_DEBUGINFOD=1`
/// (then `DEBUGINFOD_URLS` is honoured). Names are demangled here (C++ and
/// Swift, as ``Symbolizer/demangle(_:)``).
///
/// Each distinct (image, offset, return address or not) is resolved once: the
/// image is its build-id when known, else its path. The cache holds at most
/// 65,536 entries and starts over when full.
public enum SourceSymbolizer {
    private enum Image: Hashable {
        case buildID([UInt8])
        case path(String)
    }

    private struct Key: Hashable {
        var image: Image
        var offset: UInt64
        var isReturnAddress: Bool
    }

    private static let cache = Mutex<[Key: [SourceFrame]]>([:])
    private static let cacheLimit = 65_536

    /// The frames of image offset `offset` in the object file at `image`,
    /// innermost inlined function first, the real function last; empty when
    /// nothing is known (no symbol contains the address and there is no line
    /// table, or the file is missing, or its build-id is not `buildID`).
    /// A return address (`isReturnAddress`) is looked up at `offset - 1`.
    public static func resolve(image: String, buildID: [UInt8]?, offset: UInt64, isReturnAddress: Bool) -> [SourceFrame] {
        let id = buildID.flatMap { $0.isEmpty ? nil : $0 }
        let key = Key(image: id.map(Image.buildID) ?? .path(image), offset: offset, isReturnAddress: isReturnAddress)
        if let known = cache.withLock({ $0[key] }) { return known }
        guard let frames = lookUp(image: image, buildID: id, offset: offset, isReturnAddress: isReturnAddress) else { return [] }
        cache.withLock { cache in
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = frames
        }
        return frames
    }

    /// The frames of an instruction address of this process (its image found
    /// with ``ImageLocation/locate(_:)``); empty when no loaded object contains it.
    public static func resolve(address: UInt64, isReturnAddress: Bool) -> [SourceFrame] {
        guard let image = ImageLocation.locate(address) else { return [] }
        return resolve(image: image.path, buildID: image.buildID, offset: image.offset(of: address),
                       isReturnAddress: isReturnAddress)
    }

    /// True when elfutils' libdw.so.1 can be loaded (it is loaded on first use, not linked);
    /// without it every look-up gives no frames.
    public static var isAvailable: Bool { fl_symbols_available() != 0 }

    /// The name without the suffixes compilers add to clones and split parts:
    /// `.cold`, `.isra.N`, `.constprop.N`, `.part.N`, `.lto_priv.N`,
    /// `.localalias`, `.llvm.N`, and C++'s demangled ` [clone .isra.0]`.
    /// `inflate.part.0` and `f(int) [clone .cold]` become `inflate` and `f(int)`.
    public static func baseName(_ symbol: String) -> String {
        let suffixes: Set<Substring> = ["cold", "isra", "constprop", "part", "lto_priv", "localalias", "llvm"]
        var name = Substring(symbol)
        while true {
            if name.hasSuffix("]"), let open = name.lastIndex(of: "["), open > name.startIndex,
               name[name.index(after: open)...].hasPrefix("clone ."), name[name.index(before: open)] == " " {
                name = name[..<name.index(before: open)]
                continue
            }
            guard let dot = name.lastIndex(of: "."), dot > name.startIndex else { break }
            let last = name[name.index(after: dot)...]
            if suffixes.contains(last) {
                name = name[..<dot]
                continue
            }
            guard !last.isEmpty, last.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let previous = name[..<dot].lastIndex(of: "."), previous > name.startIndex,
                  suffixes.contains(name[name.index(after: previous)..<dot]) else { break }
            name = name[..<previous]
        }
        return String(name)
    }

    /// A build-id in lower-case hex, as `readelf -n` and `/usr/lib/debug/.build-id/` spell it.
    public static func buildIDHex(_ buildID: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(buildID.count * 2)
        for byte in buildID {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Closes the image files the symbolizer keeps open (at most 64: one
    /// descriptor per image, more for separate debug files) and returns the
    /// memory of their indexes, keeping the names already resolved. An image
    /// needed again is opened again (~0.1 ms).
    public static func closeImages() {
        fl_symbols_close_all()
    }

    /// Forgets every resolved frame and ends every open image: the next
    /// look-ups are cold (for measurements, or to give the memory back).
    @_spi(Measurement)
    public static func clearCaches() {
        cache.withLock { $0.removeAll() }
        fl_symbols_close_all()
    }

    /// A C++ (`_Z`) or Swift (`$s`, `$S`, `_T`) name demangled; any other name as it is.
    private static func demangled(_ name: String) -> String {
        let mangled = name.hasPrefix("_Z") || name.hasPrefix("$s") || name.hasPrefix("$S") || name.hasPrefix("_T")
        return mangled ? Symbolizer.demangle(name) : name
    }

    /// C's answer as frames; nil when it could not answer for lack of memory (not kept).
    private static func lookUp(image: String, buildID: [UInt8]?, offset: UInt64, isReturnAddress: Bool) -> [SourceFrame]? {
        var result: UnsafeMutablePointer<fl_source_frames>?
        let status = (buildID ?? []).withUnsafeBufferPointer { id in
            fl_symbols_resolve(image, id.baseAddress, id.count, offset, isReturnAddress ? 1 : 0, &result)
        }
        defer { fl_symbols_free(result) }
        guard status != Int32(FL_SYMBOLS_NO_MEMORY) else { return nil }
        guard status == Int32(FL_SYMBOLS_OK), let result else { return [] }
        return (0..<Int(result.pointee.count)).map { index in
            let frame = result.pointee.frames[index]
            return SourceFrame(
                symbol: frame.symbol.map { demangled(String(cString: $0)) },
                symbolOffset: frame.has_symbol_offset != 0 ? frame.symbol_offset : nil,
                file: frame.file.map { String(cString: $0) },
                line: frame.line > 0 ? Int(frame.line) : nil,
                column: frame.column > 0 ? Int(frame.column) : nil,
                inlined: frame.inlined != 0)
        }
    }
}
