#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// A native function, its C ``Signature`` (`int32(int32)` unless told
/// otherwise), and where it came from.
///
/// Make one from a C function pointer or an address, or load one by name from
/// a shared library with ``init(library:symbol:signature:)``, which throws a
/// ``LoadError`` that names the path or the symbol instead of crashing.
///
/// ```swift
/// let mix = try NativeFunction(library: path, symbol: "mix", signature: Signature(parsing: "double(double, string)"))
/// let outcome = try GuardStrategy(mix).call(arguments: [.double(1.5), .string("abc")])
/// ```
public struct NativeFunction: @unchecked Sendable, CustomStringConvertible {
    /// The C shape of the default signature, `int f(int)`.
    public typealias Pointer = @convention(c) (Int32) -> Int32

    /// The function as an `int f(int)`: only meaningful when ``signature`` is
    /// ``Signature/default`` (the `Int32` calls of the strategies use it).
    public let pointer: Pointer
    /// The function's address.
    public let address: UnsafeRawPointer
    /// Its C signature; ``Signature/default`` (`int32(int32)`) unless given.
    public let signature: Signature
    /// The shared library it was loaded from, when loaded by name.
    public let library: String?
    /// Its symbol name, when loaded by name.
    public let symbol: String?
    /// The signature prepared for libffi, once per function.
    let prepared: PreparedSignature

    /// Wraps a function pointer you already have.
    public init(_ pointer: Pointer) {
        self.pointer = pointer
        self.address = unsafeBitCast(pointer, to: UnsafeRawPointer.self)
        self.signature = .default
        self.prepared = .default
        self.library = nil
        self.symbol = nil
    }

    /// Wraps the address of a C function whose signature is `signature`.
    ///
    /// ```swift
    /// let f = NativeFunction(address, signature: Signature(returning: nil, [.string]))
    /// ```
    public init(_ address: UnsafeRawPointer, signature: Signature) {
        self.pointer = unsafeBitCast(address, to: Pointer.self)
        self.address = address
        self.signature = signature
        self.prepared = signature == .default ? .default : PreparedSignature(signature)
        self.library = nil
        self.symbol = nil
    }

    /// Loads `symbol` from the shared library at `library` with
    /// `dlopen(RTLD_NOW | RTLD_LOCAL)` and `dlsym`. The library stays loaded.
    ///
    /// Loading runs the library's constructors in this process: a library
    /// that crashes while loading crashes the caller. The worker pool loads
    /// the library in its helper process instead.
    /// `signature` is the function's C signature (libffi is prepared for it here, once).
    public init(library: String, symbol: String, signature: Signature = .default) throws(LoadError) {
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            throw LoadError.libraryNotLoadable(path: library, reason: Self.lastError())
        }
        _ = dlerror()
        guard let address = dlsym(handle, symbol) else {
            throw LoadError.symbolNotFound(symbol: symbol, library: library)
        }
        self.pointer = unsafeBitCast(address, to: Pointer.self)
        self.address = UnsafeRawPointer(address)
        self.signature = signature
        self.prepared = signature == .default ? .default : PreparedSignature(signature)
        self.library = library
        self.symbol = symbol
    }

    /// `symbol` in `library`, or the pointer's address.
    public var description: String {
        if let symbol, let library { return "\(symbol) in \(library)" }
        return "function at \(Symbolizer.frame(for: UInt64(UInt(bitPattern: address))))"
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
