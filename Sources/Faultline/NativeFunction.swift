#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// A native function of the shape `int f(int)`, and where it came from.
///
/// Make one from a C function pointer, or load one by name from a shared
/// library with ``init(library:symbol:)``, which throws a ``LoadError`` that
/// names the path or the symbol instead of crashing.
public struct NativeFunction: @unchecked Sendable, CustomStringConvertible {
    /// The C signature every callee has.
    public typealias Pointer = @convention(c) (Int32) -> Int32

    /// The function itself.
    public let pointer: Pointer
    /// The shared library it was loaded from, when loaded by name.
    public let library: String?
    /// Its symbol name, when loaded by name.
    public let symbol: String?

    /// Wraps a function pointer you already have.
    public init(_ pointer: Pointer) {
        self.pointer = pointer
        self.library = nil
        self.symbol = nil
    }

    /// Loads `symbol` from the shared library at `library` with
    /// `dlopen(RTLD_NOW | RTLD_LOCAL)` and `dlsym`. The library stays loaded.
    ///
    /// Loading runs the library's constructors in this process: a library
    /// that crashes while loading crashes the caller. The worker pool loads
    /// the library in its helper process instead.
    public init(library: String, symbol: String) throws(LoadError) {
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            throw LoadError.libraryNotLoadable(path: library, reason: Self.lastError())
        }
        _ = dlerror()
        guard let address = dlsym(handle, symbol) else {
            throw LoadError.symbolNotFound(symbol: symbol, library: library)
        }
        self.pointer = unsafeBitCast(address, to: Pointer.self)
        self.library = library
        self.symbol = symbol
    }

    /// `symbol` in `library`, or the pointer's address.
    public var description: String {
        if let symbol, let library { return "\(symbol) in \(library)" }
        return "function at \(Symbolizer.frame(for: UInt64(UInt(bitPattern: unsafeBitCast(pointer, to: UnsafeRawPointer.self)))))"
    }

    private static func lastError() -> String {
        dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
    }
}

/// Why a native function could not be loaded.
public enum LoadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `dlopen` refused the file (missing, not a shared object, missing dependency…).
    case libraryNotLoadable(path: String, reason: String)
    /// The library loaded but does not export the symbol.
    case symbolNotFound(symbol: String, library: String)

    /// One line naming the path or the symbol.
    public var description: String {
        switch self {
        case .libraryNotLoadable(let path, let reason):
            "cannot load library '\(path)': \(reason)"
        case .symbolNotFound(let symbol, let library):
            "symbol '\(symbol)' not found in '\(library)'"
        }
    }
}
