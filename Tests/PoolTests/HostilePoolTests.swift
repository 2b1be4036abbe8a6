import Faultline
import FaultlineTestSupport
import FaultlineHarness
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Callees that misbehave the way buggy C and C++ really does, aimed at the
/// pool's machinery (hostile.c: a negative input triggers the behaviour, any
/// other input r returns r). Whatever the hostile call does, no other input's
/// outcome may change, and the hostile input itself gets either its true
/// outcome or `.corrupted` — never a wrong value, never a false `exited`.
final class HostilePoolTests: XCTestCase {
    private func pool(_ symbol: String, workers: Int = 2, timeout: Duration? = nil) throws -> WorkerPool {
        try WorkerPool(library: Fixtures.victimsLibrary, symbol: symbol,
                       configuration: .init(workers: workers, timeout: timeout))
    }

    /// Runs `inputs` and checks every innocent (non-negative) input exactly; returns the hostile ones' outcomes.
    private func run(_ symbol: String, _ inputs: [Int32], workers: Int = 2, timeout: Duration? = nil,
                     file: StaticString = #filePath, line: UInt = #line) throws -> [Int32: [Outcome]] {
        let pool = try pool(symbol, workers: workers, timeout: timeout)
        defer { pool.shutdown() }
        let outcomes = try pool.run(inputs)
        XCTAssertEqual(outcomes.count, inputs.count, file: file, line: line)
        var hostile: [Int32: [Outcome]] = [:]
        var wrong = 0
        for (input, outcome) in zip(inputs, outcomes) {
            if input >= 0 {
                if outcome != .returned(input) { wrong += 1 }
            } else {
                hostile[input, default: []].append(outcome)
            }
        }
        XCTAssertEqual(wrong, 0, "\(symbol): \(wrong) innocent inputs got a wrong outcome", file: file, line: line)
        return hostile
    }

    /// 1 input in 97 hostile, among ~2,000.
    private var mixed: [Int32] {
        (0..<2000).map { (index: Int) -> Int32 in
            let position = Int32(index)
            return index % 97 == 50 ? -(position % 7 + 1) : position
        }
    }

    private func assertHonest(_ outcomes: [Int32: [Outcome]], allowing allowed: (Int32, Outcome) -> Bool,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(outcomes.isEmpty, file: file, line: line)
        for (input, list) in outcomes {
            for outcome in list {
                XCTAssertTrue(allowed(input, outcome), "input \(input): \(outcome)", file: file, line: line)
            }
        }
    }

    private func isCorrupted(_ outcome: Outcome) -> Bool {
        if case .corrupted = outcome { return true }
        return false
    }

    func testScribblingOverSharedMemoryForgesNoOtherOutcome() throws {
        assertHonest(try run("fl_scribble_shared", mixed)) { input, outcome in
            outcome == .returned(-input) || self.isCorrupted(outcome)
        }
        assertHonest(try run("fl_scribble_shared_then_fault", mixed)) { _, outcome in
            outcome.signal == .segmentationFault || self.isCorrupted(outcome)
        }
    }

    func testScribblingOverPrivateMemoryForgesNoOtherOutcome() throws {
        assertHonest(try run("fl_scribble_private", mixed)) { input, outcome in
            outcome == .returned(-input) || self.isCorrupted(outcome) || outcome.signal != nil
        }
    }

    func testWritingIntoSocketsForgesNoOtherOutcome() throws {
        assertHonest(try run("fl_write_into_sockets", mixed)) { input, outcome in
            outcome == .returned(-input) || self.isCorrupted(outcome)
        }
    }

    func testKillingTheParentOrTheGroupEndsNothingButTheCall() throws {
        let inputs: [Int32] = [1, 2, -5, 3, 4, 5, 6, -7, 7, 8, 9, 10, 11, 12]
        assertHonest(try run("fl_kill_parent", inputs)) { _, outcome in self.isCorrupted(outcome) || outcome.signal == .kill }
        assertHonest(try run("fl_kill_group_term", inputs)) { _, outcome in outcome.signal == .terminate }
        assertHonest(try run("fl_kill_group_kill", inputs)) { _, outcome in outcome.signal == .kill }
    }

    func testStoppingTheGroupStopsOnlyTheCallAndTheDeadlineStillHolds() throws {
        let started = ContinuousClock.now
        assertHonest(try run("fl_stop_group", [1, -5, 2, 3], timeout: .seconds(1))) { input, outcome in
            if case .timedOut = outcome { return true }
            return outcome == .returned(-input)
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(20))
    }

    func testTheCalleesChildrenAreNeverBlamed() throws {
        assertHonest(try run("fl_child_segfaults", [1, -5, 2, 3])) { input, outcome in outcome == .returned(-input) }
        // A child that crashes 200 ms after its parent call returned: later, innocent calls stay exact.
        let pool = try pool("fl_child_crashes_later", workers: 1)
        defer { pool.shutdown() }
        XCTAssertEqual(try pool.call(-1), .returned(1))
        usleep(400_000)
        XCTAssertEqual(Array(try pool.run([1, 2, 3])), [.returned(1), .returned(2), .returned(3)])
    }

    /// A callee's own SA_ONSTACK handler that recurses without end runs on the
    /// worker's alternate stack (fl_altstack_overflow): the guard page below it
    /// ends the worker with SIGSEGV on a protected page, reported in full, in the
    /// pool and in the fork server, long before the watchdog deadline.
    func testACalleeHandlerOverflowingTheAlternateStackEndsWithSIGSEGV() throws {
        let watchdog = Duration.seconds(20)
        let pooled = try pool("fl_altstack_overflow", workers: 1, timeout: watchdog)
        defer { pooled.shutdown() }
        let server = try ForkServerStrategy(library: Fixtures.victimsLibrary, symbol: "fl_altstack_overflow", timeout: watchdog)
        for (name, outcomes) in [("pool", Array(try pooled.run([3, -1, 4]))), ("fork server", Array(try server.call([3, -1, 4])))] {
            XCTAssertEqual(outcomes.count, 3, name)
            XCTAssertEqual(outcomes.first, .returned(3), name)
            XCTAssertEqual(outcomes.last, .returned(4), name)
            if case .timedOut = outcomes[1] { XCTFail("\(name): the overflow ran until the watchdog: \(outcomes[1])") }
            let fault = try XCTUnwrap(outcomes[1].fault, "\(name): \(outcomes[1])")
            XCTAssertEqual(fault.signal, .segmentationFault, name)
            XCTAssertEqual(fault.code, 2 /* SEGV_ACCERR: the guard page */, "\(name): \(fault)")
            XCTAssertNotNil(fault.address, "\(name): the report was lost: \(fault)")
            XCTAssertTrue(fault.backtrace.contains { $0.image?.hasSuffix("libFaultlineVictims.so") == true }, name)
        }
    }

    func testPthreadExitIsAnExitWithStatusZero() throws {
        assertHonest(try run("fl_pthread_exit", [1, -5, 2, 3])) { _, outcome in outcome == .exited(status: 0) }
    }

    func testALongSymbolAndAStrangePathComeBackIntact() throws {
        let pool = try pool("fl_fault_in_long_name", workers: 1)
        defer { pool.shutdown() }
        let fault = try XCTUnwrap(try pool.call(-1).fault)
        XCTAssertTrue(fault.backtrace.contains { ($0.symbol?.utf8.count ?? 0) == 1000 && $0.symbol!.hasPrefix("fl_long_named_") },
                      "\(fault.backtrace.map { $0.symbol?.count ?? 0 })")
        // A library path with a tab and a newline in it.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fl \t\n\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("libvictims.so").path
        try FileManager.default.copyItem(atPath: Fixtures.victimsLibrary, toPath: copy)
        let strange = try WorkerPool(library: copy, symbol: "raise_a_fault", configuration: .init(workers: 1))
        defer { strange.shutdown() }
        let frames = try XCTUnwrap(try strange.call(5).fault).backtrace
        XCTAssertEqual(frames.first?.image, copy)
        XCTAssertFalse(frames.contains { $0.address == 0 })
    }

    func testSoakOfTwentyThousandCallsWithAQuarterFaultingLosesNothing() throws {
        // fl_mixed: r >= 0 returns r; -1 SIGSEGV, -2 SIGFPE, -3 SIGILL, -4 SIGABRT, -6 SIGBUS, -7 exit(7).
        let kinds: [Int32] = [-1, -2, -3, -4, -6, -7]
        let inputs: [Int32] = (0..<20_000).map { $0 % 4 == 1 ? kinds[($0 / 4) % kinds.count] : Int32($0) }
        let pool = try pool("fl_mixed")
        defer { pool.shutdown() }
        let outcomes = try pool.run(inputs)
        let expected: [Int32: Signal] = [-1: .segmentationFault, -2: .floatingPointException, -3: .illegalInstruction,
                                         -4: .abort, -6: .busError]
        var wrong = 0
        for (input, outcome) in zip(inputs, outcomes) {
            switch input {
            case 0...: if outcome != .returned(input) { wrong += 1 }
            case -7: if outcome != .exited(status: 7) { wrong += 1 }
            default: if outcome.signal != expected[input] { wrong += 1 }
            }
        }
        XCTAssertEqual(outcomes.count, inputs.count)
        XCTAssertEqual(wrong, 0)
    }

    func testVerifyingCrashesShowsWhichCameFromAnEarlierCallsState() throws {
        var configuration = WorkerPool.Configuration(workers: 1)
        configuration.verifyCrashes = true
        let pool = try WorkerPool(library: Fixtures.victimsLibrary, symbol: "fl_leave_state_then_sleep", configuration: configuration)
        defer { pool.shutdown() }
        // alarm(1) from input -1 kills the worker during the innocent 1500 ms call.
        let alarmed = try pool.run([-1, 1500])
        XCTAssertEqual(alarmed[0], .returned(1))
        XCTAssertEqual(alarmed[1].signal, Signal(SIGALRM))
        XCTAssertEqual(alarmed.replays[1], .returned(1500), "alone, the innocent input returns")
        XCTAssertNil(alarmed.replays[0])
        // A thread left by input -2 faults during the innocent 800 ms call.
        let threaded = try pool.run([-2, 800])
        XCTAssertEqual(threaded[1].signal, .segmentationFault)
        XCTAssertEqual(threaded.replays[1], .returned(800))
        // A crash of the input's own happens again alone.
        let own = try WorkerPool(library: Fixtures.victimsLibrary, symbol: "fl_mixed", configuration: configuration)
        defer { own.shutdown() }
        let outcomes = try own.run([3, -1])
        XCTAssertEqual(outcomes.replays[1]?.signal, .segmentationFault)
    }
}
