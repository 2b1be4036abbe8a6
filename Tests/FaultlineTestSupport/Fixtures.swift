import Faultline
#if canImport(Glibc)
import Glibc
#endif

/// Where the build put the things the tests load or run (shared by every test room).
public enum Fixtures {
    /// The folder of the test executable: SwiftPM puts the victims library and
    /// the `faultline` executable next to it.
    public static let buildDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = String(cString: Array(buffer[0..<max(0, count)]) + [0])
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        while let last = parts.last, !last.isEmpty {
            parts.removeLast()
            let folder = parts.joined(separator: "/")
            if access(folder + "/libFaultlineVictims.so", F_OK) == 0 { return folder }
        }
        return "."
    }()

    /// libFaultlineVictims.so, built by `swift build --build-tests`.
    public static var victimsLibrary: String { buildDirectory + "/libFaultlineVictims.so" }

    /// The `faultline` executable.
    public static var faultline: String { buildDirectory + "/faultline" }

    /// The victims library opened in this process, for plain C calls to compare with.
    nonisolated(unsafe) private static let openedVictims: UnsafeMutableRawPointer? = dlopen(
        victimsLibrary, RTLD_NOW | RTLD_LOCAL)

    /// A victim's address, for a plain C call through a typed function pointer
    /// (`nil` when the library or the symbol is missing).
    public static func address(_ symbol: String) -> UnsafeMutableRawPointer? {
        openedVictims.flatMap { dlsym($0, symbol) }
    }

    /// A victim loaded the way a user loads it, with its signature.
    public static func function(_ symbol: String, _ signature: String) throws -> NativeFunction {
        try NativeFunction(library: victimsLibrary, symbol: symbol, signature: Signature(parsing: signature))
    }

    /// Loads one victim by name, the way a user loads an unknown library.
    public static func victim(_ symbol: String) throws -> NativeFunction {
        try NativeFunction(library: victimsLibrary, symbol: symbol)
    }
}
