import FaultlineHarness
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Small C and C++ programs and libraries compiled here, for the source
/// symbolizer's tests, and the binutils that read them (`nm`, `readelf`,
/// `strip`, `objcopy`). Every tool runs as a child under a deadline; a test
/// is skipped when the machine has no compiler.
enum CompiledCode {
    /// A folder of this process's own.
    static let directory: String = {
        let path = NSTemporaryDirectory() + "faultline-symbols-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Runs `tool` with `arguments` (at most 60 s) and returns its stdout; fails the test on a non-zero exit.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("no \(tool)") }
        let (process, status) = try ChildProcess.run(tool, arguments, timeout: 60)
        XCTAssertEqual(status, .exitCode(0), "\(tool) \(arguments): \(process.standardError)", file: file, line: line)
        return process.standardOutput
    }

    /// Writes `source` to `<name>.c` (or `.cpp` when `cxx`) and compiles it with `flags` into `output`
    /// (a path in ``directory``). Returns the output's path.
    static func compile(_ name: String, _ source: String, cxx: Bool = false, compiler: String? = nil, flags: [String],
                        output: String) throws -> String {
        let sourcePath = directory + "/\(name).\(cxx ? "cpp" : "c")"
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        let outputPath = directory + "/" + output
        try run(compiler ?? (cxx ? "/usr/bin/c++" : "/usr/bin/cc"), flags + ["-o", outputPath, sourcePath])
        return outputPath
    }

    /// A shared library compiled from `source`.
    static func library(_ name: String, _ source: String, cxx: Bool = false, compiler: String? = nil, flags: [String]) throws -> String {
        try compile(name, source, cxx: cxx, compiler: compiler, flags: ["-shared", "-fPIC"] + flags, output: "lib\(name).so")
    }

    /// The clang of the Swift toolchain (beside `swift` on PATH), or nil.
    static var clang: String? {
        let paths = (getenv("PATH").map { String(cString: $0) } ?? "").split(separator: ":").map { String($0) + "/clang" }
        return (["/opt/swift/usr/bin/clang"] + paths).first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A copy of `path` at `copy` (in ``directory``).
    static func copy(_ path: String, to copy: String) throws -> String {
        let target = directory + "/" + copy
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: path, toPath: target)
        return target
    }

    /// One symbol of `nm -S` (the symbol table, or the dynamic one).
    struct Symbol {
        var value: UInt64
        var size: UInt64
        var type: Character
        var name: String
    }

    /// The sized, defined symbols of `path` (`nm -S --defined-only`, `-D` for the dynamic table).
    static func symbols(_ path: String, dynamic: Bool = false) throws -> [Symbol] {
        let text = try run("/usr/bin/nm", (dynamic ? ["-D"] : []) + ["-S", "--defined-only", path])
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 4, let value = UInt64(fields[0], radix: 16), let size = UInt64(fields[1], radix: 16),
                  let type = fields[2].first else { return nil }
            return Symbol(value: value, size: size, type: type, name: String(fields[3]))
        }
    }

    /// The symbol named `name` in `path`'s symbol table.
    static func symbol(_ name: String, in path: String) throws -> Symbol {
        try XCTUnwrap(symbols(path).first { $0.name == name }, "no \(name) in \(path)")
    }

    /// The GNU build-id of `path` as `readelf -n` prints it.
    static func buildID(_ path: String) throws -> String? {
        let text = try run("/usr/bin/readelf", ["-n", path])
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Build ID:") }) else { return nil }
        return line.split(separator: " ").last.map(String.init)
    }

    /// The address and size of section `name` of `path` (`readelf -SW`).
    static func section(_ name: String, of path: String) throws -> (address: UInt64, size: UInt64)? {
        let text = try run("/usr/bin/readelf", ["-SW", path])
        for line in text.split(separator: "\n") {
            guard let open = line.firstIndex(of: "]") else { continue }
            let fields = line[line.index(after: open)...].split(separator: " ")
            guard fields.count >= 6, fields[0] == name, let address = UInt64(fields[2], radix: 16),
                  let size = UInt64(fields[4], radix: 16) else { continue }
            return (address, size)
        }
        return nil
    }

    /// The 1-based number of the line of `source` that contains `marker`.
    static func line(of marker: String, in source: String) -> Int? {
        source.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(marker) }.map { $0 + 1 }
    }
}

/// A TCP listener on 127.0.0.1 that counts connections and closes each at once
/// (a debuginfod server that answers nothing), accepting on a thread of its own.
final class LocalServer: @unchecked Sendable {
    let port: UInt16
    private let socketFD: Int32
    private let lock = NSLock()
    private var count = 0
    private var stopped = false

    init() throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw XCTSkip("no socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                bind(socketFD, raw, length) == 0 && listen(socketFD, 16) == 0 && getsockname(socketFD, raw, &length) == 0
            }
        }
        guard bound else { close(socketFD); throw XCTSkip("cannot listen on 127.0.0.1") }
        self.socketFD = socketFD
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in serve() }
    }

    private func serve() {
        while !lock.withLock({ stopped }) {
            var entry = pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 50) > 0 else { continue }
            let client = accept(socketFD, nil, nil)
            if client >= 0 {
                close(client)
                lock.withLock { count += 1 }
            }
        }
        close(socketFD)
    }

    /// The connections seen so far, after waiting up to `seconds` for a first one.
    func connections(waiting seconds: Double) -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        while lock.withLock({ count }) == 0 && Date() < deadline { usleep(10_000) }
        return lock.withLock { count }
    }

    /// Stops accepting and closes the listener.
    func stop() { lock.withLock { stopped = true } }
}
