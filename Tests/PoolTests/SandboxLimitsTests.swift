import Faultline
import FaultlineTestSupport
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What a sandbox's paths, network and limits do to a callee, in a pool and
/// the fork server: a path outside the allowed ones is EACCES (a return, not a
/// violation); limits end the call with their signal or errno.
final class SandboxLimitsTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/faultline-sandbox-XXXXXX".utf8CString)
        folder = try XCTUnwrap(mkdtemp(&template).map { String(cString: $0) })
        try "allowed\n".write(toFile: folder + "/readable", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder + "/out", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func pool(_ symbol: String, _ signature: String, _ sandbox: Sandbox, recycleAfter: Int? = nil) throws -> WorkerPool {
        try WorkerPool(library: Fixtures.victimsLibrary, symbol: symbol, signature: Signature(parsing: signature),
                       configuration: .init(workers: 1, timeout: .seconds(30), recycleAfter: recycleAfter, sandbox: sandbox))
    }

    /// Landlock: the allowed file reads; another file is EACCES, a missing one ENOENT (Landlock
    /// does not hide whether a path exists): the callee's errors, never violations.
    func testReadingOutsideTheAllowedPathsIsEACCES() throws {
        for recycle in [nil, 1] as [Int?] {
            let pool = try pool("fl_sb_read_file", "int32(string)", Sandbox(.pure, allowRead: [folder + "/readable"]), recycleAfter: recycle)
            defer { pool.shutdown() }
            let outcomes = try pool.run(arguments: [[.string(folder + "/readable")], [.string("/etc/passwd")],
                                                    [.string(folder + "/missing")]])
            XCTAssertEqual(Array(outcomes), [.returned(.int32(8), out: []), .returned(.int32(-EACCES), out: []),
                                             .returned(.int32(-ENOENT), out: [])])
        }
        // Without a path, opening anything is a violation (openat is not allowed at all).
        let closed = try pool("fl_sb_read_file", "int32(string)", Sandbox(.pure))
        defer { closed.shutdown() }
        XCTAssertEqual(try closed.run(arguments: [[.string(folder + "/readable")]])[0].violation?.syscall?.name, "openat")
    }

    /// A write path takes new files; outside it, creating is EACCES; the file size limit is SIGXFSZ.
    func testWritingAndTheFileSizeLimit() throws {
        let sandbox = Sandbox(.pure, allowWrite: [folder + "/out"], fileSizeLimit: 10_000)
        let pool = try pool("fl_sb_write_file", "int32(string, int32)", sandbox)
        defer { pool.shutdown() }
        let outcomes = try pool.run(arguments: [[.string(folder + "/out/a"), .int32(100)], [.string(folder + "/b"), .int32(10)],
                                                [.string(folder + "/out/c"), .int32(20_000)]])
        XCTAssertEqual(outcomes[0], .returned(.int32(100), out: []))
        XCTAssertEqual(outcomes[1], .returned(.int32(-EACCES), out: []))
        XCTAssertEqual(outcomes[2].signal, Signal(SIGXFSZ), "\(outcomes[2])")
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: folder + "/out/a")[.size] as? Int), 100)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/b"))
    }

    /// RLIMIT_NOFILE: the callee cannot open past it (EMFILE).
    func testTheOpenFilesLimit() throws {
        let sandbox = Sandbox(.pure, allowRead: [folder], openFilesLimit: 16)
        let pool = try pool("fl_sb_open_many", "int32(string, int32)", sandbox, recycleAfter: 1)
        defer { pool.shutdown() }
        let outcomes = try pool.run(arguments: [[.string(folder + "/readable"), .int32(4)], [.string(folder + "/readable"), .int32(40)]])
        XCTAssertEqual(Array(outcomes), [.returned(.int32(4), out: []), .returned(.int32(-EMFILE), out: [])])
    }

    /// RLIMIT_CPU: a callee that spins is killed by SIGXCPU; the next input is answered.
    func testTheCPULimit() throws {
        for recycle in [nil, 1] as [Int?] {
            let pool = try WorkerPool(library: Fixtures.victimsLibrary, symbol: "fl_sb_burn_cpu",
                                      configuration: .init(workers: 1, timeout: .seconds(30), recycleAfter: recycle,
                                                           sandbox: Sandbox(.pure, cpuLimit: 1)))
            defer { pool.shutdown() }
            let outcomes = try pool.run([-1, 6])
            XCTAssertEqual(outcomes[0].signal, Signal(SIGXCPU), "\(outcomes[0])")
            XCTAssertEqual(outcomes[1], .returned(6))
        }
    }

    /// Network: with `none`, no rule may allow socket; with `host` and a rule
    /// allowing UDP sockets only, the datagram goes out (the call returns 1)
    /// and a TCP socket is still a violation.
    func testTheNetworkSetting() throws {
        let udp = SyscallRule("socket", conditions: [.init(argument: 0, .equal, UInt64(AF_INET)),
                                                     .init(argument: 1, .equal, UInt64(SOCK_DGRAM.rawValue))])
        XCTAssertThrowsError(try WorkerPool(library: Fixtures.victimsLibrary, symbol: "fl_sb_sendto_udp",
                                            configuration: .init(workers: 1, sandbox: Sandbox(.pure, rules: [udp])))) { error in
            XCTAssertEqual(error as? SandboxError, .socketWithoutNetwork("socket", where: "--allow-syscall 'socket'"))
        }
        let sandbox = Sandbox(.pure, rules: [udp, SyscallRule("close")], network: .host)
        let pool = try WorkerPool(library: Fixtures.victimsLibrary, symbol: "fl_sb_sendto_udp",
                                  configuration: .init(workers: 1, sandbox: sandbox))
        defer { pool.shutdown() }
        XCTAssertEqual(try pool.call(-1), .returned(1))
        let tcp = try WorkerPool(library: Fixtures.victimsLibrary, symbol: "fl_sb_socket",
                                 configuration: .init(workers: 1, sandbox: sandbox))
        defer { tcp.shutdown() }
        XCTAssertEqual(try tcp.call(-1).violation?.syscall?.name, "socket")
    }

    /// Rules the sandbox never takes, and paths it cannot open, are errors before any call.
    func testBadRulesAndPathsAreErrors() {
        let cases: [(Sandbox, SandboxError)] = [
            (Sandbox(.pure, rules: [SyscallRule("ptrace")]), .guarded("ptrace", where: "--allow-syscall 'ptrace'")),
            (Sandbox(.pure, rules: [SyscallRule("clone")]), .guarded("clone", where: "--allow-syscall 'clone'")),
            (Sandbox(.pure, rules: [SyscallRule("no_such_call")]), .unknownSyscall("no_such_call", where: "--allow-syscall 'no_such_call'")),
            (Sandbox(.pure, allowRead: ["/no/such/path"]), .unopenablePath("/no/such/path", Errno(ENOENT))),
            (Sandbox(.pure, cpuLimit: 0), .invalidLimit("the CPU limit must be at least 1 second, got 0")),
        ]
        for (sandbox, expected) in cases {
            XCTAssertThrowsError(try WorkerPool(library: Fixtures.victimsLibrary, symbol: "fl_identity",
                                                configuration: .init(workers: 1, sandbox: sandbox))) { error in
                XCTAssertEqual(error as? SandboxError, expected)
            }
        }
    }
}
