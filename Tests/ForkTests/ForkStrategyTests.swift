import CFaultline
import FaultlineTestSupport
import Foundation
import CFaultlineLab
import Faultline
import FaultlineHarness
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Fork isolation gives the exact outcome for every victim in the zoo.
final class ForkStrategyTests: XCTestCase {
    private func outcome(_ symbol: String, _ input: Int32 = 5, timeout: Duration? = nil) throws -> Outcome {
        try ForkStrategy(Fixtures.victim(symbol), timeout: timeout).call(input)
    }

    func testEveryVictimHasItsExactOutcome() throws {
        let signals: [(String, Int32)] = [
            ("raise_a_fault", SIGSEGV), ("fl_null_write", SIGSEGV), ("fl_bus_error", SIGBUS),
            ("fl_divide_by_zero", SIGFPE), ("fl_illegal_instruction", SIGILL), ("fl_breakpoint", SIGTRAP),
            ("fl_abort", SIGABRT), ("fl_stack_overflow", SIGSEGV), ("fl_fault_in_thread", SIGSEGV),
            ("fl_double_free", SIGABRT), ("fl_raise_segv", SIGSEGV), ("fl_fault_with_segv_blocked", SIGSEGV),
            ("fl_fault_holding_lock", SIGSEGV), ("fl_leak_then_fault", SIGSEGV),
        ]
        for (symbol, signal) in signals {
            XCTAssertEqual(try outcome(symbol).signal, Signal(signal), symbol)
        }
        XCTAssertEqual(try outcome("fl_exit", 100), .exited(status: 100))
        XCTAssertEqual(try outcome("fl_exit", 0), .exited(status: 0))
        XCTAssertEqual(try outcome("fl_exit_zero", 9), .exited(status: 0))
        XCTAssertEqual(try outcome("fl_noisy", 7), .returned(7))
        XCTAssertEqual(try outcome("raise_a_fault", 2), .returned(2))
    }

    func testFaultInChildCarriesAddressAndBacktrace() throws {
        let fault = try XCTUnwrap(try outcome("raise_a_fault", 4).fault)
        XCTAssertEqual(fault.address, 0)
        XCTAssertTrue(fault.backtrace.contains { $0.symbol == "raise_a_fault" }, "\(fault.backtrace)")
        let threaded = try XCTUnwrap(try outcome("fl_fault_in_thread", 1).fault)
        XCTAssertTrue(threaded.backtrace.contains { $0.symbol?.contains("write_through_null") == true || $0.symbol == "fl_fault_in_thread" || $0.image?.hasSuffix("libFaultlineVictims.so") == true })
        // The kernel kills a fault with the signal blocked before any handler runs: exact signal, no details.
        let blocked = try XCTUnwrap(try outcome("fl_fault_with_segv_blocked").fault)
        XCTAssertEqual(blocked.signal, .segmentationFault)
        XCTAssertTrue(blocked.backtrace.isEmpty)
    }

    /// A callee's own SA_ONSTACK handler that recurses without end runs on the
    /// child's alternate stack (fl_altstack_overflow). The guard page below that
    /// stack ends the child with SIGSEGV on a protected page, reported in full
    /// (nothing below the stack was run over), long before the watchdog deadline;
    /// without it the recursion ran on through memory below (reports lost, or a spin).
    func testACalleeHandlerOverflowingTheAlternateStackEndsWithSIGSEGV() throws {
        let strategy = ForkStrategy(try Fixtures.victim("fl_altstack_overflow"), timeout: .seconds(20))
        let outcome = try strategy.call(-1)
        if case .timedOut = outcome { XCTFail("the overflow ran until the watchdog: \(outcome)") }
        let fault = try XCTUnwrap(outcome.fault, "\(outcome)")
        XCTAssertEqual(fault.signal, .segmentationFault)
        XCTAssertEqual(fault.code, 2 /* SEGV_ACCERR: the guard page */, "\(fault)")
        XCTAssertNotNil(fault.address, "the report was lost: \(fault)")
        XCTAssertTrue(fault.backtrace.contains { $0.image?.hasSuffix("libFaultlineVictims.so") == true }, "\(fault.backtrace.prefix(4))")
        XCTAssertEqual(try strategy.call(7), .returned(7))
    }

    func testFaultOutsideAGuardedCallIsPassedOn() throws {
        // In the child, the guard saves the child's fault reporter as "previous"; a fault
        // outside fl_guard_call must reach it and kill the child with the same signal.
        let outcome = try ForkStrategy(NativeFunction(fl_probe_fault_outside_guard)).call(3)
        let fault = try XCTUnwrap(outcome.fault, "\(outcome)")
        XCTAssertEqual(fault.signal, .segmentationFault)
        XCTAssertEqual(fault.address, 0)
        XCTAssertTrue(fault.backtrace.contains { $0.symbol == "fl_probe_fault_outside_guard" || $0.image?.contains("FaultlinePackageTests") == true })
    }

    func testDeadlineKillsAnInfiniteLoop() throws {
        let started = ContinuousClock.now
        let result = try outcome("fl_infinite_loop", timeout: .milliseconds(300))
        guard case .timedOut(let after) = result else { return XCTFail("\(result)") }
        XCTAssertGreaterThanOrEqual(after, .milliseconds(290))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(30), "the deadline was not enforced")
    }

    func testSlowCallWithoutDeadlineCompletes() throws {
        XCTAssertEqual(try outcome("fl_slow", 1500), .returned(1500))
    }

    func testNoChildIsLeftBehind() throws {
        for symbol in ["fl_null_write", "fl_identity", "fl_exit"] { _ = try outcome(symbol) }
        _ = try outcome("fl_infinite_loop", timeout: .milliseconds(50))
        let children = ProcessTable.descendants(of: getpid())
        XCTAssertEqual(children, [], "left behind: \(children)")
    }

    /// When the host program ignores SIGCHLD, the kernel reaps the child and discards
    /// its status: a crash must not come back as `exited(0)`. Runs in a child process
    /// (this test executable, one test) so that the disposition cannot leak into other tests.
    func testIgnoredSIGCHLDNeverReportsAnUnobservedOutcome() throws {
        let executable = Fixtures.buildDirectory + "/FaultlinePackageTests.xctest"
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw XCTSkip("no \(executable)") }
        let (process, status) = try ChildProcess.run(
            executable, ["ForkTests.ForkStrategyTests/testForkWithSIGCHLDIgnoredInAChild"],
            environment: ["FL_TEST_SIGCHLD_IGNORED": "1"], timeout: 60)
        XCTAssertEqual(status, .exitCode(0), process.standardOutput + process.standardError)
        XCTAssertTrue(process.standardOutput.contains("Executed 1 test, with 0 failures"), process.standardOutput)
    }

    /// The child's half of the test above (skipped unless started by it).
    func testForkWithSIGCHLDIgnoredInAChild() throws {
        guard getenv("FL_TEST_SIGCHLD_IGNORED") != nil else {
            throw XCTSkip("runs only as the child of testIgnoredSIGCHLDNeverReportsAnUnobservedOutcome")
        }
        signal(SIGCHLD, SIG_IGN)
        for symbol in ["fl_null_write", "fl_identity"] {
            do {
                let outcome = try ForkStrategy(Fixtures.victim(symbol)).call(1)
                XCTAssertNotEqual(outcome, .exited(status: 0), symbol)
                if symbol == "fl_null_write" { XCTAssertEqual(outcome.signal, .segmentationFault) }
            } catch let error as SystemError {
                XCTAssertEqual(error.errno, Errno.noChildProcess.rawValue, "\(symbol): \(error)")
            }
        }
    }
}
