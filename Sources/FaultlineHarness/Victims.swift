#if canImport(Glibc)
import Glibc
#endif
import Faultline

/// The victims: `libFaultlineVictims.so`, the native functions that misbehave
/// on purpose, where it is, and the three every bench row calls. The one place
/// the tests, the experiments and the bench learn where the library is.
public struct Victims: Sendable {
    /// `fl_identity`: the cheap, non-faulting callee.
    public var identity: NativeFunction
    /// `fl_mixed`: the mixed workloads (r >= 0 returns r; -1 to -7 fault in seven ways).
    public var mixed: NativeFunction
    /// `fl_null_write`: SIGSEGV at address 0.
    public var faulting: NativeFunction
    /// The library they come from.
    public var library: String

    /// Loads `fl_identity`, `fl_mixed` and `fl_null_write` from `library`.
    public init(library: String = Victims.library) throws {
        self.library = library
        identity = try NativeFunction(library: library, symbol: "fl_identity")
        mixed = try NativeFunction(library: library, symbol: "fl_mixed")
        faulting = try NativeFunction(library: library, symbol: "fl_null_write")
    }

    /// The path of the running executable (`/proc/self/exe` resolved).
    public static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The folder of the running executable.
    public static var executableFolder: String {
        let path = executablePath
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    /// `libFaultlineVictims.so` next to the running executable (where `swift build` puts it).
    public static var besideExecutable: String { executableFolder + "/libFaultlineVictims.so" }

    /// `libFaultlineVictims.so`: `$FAULTLINE_VICTIMS` when set, else ``besideExecutable``.
    public static var library: String {
        if let override = getenv("FAULTLINE_VICTIMS").map({ String(cString: $0) }), !override.isEmpty { return override }
        return besideExecutable
    }

    /// Loads one victim by name from ``library``.
    public static func function(_ symbol: String) throws -> NativeFunction {
        try NativeFunction(library: library, symbol: symbol)
    }
}
