import CFaultline

/// Where a function pointer lives, so that a re-executed helper can find it again.
enum FunctionLocation {
    case library(path: String, symbol: String)
    case mainExecutable(offset: UInt64)
    case unknown

    init(_ pointer: NativeFunction.Pointer) {
        let address = UInt64(UInt(bitPattern: unsafeBitCast(pointer, to: UnsafeRawPointer.self)))
        let offset = fl_main_image_offset(pointer)
        if offset != 0 {
            self = .mainExecutable(offset: offset)
            return
        }
        var symbol = fl_symbol()
        if fl_symbol_lookup(address, &symbol) != 0, let name = symbol.symbol, let image = symbol.image,
           symbol.symbol_address == address {
            self = .library(path: String(cString: image), symbol: String(cString: name))
        } else {
            self = .unknown
        }
    }
}
