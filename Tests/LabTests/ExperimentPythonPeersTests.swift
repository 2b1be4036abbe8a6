import ExperimentKit
import Faultline
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The Python patterns themselves, run through ctypes against the same library.
final class ExperimentPythonPeersTests: XCTestCase {
    func testPythonPatternsHangOrRecoverAsMeasured() throws {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        guard path.split(separator: ":").contains(where: { access("\($0)/python3", X_OK) == 0 }) else {
            throw XCTSkip("python3 is not installed")
        }
        let result = try ExperimentRunner.run("09-python-peers", budget: 1, ["--call-timeout", "0.1"], deadline: 120)
        XCTAssertNil(result.skipped)
        XCTAssertEqual(try ExperimentRunner.row(result, "direct ctypes call").recovers, false)
        XCTAssertEqual(result.findings.first { $0.number == 1 }?.confirmed, true, "the interpreter dies at the first fault")
        let map = try ExperimentRunner.row(result, "multiprocessing Pool.map")
        XCTAssertEqual(map.hangs, true)
        XCTAssertEqual(try ExperimentRunner.row(result, "Pool.map + returning SIGSEGV handler").hangs, true)
        XCTAssertEqual(result.measurement("handler_new_results"), 0)
        let apply = try ExperimentRunner.row(result, "apply_async + get(timeout)")
        XCTAssertEqual(apply.recovers, true)
        XCTAssertEqual(apply.needsTimeout, true)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(apply.costPerCrash), 0.1 * 0.95)
        // A crash breaks the executor: inputs that do not fault are reported failed too.
        XCTAssertEqual(try ExperimentRunner.row(result, "concurrent.futures ProcessPoolExecutor").recovers, false)
        XCTAssertGreaterThan(try XCTUnwrap(result.measurement("executor_innocent_failures")), 0)
        if let pebble = result.strategies.first(where: { $0.strategy == "pebble ProcessPool" }) {
            XCTAssertEqual(pebble.recovers, true)
            XCTAssertEqual(pebble.exactSignal, true)
            XCTAssertEqual(pebble.needsTimeout, false)
        } else {
            XCTAssertTrue(result.summary.contains { $0.hasPrefix("pebble: not available") }, "a missing pebble is said so")
        }
    }
}
