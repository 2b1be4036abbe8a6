import ExperimentKit
import FaultlineTestSupport
import Faultline
import FaultlineHarness
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Runs a built experiment executable (it sits next to the test binary) under
/// a deadline and decodes the result it prints with `--json`.
enum ExperimentRunner {
    /// The executable of experiment `name`, e.g. `02-pool-map-hang`.
    static func path(_ name: String) -> String { Fixtures.buildDirectory + "/" + name }

    /// Runs it with `--json --budget budget arguments…`; fails the test if it
    /// does not finish within `deadline` seconds or does not print a result.
    static func run(_ name: String, budget: Double = 1, _ arguments: [String] = [], deadline: Double = 60,
                    file: StaticString = #filePath, line: UInt = #line) throws -> ExperimentResult {
        let (process, status) = try ChildProcess.run(path(name), ["--json", "--budget", String(budget)] + arguments, timeout: deadline)
        guard let status else {
            XCTFail("\(name) did not finish within \(deadline) s", file: file, line: line)
            throw XCTSkip("no result")
        }
        XCTAssertEqual(status, .exitCode(0), "\(name): \(process.standardError)", file: file, line: line)
        let result = try JSONDecoder().decode(ExperimentResult.self, from: Data(process.standardOutput.utf8))
        XCTAssertEqual(result.remainingAfterCleanup, [], "\(name) left processes behind", file: file, line: line)
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [], "processes left under the test", file: file, line: line)
        return result
    }

    /// The comparison-table row named `strategy`.
    static func row(_ result: ExperimentResult, _ strategy: String, file: StaticString = #filePath, line: UInt = #line) throws -> StrategyRow {
        try XCTUnwrap(result.strategies.first { $0.strategy == strategy }, "no row '\(strategy)' in \(result.strategies.map(\.strategy))", file: file, line: line)
    }
}

/// The experiments' command line: bad input is one line on stderr and a non-zero status.
final class ExperimentRunnerTests: XCTestCase {
    private func failing(_ arguments: [String], status expected: Int32) throws -> String {
        let (process, status) = try ChildProcess.run(ExperimentRunner.path("01-direct-call"), arguments, timeout: 30)
        XCTAssertEqual(status, .exitCode(expected), "\(arguments)")
        XCTAssertEqual(process.standardOutput, "", "\(arguments)")
        let lines = process.standardError.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "\(arguments): \(process.standardError)")
        return process.standardError
    }

    func testBadArgumentsAreOneLineErrors() throws {
        XCTAssertTrue(try failing(["--bogus"], status: 2).contains("--bogus"))
        XCTAssertTrue(try failing(["--budget", "soon"], status: 2).contains("'soon'"))
        XCTAssertTrue(try failing(["--budget", "-1"], status: 2).contains("--budget"))
        XCTAssertTrue(try failing(["--budget"], status: 2).contains("--budget"))
        XCTAssertTrue(try failing(["--subject", "no-such-subject"], status: 3).contains("no-such-subject"))
        XCTAssertTrue(try failing(["--render-report", "/nonexistent/results", "/tmp/x.md"], status: 1).contains("/nonexistent/results"))
        let (_, status) = try ChildProcess.run(ExperimentRunner.path("04-timeout-per-call"), ["--call-timeout", "0"], timeout: 30)
        XCTAssertEqual(status, .exitCode(2), "a value out of range is refused")
    }

    func testOptionsParseExperimentFlags() throws {
        let flags = [NumericFlag("workers", default: 1, help: "", range: 1...4)]
        let options = try ExperimentOptions.parse(["--json", "--budget", "2.5", "--workers", "3"], flags: flags)
        XCTAssertEqual(options.budget, 2.5)
        XCTAssertTrue(options.json)
        XCTAssertEqual(options["workers"], 3)
        XCTAssertThrowsError(try ExperimentOptions.parse(["--workers", "9"], flags: flags))
        XCTAssertEqual(try ExperimentOptions.parse(["--subject", "x", "--bogus"]).mode, .subject(name: "x", arguments: ["--bogus"]))
    }
}
