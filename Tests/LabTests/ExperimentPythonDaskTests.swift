import ExperimentKit
import Faultline
import FaultlineHarness
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Experiment 12: the Python package, the CLI, pebble and faultline.dask measured,
/// and a Dask worker killed mid-run.
final class ExperimentPythonDaskTests: XCTestCase {
    func testEveryWayHasFiguresAndAKilledWorkerLosesNothing() throws {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        guard path.split(separator: ":").contains(where: { access("\($0)/python3", X_OK) == 0 }) else {
            throw XCTSkip("python3 is not installed")
        }
        let result = try ExperimentRunner.run("12-python-and-dask", budget: 0.5, deadline: 150)
        XCTAssertNil(result.skipped)
        let ways = ["cli": "faultline call (CLI)", "call": "faultline.call", "executor": "FaultlineExecutor.map",
                    "dask": "faultline.dask.map", "pebble": "pebble ProcessPool"]
        for (key, name) in ways {
            if let reason = result.summary.first(where: { $0.hasPrefix("\(name): unavailable — ") }) {
                // Only a missing package is an acceptable reason, and it is said plainly.
                XCTAssertTrue(reason.hasSuffix("not installed"), reason)
                XCTAssertTrue(["dask", "pebble"].contains(key), "\(name) must run here: \(reason)")
                continue
            }
            for mix in ["mixed_5", "mixed_25", "all_faulting"] {
                XCTAssertGreaterThan(result.measurement("\(key)_\(mix)_calls_per_s") ?? 0, 0, "\(name) \(mix) calls/s")
                XCTAssertGreaterThan(result.measurement("\(key)_\(mix)_crashes_per_s") ?? 0, 0, "\(name) \(mix) crashes/s")
            }
            XCTAssertEqual(result.measurement("\(key)_exact"), 1, "\(name): every outcome exact")
        }
        if result.summary.contains(where: { $0.hasPrefix("faultline.dask.map: unavailable") }) {
            XCTAssertTrue(result.summary.contains { $0.hasPrefix("a killed Dask worker: unavailable — dask not installed") })
        } else {
            XCTAssertEqual(result.measurement("dask_worker_killed"), 1, "a Dask worker was killed mid-shard")
            XCTAssertEqual(result.measurement("dask_killed_every_outcome_once"), 1, "every outcome came back exactly once")
            XCTAssertEqual(result.measurement("dask_undisturbed_every_outcome_once"), 1)
            XCTAssertGreaterThan(result.measurement("dask_killed_seconds") ?? 0, 0)
        }
        XCTAssertEqual(result.measurement("processes_left"), 0, "nothing outlives the script: \(result.leftBehind)")
        XCTAssertEqual(result.remainingAfterCleanup, [])

        // The report gives it a section of its own, with its tables and the plain caveat.
        var template = Array("/tmp/faultline-report12-XXXXXX".utf8CString)
        let folder = String(cString: try XCTUnwrap(mkdtemp(&template)))
        defer {
            for name in Files.list(folder) { unlink(folder + "/" + name) }
            rmdir(folder)
        }
        try Files.write(try Experiment.encode(result), to: folder + "/12-python-and-dask.json")
        let (renderer, status) = try ChildProcess.run(ExperimentRunner.path("01-direct-call"), ["--render-report", folder, folder + "/REPORT.md"], timeout: 60)
        XCTAssertEqual(status, .exitCode(0), renderer.standardError)
        let report = try XCTUnwrap(Files.read(folder + "/REPORT.md"))
        XCTAssertTrue(report.contains("## Python and Dask"))
        XCTAssertTrue(report.contains("not speed-up"))
        XCTAssertTrue(report.contains("| way (2 workers) | mixed_5 calls/s |"), report)
        XCTAssertTrue(report.contains("| faultline.call | "), report)
    }
}
