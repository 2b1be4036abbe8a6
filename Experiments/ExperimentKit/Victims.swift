#if canImport(Glibc)
import Glibc
#endif
import Faultline

/// Where this executable and the victims library are.
public enum Victims {
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

    /// `libFaultlineVictims.so`: `$FAULTLINE_VICTIMS` when set, else next to the executable.
    public static var library: String {
        if let override = getenv("FAULTLINE_VICTIMS").map({ String(cString: $0) }), !override.isEmpty { return override }
        return executableFolder + "/libFaultlineVictims.so"
    }

    /// Loads one victim by name from ``library``.
    public static func function(_ symbol: String) throws -> NativeFunction {
        try NativeFunction(library: library, symbol: symbol)
    }

    /// Throws a one-line error when the library is missing, before any child is started.
    public static func check() throws {
        guard access(library, R_OK) == 0 else {
            throw UsageError("victims library not found at \(library) (build it, or set FAULTLINE_VICTIMS)")
        }
    }
}
