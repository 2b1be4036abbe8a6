#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// Turns instruction addresses into `Frame`s with names, outside any signal handler.
///
/// Uses `dladdr` (dynamic symbols of every loaded object), then demangles Swift
/// names with the runtime's `swift_demangle` and C++ names with `__cxa_demangle`
/// when the process has it. Resolution costs about half a millisecond per
/// backtrace, which is why handlers only record addresses.
public enum Symbolizer {
    /// Resolves a whole backtrace. The first address is the faulting
    /// instruction; the others are return addresses, looked up one byte
    /// earlier so that a call at the very end of a function names that function.
    public static func frames(for addresses: [UInt64]) -> [Frame] {
        addresses.enumerated().map { index, address in
            frame(for: address, isReturnAddress: index > 0)
        }
    }

    /// Resolves one address.
    public static func frame(for address: UInt64, isReturnAddress: Bool = false) -> Frame {
        var info = fl_symbol()
        let lookup = isReturnAddress && address > 0 ? address - 1 : address
        guard fl_symbol_lookup(lookup, &info) != 0 else { return Frame(address: address) }
        let image = info.image.map { String(cString: $0) }
        if let name = info.symbol, info.symbol_address != 0 {
            return Frame(address: address, symbol: demangle(String(cString: name)),
                         offset: address &- info.symbol_address, image: image)
        }
        return Frame(address: address, symbol: nil, offset: address &- info.image_base, image: image)
    }

    /// Demangles a Swift or C++ symbol; returns the input unchanged otherwise.
    public static func demangle(_ name: String) -> String {
        if name.hasPrefix("$s") || name.hasPrefix("_T") || name.hasPrefix("$S") {
            if let result = swiftDemangle(name) { return result }
        }
        if name.hasPrefix("_Z"), let result = cxxDemangle(name) { return result }
        return name
    }

    private static func swiftDemangle(_ name: String) -> String? {
        guard let raw = name.withCString({ _stdlib_demangleImpl($0, UInt(strlen($0)), nil, nil, 0) }) else { return nil }
        defer { free(raw) }
        return String(cString: raw)
    }

    private typealias CxaDemangle = @convention(c) (
        UnsafePointer<CChar>, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int32>?
    ) -> UnsafeMutablePointer<CChar>?

    private static func cxxDemangle(_ name: String) -> String? {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "__cxa_demangle") else { return nil }
        let function = unsafeBitCast(symbol, to: CxaDemangle.self)
        var status: Int32 = 0
        guard let raw = function(name, nil, nil, &status), status == 0 else { return nil }
        defer { free(raw) }
        return String(cString: raw)
    }
}

@_silgen_name("swift_demangle")
private func _stdlib_demangleImpl(
    _ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: UInt,
    _ outputBuffer: UnsafeMutablePointer<CChar>?, _ outputBufferSize: UnsafeMutablePointer<UInt>?,
    _ flags: UInt32
) -> UnsafeMutablePointer<CChar>?
