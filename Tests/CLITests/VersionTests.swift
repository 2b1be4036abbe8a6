import FaultlineHarness
import FaultlineTestSupport
import Foundation
import XCTest

/// `faultline --version` and the Python package's `__version__` are one version:
/// python/src/faultline/_version.py is its source, Version.swift a checked copy.
final class VersionTests: XCTestCase {
    func testVersionIsThePythonPackagesVersion() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let source = try String(contentsOf: repository.appendingPathComponent("python/src/faultline/_version.py"), encoding: .utf8)
        let assignment = try XCTUnwrap(source.split(separator: "\n").first { $0.hasPrefix("__version__ = ") })
        let python = assignment.dropFirst("__version__ = ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
        XCTAssertFalse(python.isEmpty)
        let (run, status) = try ChildProcess.run(Fixtures.faultline, ["--version"], timeout: 60)
        XCTAssertEqual(status, .exitCode(0), run.standardError)
        XCTAssertEqual(run.standardOutput, python + "\n")
    }
}
