import Faultline
import FaultlineTestSupport
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The sandbox of fork per call (ForkStrategy): prepared once in this process,
/// applied by each child after its initializer, right before the call.
final class SandboxForkTests: XCTestCase {
    private func strategy(_ symbol: String, _ sandbox: Sandbox = SandboxVictims.pure) throws -> ForkStrategy {
        try ForkStrategy(try Fixtures.victim(symbol), timeout: .seconds(30), sandbox: sandbox)
    }

    /// Each forbidden thing is a violation naming its call, cut at the call and
    /// named; the input after it returns.
    func testEveryForbiddenThingIsAViolationNamingItsCall() throws {
        for entry in SandboxVictims.forbidden {
            let fork = try strategy(entry.symbol)
            let outcomes = try fork.call([-1, 8])
            XCTAssertEqual(outcomes[1], .returned(8), entry.symbol)
            guard case .violation(let violation) = outcomes[0] else {
                XCTFail("\(entry.symbol): \(outcomes[0])")
                continue
            }
            XCTAssertEqual(violation.syscall?.name, entry.syscall, "\(entry.symbol): \(violation)")
            if entry.syscall != nil {
                XCTAssertEqual(violation.syscall?.arch, entry.arch, entry.symbol)
                XCTAssertTrue(violation.cutAtCall, "\(entry.symbol): \(violation.backtrace)")
                XCTAssertEqual(violation.culprit?.symbol, entry.symbol, "\(violation.backtrace)")
            }
        }
    }

    /// A thread under `pure`: a violation (at pthread_create's stack mapping, or,
    /// when glibc reuses a stack this process cached, at the blocked clone: no call named).
    func testAThreadUnderPureIsAViolation() throws {
        let outcome = try strategy("fl_sb_thread").call(-1)
        let violation = try XCTUnwrap(outcome.violation, "\(outcome)")
        XCTAssertTrue(violation.syscall == nil || violation.syscall?.name == "mmap", "\(violation)")
        XCTAssertEqual(try strategy("fl_sb_thread", Sandbox(.threads)).call(-4), .returned(-8))
    }

    /// Allowed work and crashes: the same outcomes as without a sandbox.
    func testAllowedWorkAndCrashesAreUnchanged() throws {
        let plain = ForkStrategy(try Fixtures.victim("fl_sb_compute"), timeout: .seconds(30))
        let inputs: [Int32] = [0, 1, -77, 1000, 65_537]
        XCTAssertEqual(Array(try strategy("fl_sb_compute").call(inputs)), Array(try plain.call(inputs)))
        for symbol in SandboxVictims.crashing {
            let expected = try XCTUnwrap(try ForkStrategy(try Fixtures.victim(symbol), timeout: .seconds(30)).call(5).fault, symbol)
            let fault = try XCTUnwrap(try strategy(symbol).call(5).fault, symbol)
            XCTAssertEqual(fault.signal, expected.signal, symbol)
            XCTAssertEqual(fault.bucket, expected.bucket, "\(symbol): \(fault.backtrace)")
        }
    }

    /// With a signature and an initializer: init runs before the sandbox (it may
    /// do what the call may not), Landlock answers EACCES outside the allowed path.
    func testSignatureCallsAndTheInitializer() throws {
        let function = try Fixtures.function("fl_sb_read_file", "int32(string)")
        let fork = try ForkStrategy(function, timeout: .seconds(30), sandbox: Sandbox(.pure, allowRead: ["/etc/hostname"]))
        let allowed = try fork.call(arguments: [.string("/etc/hostname")])
        XCTAssertGreaterThan(allowed.value?.integer ?? -1, 0, "\(allowed)")
        XCTAssertEqual(try fork.call(arguments: [.string("/etc/passwd")]), .returned(.int32(-EACCES), out: []))
        let initialized = try ForkStrategy(try Fixtures.victim("fl_cli_init_runs"), timeout: .seconds(30),
                                           initializer: try Initializer(library: Fixtures.victimsLibrary, symbol: "fl_cli_init_setup"),
                                           sandbox: SandboxVictims.pure)
        // Init ran in the child (its count of runs there is at least 1) before the sandbox closed.
        let runs = try XCTUnwrap(try initialized.call(3).returnedValue)
        XCTAssertTrue(runs >= 1003 && runs % 1000 == 3, "\(runs)")
    }

    /// What is enforced, measured once by a probe child.
    func testTheStatus() throws {
        let status = try XCTUnwrap(try strategy("fl_identity").sandboxStatus)
        XCTAssertTrue(status.seccomp && status.filesystem && status.networkNamespace && status.limits, "\(status)")
        XCTAssertNil(ForkStrategy(try Fixtures.victim("fl_identity")).sandboxStatus)
    }

    /// The fork server with a sandbox: a fresh sandboxed process per call.
    func testTheForkServer() throws {
        let server = try ForkServerStrategy(library: Fixtures.victimsLibrary, symbol: "fl_sb_kill_parent", timeout: .seconds(30),
                                            sandbox: SandboxVictims.pure)
        defer { server.pool.shutdown() }
        let outcomes = try server.call([1, -1, 2, -2, 3])
        XCTAssertEqual(outcomes.map { $0.violation?.syscall?.name ?? $0.description },
                       ["returned 1", "kill", "returned 2", "kill", "returned 3"])
        XCTAssertEqual(try XCTUnwrap(server.pool.sandboxStatus).seccomp, true)
    }
}
