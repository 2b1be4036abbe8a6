import CFaultline
import FaultlineTestSupport
import Faultline
import FaultlineHarness
import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The in-process guard catches every recoverable fault, reports it exactly,
/// and leaves the process able to catch the next one.
final class GuardStrategyTests: XCTestCase {
    private func outcome(_ symbol: String, _ input: Int32 = 5) throws -> Outcome {
        try GuardStrategy(Fixtures.victim(symbol)).call(input)
    }

    func testReturnsValueOfAWellBehavedCall() throws {
        XCTAssertEqual(try outcome("raise_a_fault", 3), .returned(3))
        XCTAssertEqual(try outcome("fl_identity", -42), .returned(-42))
    }

    func testRecoversEachRecoverableSignal() throws {
        let expected: [(String, Int32)] = [
            ("fl_null_write", SIGSEGV), ("fl_bus_error", SIGBUS), ("fl_divide_by_zero", SIGFPE),
            ("fl_illegal_instruction", SIGILL), ("fl_abort", SIGABRT), ("fl_breakpoint", SIGTRAP),
            ("fl_stack_overflow", SIGSEGV), ("fl_raise_segv", SIGSEGV), ("fl_double_free", SIGABRT),
        ]
        for (symbol, signal) in expected {
            let result = try outcome(symbol)
            XCTAssertEqual(result.signal, Signal(signal), "\(symbol): \(result)")
        }
    }

    /// A callee's own SA_ONSTACK handler that recurses without end runs on the
    /// guard's alternate stack (fl_altstack_overflow). A callee that installs
    /// handlers may end the process (README, Limits), so the guarded calls run in
    /// a child (`faultline call --strategy guard`) under a deadline: the guard
    /// page below the stack turns the overflow into SIGSEGV at once, which the
    /// guard reports (the fault is its own: the callee's handler is for SIGUSR1),
    /// and the child goes on to the next input instead of spinning.
    func testACalleeHandlerOverflowingTheAlternateStackEndsWithSIGSEGV() throws {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["call", Fixtures.victimsLibrary, "fl_altstack_overflow",
                                                                          "--strategy", "guard", "--", "3", "-1", "4"], timeout: 60)
        XCTAssertNotNil(status, "the guarded call was still running at the deadline")
        XCTAssertEqual(status, .exitCode(0), process.standardError)
        let lines = try process.standardOutput.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
        XCTAssertEqual(lines.map { $0["outcome"] as? String }, ["returned", "signaled", "returned"], process.standardOutput)
        XCTAssertEqual(lines.last?["value"] as? Int, 4)
        let fault = try XCTUnwrap(lines.dropFirst().first)
        XCTAssertEqual(fault["signal"] as? String, "SIGSEGV")
        XCTAssertEqual(fault["code"] as? Int, 2 /* SEGV_ACCERR: the guard page */, "\(fault)")
        XCTAssertNotNil(fault["address"] as? String, "\(fault)")
    }

    func testFaultAddressAndBacktraceNameTheCalleeAndItsCaller() throws {
        let result = try outcome("raise_a_fault", 10)
        let fault = try XCTUnwrap(result.fault)
        XCTAssertEqual(fault.signal, .segmentationFault)
        XCTAssertEqual(fault.address, 0)
        XCTAssertEqual(fault.code, 1 /* SEGV_MAPERR */)
        // The write itself is in a static helper; raise_a_fault is its caller,
        // and the backtrace ends there: no frame of the guard, of this test or of libc's start-up.
        let index = try XCTUnwrap(fault.backtrace.firstIndex { $0.symbol == "raise_a_fault" }, "\(fault.backtrace)")
        XCTAssertLessThanOrEqual(index, 1)
        XCTAssertEqual(index, fault.backtrace.count - 1, "raise_a_fault is the last frame: \(fault.backtrace)")
        XCTAssertTrue(fault.cutAtCall)
        XCTAssertFalse(fault.backtrace.contains { $0.image.map { $0.hasSuffix(".xctest") } ?? false }, "\(fault.backtrace)")
        XCTAssertFalse(fault.backtrace.contains { $0.symbol == "__libc_start_main" }, "\(fault.backtrace)")
    }

    func testBatchCallsGiveEachInputItsOutcome() throws {
        let inputs: [Int32] = [1, -1, 2, -2, -3, 3, -4, -5, -6, 4]
        let outcomes = try GuardStrategy(Fixtures.victim("fl_mixed")).call(inputs)
        let expected: [Int32: Int32] = [-1: SIGSEGV, -2: SIGFPE, -3: SIGILL, -4: SIGABRT, -5: SIGSEGV, -6: SIGBUS]
        XCTAssertEqual(outcomes.count, inputs.count)
        for (input, outcome) in zip(inputs, outcomes) {
            if input >= 0 { XCTAssertEqual(outcome, .returned(input)) } else { XCTAssertEqual(outcome.signal?.rawValue, expected[input], "\(input)") }
        }
    }

    func testFewAndManyFailuresReadTheSame() throws {
        // Outcomes keeps a few failures in a dictionary and many as one outcome per input.
        let strategy = GuardStrategy(try Fixtures.victim("fl_mixed"))
        for inputs: [Int32] in [[1, 2, 3, 4, 5, 6, 7, -1, 8, 9, 10, 11], [-1, 2, -1, -1, 5, -1]] {
            let outcomes = try strategy.call(inputs)
            XCTAssertEqual(Set(outcomes.failures.keys), Set(inputs.indices.filter { inputs[$0] < 0 }), "\(inputs)")
            for (input, outcome) in zip(inputs, outcomes) {
                if input >= 0 { XCTAssertEqual(outcome, .returned(input)) } else { XCTAssertEqual(outcome.signal, .segmentationFault) }
            }
            XCTAssertEqual(outcomes, Outcomes(Array(outcomes)))
        }
    }

    func testBacktraceCanBeSwitchedOff() throws {
        let result = try GuardStrategy(Fixtures.victim("fl_null_write"), captureBacktrace: false).call(1)
        XCTAssertEqual(result.fault?.backtrace.count, 1)
    }

    func testTenThousandRecoveriesKeepMaskAndMemory() throws {
        let strategy = GuardStrategy(try Fixtures.victim("fl_null_write"), captureBacktrace: true)
        var before = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &before)
        _ = try strategy.call(1) // warm up: altstack, libunwind caches
        let rssBefore = try XCTUnwrap(ProcessTable.residentBytes())
        for index in 0..<10_000 {
            let result = try strategy.call(Int32(index))
            if result.signal != .segmentationFault { return XCTFail("call \(index): \(result)") }
        }
        let rssAfter = try XCTUnwrap(ProcessTable.residentBytes())
        var after = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &after)
        for signal in [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP] {
            XCTAssertEqual(sigismember(&before, signal), sigismember(&after, signal), "mask of signal \(signal) changed")
            XCTAssertEqual(sigismember(&after, signal), 0, "signal \(signal) left blocked")
        }
        XCTAssertLessThan(rssAfter - rssBefore, 8 << 20, "RSS grew by \(rssAfter - rssBefore) bytes over 10,000 recoveries")
    }

    func testGuardWorksOnManyThreads() throws {
        let function = try Fixtures.victim("fl_mixed")
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 8)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let strategy = GuardStrategy(function, captureBacktrace: index % 2 == 0)
            var signals: Int32 = 0
            for round in 0..<200 {
                let input: Int32 = round % 2 == 0 ? -1 : -2
                if let signal = try? strategy.call(input).signal, signal.rawValue == (round % 2 == 0 ? SIGSEGV : SIGFPE) {
                    signals += 1
                }
            }
            results[index] = signals
        }
        XCTAssertEqual(Array(results), Array(repeating: 200, count: 8))
    }

    func testUninstallPutsBackThePreviousHandler() throws {
        _ = try outcome("fl_null_write")
        var during = sigaction()
        sigaction(SIGSEGV, nil, &during)
        GuardStrategy.uninstall()
        var after = sigaction()
        sigaction(SIGSEGV, nil, &after)
        XCTAssertFalse(fl_guard_installed() != 0)
        XCTAssertNotEqual(unsafeBitCast(during.__sigaction_handler.sa_sigaction, to: Int.self),
                          unsafeBitCast(after.__sigaction_handler.sa_sigaction, to: Int.self))
        // And the guard comes back on the next call.
        XCTAssertEqual(try outcome("fl_divide_by_zero").signal, .floatingPointException)
    }
}

import Dispatch
