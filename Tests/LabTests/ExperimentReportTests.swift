import ExperimentKit
import Faultline
import FaultlineHarness
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// REPORT.md is rendered from what the experiments printed, and only from that.
final class ExperimentReportTests: XCTestCase {
    private func makeFolder() throws -> String {
        var template = Array("/tmp/faultline-report-XXXXXX".utf8CString)
        return String(cString: try XCTUnwrap(mkdtemp(&template)))
    }

    func testReportShowsMeasuredFiguresAndSaysWhenBenchIsMissing() throws {
        let folder = try makeFolder()
        for name in ["01-direct-call", "05-inprocess-guard"] {
            let (process, status) = try ChildProcess.run(ExperimentRunner.path(name), ["--json", "--budget", "1"], timeout: 60)
            XCTAssertEqual(status, .exitCode(0))
            try Files.write(process.standardOutput, to: "\(folder)/\(name).json")
        }
        try Files.write("exit status 124 (killed by the outer timeout)\n", to: "\(folder)/03-signal-handler-returns.error")
        let output = folder + "/REPORT.md"
        let (renderer, status) = try ChildProcess.run(ExperimentRunner.path("01-direct-call"), ["--render-report", folder, output], timeout: 60)
        XCTAssertEqual(status, .exitCode(0), renderer.standardError)
        let report = try XCTUnwrap(Files.read(output))

        let guardResult = try JSONDecoder().decode(ExperimentResult.self, from: Data(try XCTUnwrap(Files.read("\(folder)/05-inprocess-guard.json")).utf8))
        let guardRow = try XCTUnwrap(guardResult.strategies.first)
        XCTAssertTrue(report.contains("| \(guardRow.strategy) | Swift | [05](#05-inprocess-guard) | yes |"), "the comparison row")
        XCTAssertTrue(report.contains(Format.seconds(try XCTUnwrap(guardRow.costPerCall))), "the measured cost per call")
        XCTAssertTrue(report.contains(Blog.citation))
        XCTAssertTrue(report.contains("```mermaid\nxychart-beta"))
        XCTAssertTrue(report.contains("`03-signal-handler-returns`: exit status 124"), "a failed experiment is listed")
        XCTAssertTrue(report.contains("`faultline bench` is not available yet"))
        XCTAssertTrue(report.contains("not measured in this run"), "findings without a measurement say so")
        for line in guardResult.summary { XCTAssertTrue(report.contains(line), "summary line missing: \(line)") }

        // With a bench result, whatever it holds is rendered under Performance.
        try Files.write(#"{"run":{"cores":2},"strategies":{"a":{"p50_ns":12.5,"ok":true},"b":{"p50_ns":40,"ok":false}},"targets":[{"name":"t1","pass":true}]}"#,
                        to: folder + "/bench.json")
        let (_, again) = try ChildProcess.run(ExperimentRunner.path("01-direct-call"), ["--render-report", folder, output], timeout: 60)
        XCTAssertEqual(again, .exitCode(0))
        let withBench = try XCTUnwrap(Files.read(output))
        XCTAssertFalse(withBench.contains("not available yet"))
        XCTAssertTrue(withBench.contains("| | a | b |"), withBench)
        XCTAssertTrue(withBench.contains("| p50_ns | 12.50 | 40 |"), withBench)
        XCTAssertTrue(withBench.contains("| t1 | yes |"), withBench)
        for name in Files.list(folder) { unlink(folder + "/" + name) }
        rmdir(folder)
    }
}
