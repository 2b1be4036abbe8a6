import Faultline
import FaultlineTestSupport
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The sandbox of the pool's workers and of the fork server, through the Swift
/// API: every forbidden thing is a violation naming its system call, with a
/// backtrace cut at the call and named; every other input keeps its outcome;
/// allowed work and crashes are what they are without a sandbox.
final class SandboxPoolTests: XCTestCase {
    private func pool(_ symbol: String, _ sandbox: Sandbox? = SandboxVictims.pure, workers: Int = 2, recycleAfter: Int? = nil,
                      timeout: Duration? = .seconds(30)) throws -> WorkerPool {
        try WorkerPool(library: Fixtures.victimsLibrary, symbol: symbol,
                       configuration: .init(workers: workers, timeout: timeout, recycleAfter: recycleAfter, sandbox: sandbox))
    }

    /// Checks a violation against the victims' table.
    private func assertViolation(_ outcome: Outcome, _ entry: SandboxVictims.Entry, _ context: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        guard case .violation(let violation) = outcome else {
            return XCTFail("\(context): \(entry.symbol): \(outcome)", file: file, line: line)
        }
        guard let name = entry.syscall else {
            XCTAssertNil(violation.syscall, "\(context): \(entry.symbol)", file: file, line: line)
            XCTAssertEqual(violation.bucket, "violation:unknown:", file: file, line: line)
            return
        }
        XCTAssertEqual(violation.syscall?.name, name, "\(context): \(entry.symbol): \(violation)", file: file, line: line)
        XCTAssertEqual(violation.syscall?.arch, entry.arch, "\(context): \(entry.symbol)", file: file, line: line)
        XCTAssertEqual(violation.syscall?.args.count, 6, file: file, line: line)
        XCTAssertNotNil(violation.pc, file: file, line: line)
        XCTAssertTrue(violation.cutAtCall, "\(context): \(entry.symbol): \(violation.backtrace)", file: file, line: line)
        XCTAssertEqual(violation.backtrace.last?.symbol, entry.symbol, "\(context): \(violation.backtrace)", file: file, line: line)
        XCTAssertEqual(violation.culprit?.symbol, entry.symbol, file: file, line: line)
        if entry.arch == "x86_64" { // int 0x80's return address has no line of its own
            XCTAssertTrue(violation.backtrace.last?.sourceLocation?.hasPrefix("sandbox_victims.c:") ?? false,
                          "\(context): \(violation.backtrace)", file: file, line: line)
        }
        XCTAssertTrue(violation.bucket.hasPrefix("violation:\(name):"), violation.bucket, file: file, line: line)
        XCTAssertTrue(Outcome.violation(violation).description.hasPrefix("violation: \(name)("), file: file, line: line)
    }

    /// Each forbidden thing, in a pool and in the fork server: its input is a
    /// violation, the innocent inputs around it return.
    func testEveryForbiddenThingIsAViolationNamingItsCall() throws {
        for (context, recycle) in [("pool", nil), ("fork server", 1)] as [(String, Int?)] {
            for entry in SandboxVictims.forbidden {
                let pool = try pool(entry.symbol, recycleAfter: recycle)
                defer { pool.shutdown() }
                let outcomes = try pool.run([4, -1, 5])
                XCTAssertEqual(outcomes[0], .returned(4), "\(context): \(entry.symbol)")
                XCTAssertEqual(outcomes[2], .returned(5), "\(context): \(entry.symbol)")
                assertViolation(outcomes[1], entry, context)
            }
        }
    }

    /// The exact calls: socket(AF_INET, SOCK_STREAM, 0); mmap's PROT_EXEC; rt_sigaction(SIGSYS, …).
    func testAViolationCarriesTheArgumentsOfItsCall() throws {
        let cases: [(String, (Violation.Syscall) -> Bool)] = [
            ("fl_sb_socket", { Array($0.args.prefix(3)) == [2, 1, 0] }),
            ("fl_sb_mmap_exec", { $0.args[2] == 7 && $0.args[1] == 4096 }),
            ("fl_sb_sigsys_handler", { $0.args[0] == 31 }),
            ("fl_sb_kill_parent", { $0.args[1] == 9 }),
        ]
        for (symbol, check) in cases {
            let pool = try pool(symbol, workers: 1)
            defer { pool.shutdown() }
            let outcome = try pool.call(-1)
            let call = try XCTUnwrap(outcome.violation?.syscall, "\(symbol): \(outcome)")
            XCTAssertTrue(check(call), "\(symbol): \(call)")
        }
    }

    /// A thread under `pure` is a violation at pthread_create's mapping of its
    /// stack (MAP_STACK), before glibc blocks every signal around clone.
    func testAThreadUnderPureIsAViolationAtPthreadCreate() throws {
        let pool = try pool("fl_sb_thread")
        defer { pool.shutdown() }
        let outcomes = try pool.run([-1, 7])
        let violation = try XCTUnwrap(outcomes[0].violation, "\(outcomes[0])")
        XCTAssertEqual(violation.syscall?.name, "mmap")
        XCTAssertEqual(violation.syscall.map { $0.args[3] & UInt64(MAP_STACK) }, UInt64(MAP_STACK))
        XCTAssertTrue(violation.backtrace.contains { $0.symbol?.hasPrefix("pthread_create") ?? false }, "\(violation.backtrace)")
        XCTAssertEqual(outcomes[1], .returned(7))
    }

    /// `threads` allows what pthread_create and join need: the thread's value comes back.
    func testTheThreadsPresetRunsThreads() throws {
        for recycle in [nil, 1] as [Int?] {
            let pool = try pool("fl_sb_thread", Sandbox(.threads), recycleAfter: recycle)
            defer { pool.shutdown() }
            XCTAssertEqual(Array(try pool.run([-5, -21, 3])), [.returned(-10), .returned(-42), .returned(3)])
        }
    }

    /// Among 600 inputs, one in ten opens a socket: each of those is a violation
    /// and every other input returns its value; the pool stays at strength.
    func testViolationsFailOnlyTheirOwnInputs() throws {
        let pool = try pool("fl_sb_socket")
        defer { pool.shutdown() }
        let inputs = (0..<600).map { Int32($0 % 10 == 3 ? -$0 : $0) }
        let outcomes = try pool.run(inputs)
        for (input, outcome) in zip(inputs, outcomes) {
            if input < 0 {
                XCTAssertEqual(outcome.violation?.syscall?.name, "socket", "input \(input): \(outcome)")
            } else {
                XCTAssertEqual(outcome, .returned(input))
            }
        }
        XCTAssertEqual(pool.statistics.liveWorkers, 2)
        XCTAssertGreaterThanOrEqual(pool.statistics.workerDeaths, 60)
    }

    /// Allowed work (malloc, printf to stdout and stderr, free) gives what it gives without a sandbox.
    func testAllowedWorkGivesTheSameResults() throws {
        let inputs = (0..<64).map { Int32($0 * 37 - 500) }
        let plain = try pool("fl_sb_compute", nil)
        defer { plain.shutdown() }
        for sandbox in [Sandbox(.pure), Sandbox(.threads), Sandbox(.pure, network: .host)] {
            for recycle in [nil, 1] as [Int?] {
                let boxed = try pool("fl_sb_compute", sandbox, recycleAfter: recycle)
                defer { boxed.shutdown() }
                XCTAssertEqual(Array(try boxed.run(inputs)), Array(try plain.run(inputs)), "\(sandbox.preset) \(String(describing: recycle))")
            }
        }
    }

    /// A crash in a sandbox is the crash it is without one: same signal, same bucket, named frames.
    func testCrashesAreReportedAsWithoutASandbox() throws {
        for symbol in SandboxVictims.crashing {
            let plain = try pool(symbol, nil, workers: 1)
            defer { plain.shutdown() }
            let boxed = try pool(symbol, workers: 1)
            defer { boxed.shutdown() }
            let expected = try XCTUnwrap(try plain.call(5).fault, symbol)
            for _ in 0..<2 {
                let fault = try XCTUnwrap(try boxed.call(5).fault, symbol)
                XCTAssertEqual(fault.signal, expected.signal, symbol)
                XCTAssertEqual(fault.bucket, expected.bucket, "\(symbol): \(fault.backtrace) vs \(expected.backtrace)")
                XCTAssertEqual(fault.message, expected.message, symbol)
            }
        }
    }

    /// What this machine enforces (notes: Landlock ABI 7, seccomp, user and network namespaces).
    func testTheStatusSaysWhatIsEnforced() throws {
        let strict = try pool("fl_identity", Sandbox(.pure, strict: true))
        defer { strict.shutdown() }
        let status = try XCTUnwrap(strict.sandboxStatus)
        XCTAssertTrue(status.seccomp && status.filesystem && status.networkNamespace && status.limits, "\(status)")
        XCTAssertTrue(status.tcp && status.abstractUnixSockets, "\(status)")
        XCTAssertGreaterThanOrEqual(status.landlockABI, 6)
        XCTAssertGreaterThan(status.seccompRules, 30)
        XCTAssertEqual(status.missing(for: Sandbox(.pure)), [])
        let host = try pool("fl_identity", Sandbox(.pure, network: .host))
        defer { host.shutdown() }
        let hostStatus = try XCTUnwrap(host.sandboxStatus)
        XCTAssertFalse(hostStatus.networkNamespace || hostStatus.tcp, "\(hostStatus)")
        XCTAssertNil(try pool("fl_identity", nil).sandboxStatus)
    }

    /// --strict refuses what is missing, by name (a status that lacks things, as a kernel without them gives).
    func testStrictNamesWhatIsMissing() {
        let status = SandboxStatus(landlockABI: 0, filesystem: false, tcp: false, abstractUnixSockets: false, seccomp: true,
                                   seccompRules: 40, networkNamespace: false, limits: true)
        XCTAssertEqual(status.missing(for: Sandbox(.pure)), ["Landlock (not in this kernel)", "a network namespace"])
        XCTAssertEqual(status.missing(for: Sandbox(.pure, network: .host)), ["Landlock (not in this kernel)"])
        let error = SandboxError.notEnforced(missing: status.missing(for: Sandbox(.pure)), status: status)
        XCTAssertTrue(error.description.contains("missing Landlock (not in this kernel), a network namespace"), error.description)
    }
}
