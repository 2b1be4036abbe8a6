import CFaultline
import Faultline
import FaultlineTestSupport
import Foundation
import FaultlineHarness
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The supervised pool: exact outcomes, exact blame, constant size, no timeout needed.
final class WorkerPoolTests: XCTestCase {
    private func pool(_ symbol: String, workers: Int = 2, timeout: Duration? = nil) throws -> WorkerPool {
        try WorkerPool(library: Fixtures.victimsLibrary, symbol: symbol,
                       configuration: .init(workers: workers, timeout: timeout))
    }

    func testBlogInputsGiveExactOutcomesInOrder() throws {
        let inputs: [Int32] = [1, 2, 3, 4, 5, 4, 3, 2, 1, 10, 2]
        let outcomes = try pool("raise_a_fault").run(inputs)
        XCTAssertEqual(outcomes.count, inputs.count)
        for (input, outcome) in zip(inputs, outcomes) {
            if input > 3 {
                let fault = try XCTUnwrap(outcome.fault, "input \(input): \(outcome)")
                XCTAssertEqual(fault.signal, .segmentationFault)
                XCTAssertEqual(fault.address, 0)
                XCTAssertTrue(fault.backtrace.contains { $0.symbol == "raise_a_fault" }, "\(fault.backtrace)")
            } else {
                XCTAssertEqual(outcome, .returned(input), "input \(input)")
            }
        }
    }

    func testEveryVictimHasItsExactOutcome() throws {
        let expected: [(String, Int32, Outcome?)] = [
            ("fl_null_write", SIGSEGV, nil), ("fl_bus_error", SIGBUS, nil), ("fl_divide_by_zero", SIGFPE, nil),
            ("fl_illegal_instruction", SIGILL, nil), ("fl_breakpoint", SIGTRAP, nil), ("fl_abort", SIGABRT, nil),
            ("fl_stack_overflow", SIGSEGV, nil), ("fl_fault_in_thread", SIGSEGV, nil), ("fl_double_free", SIGABRT, nil),
            ("fl_raise_segv", SIGSEGV, nil), ("fl_fault_with_segv_blocked", SIGSEGV, nil),
            ("fl_exit", 0, .exited(status: 5)), ("fl_exit_zero", 0, .exited(status: 0)),
            ("fl_noisy", 0, .returned(5)), ("fl_slow", 0, .returned(5)),
        ]
        for (symbol, signal, outcome) in expected {
            let result = try pool(symbol, workers: 1).run([5, 5])
            for item in result {
                if let outcome { XCTAssertEqual(item, outcome, symbol) } else { XCTAssertEqual(item.signal, Signal(signal), "\(symbol): \(item)") }
            }
        }
    }

    func testACrashBlamesOnlyItsInput() throws {
        // fl_mixed faults on negative inputs only; everything else must come back intact.
        var inputs: [Int32] = Array(0..<2000)
        for position in stride(from: 7, to: 2000, by: 97) { inputs[position] = -Int32(1 + position % 7) }
        let outcomes = try pool("fl_mixed").run(inputs)
        for (input, outcome) in zip(inputs, outcomes) {
            switch input {
            case 0...: XCTAssertEqual(outcome, .returned(input))
            case -7: XCTAssertEqual(outcome, .exited(status: 7))
            default:
                let expected: [Int32: Int32] = [-1: SIGSEGV, -2: SIGFPE, -3: SIGILL, -4: SIGABRT, -5: SIGSEGV, -6: SIGBUS]
                XCTAssertEqual(outcome.signal?.rawValue, expected[input], "input \(input): \(outcome)")
            }
        }
    }

    func testPoolKeepsItsSizeAfterAThousandCrashes() throws {
        let pool = try pool("fl_null_write", workers: 3)
        let outcomes = try pool.run(Array(repeating: 1, count: 1000))
        XCTAssertTrue(outcomes.allSatisfy { $0.signal == .segmentationFault })
        let statistics = pool.statistics
        XCTAssertEqual(statistics.workerDeaths, 1000)
        XCTAssertGreaterThanOrEqual(statistics.workersStarted, 1003)
        let pids = pool.workerPIDs
        XCTAssertEqual(pids.count, 3)
        for pid in pids {
            XCTAssertEqual(kill(pid, 0), 0, "worker \(pid) is not alive")
        }
    }

    func testSlowCallWithoutDeadlineIsNotCutOff() throws {
        XCTAssertEqual(Array(try pool("fl_slow", workers: 1).run([1500])), [.returned(1500)])
    }

    func testDeadlineKillsAnInfiniteLoopAndOnlyIt() throws {
        let looping = try pool("fl_infinite_loop", workers: 2, timeout: .milliseconds(200))
        let outcomes = try looping.run([1, 2, 3])
        for outcome in outcomes {
            guard case .timedOut(let after) = outcome else { return XCTFail("\(outcome)") }
            XCTAssertGreaterThanOrEqual(after, .milliseconds(190))
        }
        XCTAssertEqual(looping.workerPIDs.count, 2)
        let mixed = try pool("fl_slow", workers: 2, timeout: .milliseconds(800))
        let results = try mixed.run([10, 5000, 20])
        XCTAssertEqual(results[0], .returned(10))
        XCTAssertEqual(results[1].kind, "timed_out")
        XCTAssertEqual(results[2], .returned(20))
    }

    func testSlowCallsSpreadOverWorkers() throws {
        // 8 calls of 0.5 s on 4 workers: about 1 s in parallel, 4 s if serialized.
        let pool = try pool("fl_slow", workers: 4)
        let started = ContinuousClock.now
        let outcomes = try pool.run(Array(repeating: 500, count: 8))
        let elapsed = ContinuousClock.now - started
        XCTAssertEqual(Array(outcomes), Array(repeating: .returned(500), count: 8))
        XCTAssertLessThan(elapsed, .milliseconds(1900), "calls did not run in parallel")
    }

    func testSoakWithOneFifthFaultsLosesNothingAndLeaksNothing() throws {
        let pool = try pool("fl_mixed", workers: 2)
        _ = try pool.run([1, -1, 2])
        let settled = pool.statistics // waits for the replacement of the crashed worker
        XCTAssertEqual(settled.liveWorkers, 2)
        let descriptorsBefore = ProcessTable.openDescriptorCount()
        let standbyBefore = settled.standbyWorkers
        var generator = SystemRandomNumberGenerator()
        let kinds: [Int32] = [-1, -2, -3, -4, -6, -7]
        let inputs: [Int32] = (0..<10_000).map { index in
            Int.random(in: 0..<5, using: &generator) == 0 ? kinds.randomElement(using: &generator)! : Int32(index)
        }
        let outcomes = try pool.run(inputs)
        XCTAssertEqual(outcomes.count, inputs.count)
        let signals: [Int32: Int32] = [-1: SIGSEGV, -2: SIGFPE, -3: SIGILL, -4: SIGABRT, -6: SIGBUS]
        var wrong = 0
        for (input, outcome) in zip(inputs, outcomes) {
            let right: Bool
            switch input {
            case 0...: right = outcome == .returned(input)
            case -7: right = outcome == .exited(status: 7)
            default: right = outcome.signal?.rawValue == signals[input]
            }
            if !right { wrong += 1 }
        }
        XCTAssertEqual(wrong, 0, "misclassified outcomes")
        let faults = inputs.filter { $0 < 0 }.count
        XCTAssertGreaterThanOrEqual(faults, 1500)
        let after = pool.statistics
        XCTAssertEqual(after.liveWorkers, 2)
        // Standby workers grow (up to 4) while workers die faster than the helper forks.
        XCTAssertTrue((1...4).contains(after.standbyWorkers), "standby workers: \(after.standbyWorkers)")
        // Each worker the supervisor holds costs it two descriptors (its socket and its pidfd).
        XCTAssertEqual(ProcessTable.openDescriptorCount(), descriptorsBefore + 2 * (after.standbyWorkers - standbyBefore),
                       "descriptors leaked")
        // The helper, 2 workers, the standby ones the supervisor holds ready and
        // at most one spare forked ahead of need: nothing else.
        let family = ProcessTable.descendants(of: getpid())
        XCTAssertLessThanOrEqual(family.count, 1 + 2 + after.standbyWorkers + 1, "children leaked: \(family)")
    }

    /// The outcome comes first, from the worker's own notice; a standby takes
    /// the dead worker's place at once; the names follow from the helper and
    /// are in the outcome all the same.
    func testACrashIsReportedFirstAndAStandbyTakesOver() throws {
        let pool = try WorkerPool(library: Fixtures.victimsLibrary, symbol: "fl_mixed", configuration: .init(workers: 2))
        defer { pool.shutdown() }
        XCTAssertEqual(pool.statistics.standbyWorkers, 1)
        XCTAssertNil(pool.lastCrash)
        for round in 0..<3 {
            let before = fl_now_ns()
            let outcome = try pool.call(-1)
            let after = fl_now_ns()
            XCTAssertEqual(outcome.signal, .segmentationFault, "round \(round)")
            XCTAssertTrue(outcome.fault?.backtrace.contains { $0.symbol == "fl_mixed" } ?? false,
                          "named frames: \(outcome.fault?.backtrace ?? [])")
            let crash = try XCTUnwrap(pool.lastCrash)
            XCTAssertTrue(before <= crash.faultNanoseconds && crash.faultNanoseconds <= crash.reportedNanoseconds
                              && crash.reportedNanoseconds <= crash.outcomeNanoseconds && crash.outcomeNanoseconds <= after,
                          "timeline out of order: \(crash), call \(before)...\(after)")
            let statistics = pool.statistics
            XCTAssertEqual(statistics.liveWorkers, 2)
            XCTAssertTrue((1...4).contains(statistics.standbyWorkers), "standby workers: \(statistics.standbyWorkers)")
        }
        XCTAssertEqual(try pool.run([1, -1, 2]).map(\.returnedValue), [1, nil, 2])
    }

    func testShutdownLeavesNoProcessBehind() throws {
        let pool = try pool("fl_identity", workers: 3)
        let helper = pool.statistics.helperPID
        let workers = pool.workerPIDs
        pool.shutdown()
        for pid in workers + [helper] {
            XCTAssertNotEqual(ProcessTable.entry(pid).map { $0.state != "Z" }, true, "process \(pid) still alive")
        }
        XCTAssertThrowsError(try pool.run([1]))
    }

    func testMissingLibraryAndSymbolStartNoWorker() {
        XCTAssertThrowsError(try WorkerPool(library: "/nonexistent/lib.so", symbol: "f")) { error in
            guard case LoadError.libraryNotLoadable(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/lib.so")
        }
        XCTAssertThrowsError(try WorkerPool(library: Fixtures.victimsLibrary, symbol: "missing")) { error in
            XCTAssertEqual(error as? LoadError, .symbolNotFound(symbol: "missing", library: Fixtures.victimsLibrary))
        }
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [])
    }

    func testFunctionPointerOfThisExecutable() throws {
        let pool = try WorkerPool(NativeFunction(testDoubler), configuration: .init(workers: 1))
        XCTAssertEqual(Array(try pool.run([1, 2, 21])), [.returned(2), .returned(4), .returned(42)])
    }

    func testTheHelperIsTheSmallProgramBesideThisExecutable() throws {
        let pool = try pool("fl_mixed", workers: 1)
        let beside = URL(fileURLWithPath: Victims.executablePath).deletingLastPathComponent()
            .appendingPathComponent("faultline-helper").path
        XCTAssertEqual(pool.helperExecutable, beside)
        // The helper process really runs that program, and its workers call and crash as before.
        let running = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pool.statistics.helperPID)/exe")
        XCTAssertEqual(URL(fileURLWithPath: running).resolvingSymlinksInPath().path,
                       URL(fileURLWithPath: beside).resolvingSymlinksInPath().path)
        // Neither it nor the victims library loads the Swift runtime (CFaultlineCOnly): fewer mappings per fork.
        let mapped = try XCTUnwrap(ProcessTable.mappings(pool.statistics.helperPID)).map(\.path)
        XCTAssertTrue(mapped.contains { $0.hasSuffix("/libFaultlineVictims.so") }, "\(mapped)")
        XCTAssertFalse(mapped.contains { $0.contains("libswiftCore") }, "the helper maps the Swift runtime: \(mapped)")
        let outcomes = try pool.run([3, -1, 4])
        XCTAssertEqual(outcomes[0], .returned(3))
        XCTAssertEqual(outcomes[1].fault?.signal, .segmentationFault)
        XCTAssertTrue(outcomes[1].fault?.backtrace.contains { $0.symbol == "fl_mixed" } == true, "\(outcomes[1])")
        XCTAssertEqual(outcomes[2], .returned(4))
        // A function of this executable lives only in this executable: the helper re-executes it.
        let own = try WorkerPool(NativeFunction(testDoubler), configuration: .init(workers: 1))
        XCTAssertEqual(own.helperExecutable, "/proc/self/exe")
    }

    func testAWorkerMapsOnlyItsOwnChannel() throws {
        // Crash a few times so that the helper has forked workers after others existed.
        let pool = try pool("fl_mixed", workers: 2)
        _ = try pool.run([-1, 1, -1, 2, -1, 3])
        let pids = pool.workerPIDs
        XCTAssertEqual(pids.count, 2)
        var channels = Set<UInt64>()
        for pid in pids {
            let inodes = Set(try XCTUnwrap(ProcessTable.mappings(pid)).filter { $0.path.contains("faultline-channel") }.map(\.inode))
            XCTAssertEqual(inodes.count, 1, "worker \(pid) maps channels \(inodes)")
            channels.formUnion(inodes)
        }
        XCTAssertEqual(channels.count, 2, "two workers share a channel")
    }

    func testWorkersKeepTheDefaultStackDepth() throws {
        // The helper's thread stack (huge pages below its top) is at least the default
        // thread stack: 6 MiB deep returns, a runaway recursion is still SIGSEGV.
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_STACK.rawValue), &limit)
        try XCTSkipIf(limit.rlim_cur == rlim_t.max || limit.rlim_cur < 7 << 20, "threads get 2 MiB (unlimited RLIMIT_STACK) or less than 7 MiB")
        let pool = try pool("fl_stack_use", workers: 1)
        let outcomes = try pool.run([6 * 1024, 100, 64 * 1024, 10])
        XCTAssertEqual(outcomes[0], .returned(6 * 1024))
        XCTAssertEqual(outcomes[1], .returned(100))
        XCTAssertEqual(outcomes[2].fault?.signal, .segmentationFault, "\(outcomes[2])")
        XCTAssertEqual(outcomes[3], .returned(10))
    }

    func testForkServerGivesAFreshProcessPerCall() throws {
        let strategy = try ForkServerStrategy(library: Fixtures.victimsLibrary, symbol: "fl_cleanup_skipped")
        // Each call sees a fresh library: the counter the previous fault left at 1 is gone.
        let outcomes = try strategy.call([1, 0, 1, 0])
        XCTAssertEqual(outcomes[0].signal, .segmentationFault)
        XCTAssertEqual(outcomes[1], .returned(0))
        let counter = try ForkServerStrategy(library: Fixtures.victimsLibrary, symbol: "fl_resources_in_use")
        XCTAssertEqual(Array(try counter.call([0, 0])), [.returned(0), .returned(0)])
    }

    func testAsyncRun() async throws {
        let pool = try pool("fl_mixed")
        let outcomes = try await pool.run([1, -1, 3])
        XCTAssertEqual(outcomes[0], .returned(1))
        XCTAssertEqual(outcomes[1].signal, .segmentationFault)
        XCTAssertEqual(outcomes[2], .returned(3))
    }

    func testMoreWorkersThanAPoolKeepsIsAnErrorBeforeAnyProcessStarts() {
        let started = ContinuousClock.now
        XCTAssertThrowsError(try pool("fl_identity", workers: 1025)) { error in
            XCTAssertEqual(error as? PoolError, .tooManyWorkers(requested: 1025, limit: 1024))
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [])
    }

    func testAConfigurationTooLongForItsMessageIsAnErrorBeforeAnyProcessStarts() {
        let path = "/" + String(repeating: "d", count: 40_000) + "/lib.so"
        XCTAssertThrowsError(try WorkerPool(library: path, symbol: "f")) { error in
            XCTAssertEqual(error as? PoolError, .system(.configureHelper, .nameTooLong))
        }
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [])
    }

    func testDeadlinesWakeTheLoopOnlyWhenACallCouldBeDue() throws {
        // Calls far from their deadline: the loop sleeps until an event, never on a timer.
        let slow = try pool("fl_slow", workers: 2, timeout: .seconds(60))
        XCTAssertEqual(Array(try slow.run([300, 300, 300, 300])), Array(repeating: .returned(300), count: 4))
        XCTAssertEqual(slow.statistics.idleWakeups, 0)
        // A call that passes its deadline: a wake-up or two for it, not one every 50 ms.
        let looping = try pool("fl_infinite_loop", workers: 1, timeout: .milliseconds(600))
        XCTAssertEqual(try looping.run([1])[0].kind, "timed_out")
        XCTAssertLessThanOrEqual(looping.statistics.idleWakeups, 3)
    }

    func testCancellingAnAsyncRunShutsThePoolDown() async throws {
        let pool = try pool("fl_slow", workers: 1)
        let family = pool.workerPIDs + [pool.statistics.helperPID]
        let task = Task { try await pool.run([20_000]) }
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("the run finished despite the cancellation")
        } catch is CancellationError {
        } catch {
            XCTFail("\(error)")
        }
        XCTAssertLessThan(ContinuousClock.now - cancelled, .seconds(5))
        for pid in family {
            XCTAssertNotEqual(ProcessTable.entry(pid).map { $0.state != "Z" }, true, "process \(pid) still alive")
        }
    }

    func testTheHelpersConfigurationTravelsAsAMessage() throws {
        // A path with a tab and a newline: it reaches the helper, and comes back in frames, intact.
        let directory = NSTemporaryDirectory() + "faultline-config-\(getpid())/tab\there\nnewline"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "faultline-config-\(getpid())") }
        let path = directory + "/libVictims.so"
        try FileManager.default.copyItem(atPath: Fixtures.victimsLibrary, toPath: path)
        let pool = try WorkerPool(library: path, symbol: "raise_a_fault", configuration: .init(workers: 1))
        let outcomes = try pool.run([2, 4])
        XCTAssertEqual(outcomes[0], .returned(2))
        let fault = try XCTUnwrap(outcomes[1].fault)
        XCTAssertEqual(fault.backtrace.first?.image, path)
        // Only the descriptor is in the helper's environment.
        let raw = try XCTUnwrap(FileManager.default.contents(atPath: "/proc/\(pool.statistics.helperPID)/environ"))
        let entries = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        let own = Set(ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" })
        XCTAssertEqual(entries.filter { $0.hasPrefix("FAULTLINE_") && !own.contains($0) }, ["FAULTLINE_HELPER_FD=3"])
    }
}

/// A function of the test executable itself, for the function-pointer pool.
private let testDoubler: @convention(c) (Int32) -> Int32 = { $0 * 2 }
