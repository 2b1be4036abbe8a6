import ExperimentKit
import Faultline
import XCTest

/// The strategies that recover, each run for real by its experiment, with the
/// outcome each gets for raise_a_fault over the write-up's input list.
final class ExperimentRecoveryTests: XCTestCase {
    /// Every input has its exact outcome: the value for r ≤ 3, SIGSEGV at address 0 for r > 3.
    private func assertExact(_ calls: [CallRecord], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(calls.count, Blog.inputs.count, file: file, line: line)
        for (input, call) in zip(Blog.inputs, calls) {
            if Blog.faults(input) {
                XCTAssertEqual(call.outcome?.signal, .segmentationFault, "input \(input): \(call.text)", file: file, line: line)
                XCTAssertEqual(call.outcome?.fault?.address, 0, "input \(input)", file: file, line: line)
                XCTAssertTrue(call.outcome?.fault?.backtrace.contains { $0.symbol == Blog.symbol } == true, "input \(input)", file: file, line: line)
            } else {
                XCTAssertEqual(call.outcome, .returned(input), "input \(input)", file: file, line: line)
            }
        }
    }

    func testTimeoutPerCallRecoversButEveryCrashCostsTheTimeout() throws {
        let timeout = 0.1
        let result = try ExperimentRunner.run("04-timeout-per-call", budget: 2, ["--call-timeout", String(timeout)])
        for (input, call) in zip(Blog.inputs, result.calls) {
            if Blog.faults(input) {
                XCTAssertEqual(call.status, .failed, "input \(input): a crash is only a timeout here")
                XCTAssertGreaterThanOrEqual(try XCTUnwrap(call.seconds), timeout * 0.95, "input \(input) cost less than the timeout")
            } else {
                XCTAssertEqual(call.value, input)
            }
        }
        XCTAssertEqual(result.measurement("slow_reported_failed"), 1)
        let row = try ExperimentRunner.row(result, "apply + get(timeout) pattern")
        XCTAssertEqual(row.recovers, true)
        XCTAssertEqual(row.needsTimeout, true)
        XCTAssertEqual(row.exactSignal, false)
        // A correct call twice as slow as the deadline was reported failed, then really returned.
        let slowInput = try XCTUnwrap(result.measurement("slow_input"))
        XCTAssertLessThan(try XCTUnwrap(result.measurement("slow_reported_at")), slowInput / 1000)
        XCTAssertEqual(result.measurement("slow_value"), slowInput)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(result.measurement("time_lost_to_crashes")),
                                    try XCTUnwrap(result.measurement("crashes_times_timeout")) * 0.95)
    }

    func testGuardRecoversEveryCallButIsNotSafeAfterwards() throws {
        let result = try ExperimentRunner.run("05-inprocess-guard", budget: 1.5)
        assertExact(result.calls)
        let row = try ExperimentRunner.row(result, "in-process guard")
        XCTAssertEqual(row.recovers, true)
        XCTAssertEqual(row.backtrace, true)
        XCTAssertEqual(row.safeAfterwards, false, "the lock probe must deadlock")
        XCTAssertEqual(result.measurement("lock_probe_deadlocked"), 1)
        XCTAssertLessThan(try XCTUnwrap(row.costPerCall), 1e-3)
    }

    func testForkPerCallGivesEveryVictimItsOutcome() throws {
        let result = try ExperimentRunner.run("06-fork-per-call", budget: 1.5)
        assertExact(result.calls)
        XCTAssertEqual(result.measurement("zoo_matched"), result.measurement("zoo_size"))
        XCTAssertGreaterThan(try XCTUnwrap(result.measurement("zoo_size")), 20)
        let row = try ExperimentRunner.row(result, "fork per call")
        XCTAssertEqual(row.needsTimeout, false)
        XCTAssertEqual(row.safeAfterwards, true)
        XCTAssertEqual(result.measurement("fd_growth"), 0)
    }

    func testSupervisedPoolRecoversWithoutATimeoutAndKeepsItsSize() throws {
        let result = try ExperimentRunner.run("07-supervised-pool", budget: 1.5, ["--workers", "2"])
        assertExact(result.calls)
        let row = try ExperimentRunner.row(result, "supervised pool (WorkerPool)")
        XCTAssertEqual(row.recovers, true)
        XCTAssertEqual(row.hangs, false)
        XCTAssertEqual(row.needsTimeout, false)
        XCTAssertEqual(row.safeAfterwards, true)
        // Every worker started beyond the two and the standby ones (1 to 4) replaced one that died.
        let standby = try XCTUnwrap(result.measurement("standby_workers"))
        XCTAssertTrue((1...4).contains(standby), "standby workers: \(standby)")
        XCTAssertEqual(result.measurement("worker_deaths"), result.measurement("workers_started").map { $0 - 2 - standby })
        XCTAssertEqual(result.measurement("fd_growth"), 0)
    }

    func testWhatTheGuardCannotMakeSafe() throws {
        let result = try ExperimentRunner.run("08-why-inprocess-is-unsafe", budget: 1.5, ["--leak-calls", "100", "--leak-kib", "256"])
        XCTAssertEqual(result.measurement("lock_deadlocked"), 1)
        XCTAssertGreaterThan(try XCTUnwrap(result.measurement("guard_rss_growth")), 100 * 256 * 1024 * 0.8)
        XCTAssertEqual(result.measurement("guard_fd_growth"), 100)
        XCTAssertLessThan(try XCTUnwrap(result.measurement("fork_rss_growth")), 4 * 1_048_576)
        XCTAssertEqual(result.measurement("fork_fd_growth"), 0)
        XCTAssertEqual(result.measurement("thread_call_returned"), 0)
        XCTAssertEqual(result.measurement("thread_signal"), Double(Signal.segmentationFault.rawValue))
        XCTAssertEqual(result.measurement("guard_in_use"), 5)
        XCTAssertEqual(result.measurement("fork_in_use"), 0)
    }
}
