import ExperimentKit
import Faultline
import XCTest

/// The patterns of the write-up that hang, shown hanging: each runs for real
/// under the experiment's watchdog, which stops it and kills what it left.
final class ExperimentHangTests: XCTestCase {
    func testDirectCallDiesAtTheFirstFault() throws {
        let result = try ExperimentRunner.run("01-direct-call")
        let firstFault = try XCTUnwrap(Blog.inputs.firstIndex(where: Blog.faults))
        XCTAssertEqual(result.measurement("results_printed"), Double(firstFault))
        XCTAssertEqual(result.measurement("signal"), Double(Signal.segmentationFault.rawValue))
        XCTAssertEqual(result.measurement("died_at_call"), Double(firstFault + 1))
        XCTAssertEqual(result.calls.map(\.status), Blog.inputs.indices.map { $0 < firstFault ? .returned : .missing })
        XCTAssertEqual(try ExperimentRunner.row(result, "direct call").recovers, false)
    }

    func testPoolMapHangsOnceAWorkerDies() throws {
        let started = ContinuousClock.now
        let result = try ExperimentRunner.run("02-pool-map-hang", budget: 1)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(20), "the watchdog did not bound the hang")
        let row = try ExperimentRunner.row(result, "Pool.map pattern (naive pool)")
        XCTAssertEqual(row.hangs, true)
        XCTAssertEqual(row.recovers, false)
        // With one worker that is replaced, every input that does not fault is answered and every one that faults is lost.
        for (input, call) in zip(Blog.inputs, result.calls) {
            XCTAssertEqual(call.status, Blog.faults(input) ? .missing : .returned, "input \(input)")
            if !Blog.faults(input) { XCTAssertEqual(call.value, input) }
        }
        XCTAssertEqual(result.measurement("results"), Double(Blog.inputs.filter { !Blog.faults($0) }.count))
        XCTAssertEqual(result.measurement("workers_alive_while_hung"), 1, "the pool kept its size while hung")
        XCTAssertNotNil(result.measurement("sigint_ended_it"))
        // The replacement worker outlives its parent: an orphan, re-parented to the watchdog.
        XCTAssertEqual(result.leftBehind.count, 1, "\(result.leftBehind)")
        XCTAssertTrue(result.leftBehind.allSatisfy { $0.command.contains("naive-worker") }, "\(result.leftBehind)")
    }

    func testReturningSignalHandlerSpinsWithoutProgress() throws {
        let result = try ExperimentRunner.run("03-signal-handler-returns", budget: 1.2)
        let row = try ExperimentRunner.row(result, "SIGSEGV handler that returns")
        XCTAssertEqual(row.hangs, true)
        XCTAssertEqual(result.measurement("new_results_in_window"), 0)
        XCTAssertEqual(result.measurement("results"), Double(try XCTUnwrap(Blog.inputs.firstIndex(where: Blog.faults))))
        // The handler keeps running: the faulting instruction is re-executed over and over.
        XCTAssertGreaterThan(try XCTUnwrap(result.measurement("handler_runs")), 1000)
        XCTAssertGreaterThan(try XCTUnwrap(result.measurement("cpu_percent")), 20, "a spinning process uses CPU")
    }
}
