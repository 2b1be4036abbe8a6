import Faultline
import FaultlineHarness
import FaultlineTestSupport
import Foundation
import XCTest

/// `--sandbox-learn`: calls recorded, not sandboxed; the policy it writes is then enforced.
final class SandboxLearnCLITests: XCTestCase {
    private func run(_ arguments: [String]) throws -> (status: ExitStatus?, stdout: String, stderr: String) {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["call", Fixtures.victimsLibrary] + arguments, stdin: nil,
                                                     timeout: 120)
        return (status, process.standardOutput, process.standardError)
    }

    func testLearningRecordsOpenAndSocketAndItsPolicyIsEnforced() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("faultline-learned-\(getpid()).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let open = try run(["fl_sb_open_etc", "--sandbox-learn", "--workers", "1", "--", "1", "-1"])
        XCTAssertEqual(open.status, .exitCode(0), open.stderr)
        XCTAssertTrue(open.stdout.contains("\"sandbox\":{\"sandboxed\":false,\"learn\":true}"), open.stdout)
        XCTAssertTrue(open.stderr.contains("NOT sandboxed"), open.stderr)
        XCTAssertTrue(open.stderr.contains("openat 1 first input 1"), open.stderr)
        let socket = try run(["fl_sb_socket", "--sandbox-learn=\(path)", "--workers", "1", "--", "-1"])
        XCTAssertEqual(socket.status, .exitCode(0), socket.stderr)
        XCTAssertTrue(socket.stderr.contains("socket 1 first input 0"), socket.stderr)
        let policy = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(policy.split(separator: "\n").contains { $0.hasPrefix("socket ") }, policy)
        // Enforced: socket now returns (a descriptor); openat, not learned here, is a violation.
        let allowed = try run(["fl_sb_socket", "--sandbox", "pure", "--network", "host", "--sandbox-policy", path, "--", "-1"])
        XCTAssertEqual(allowed.status, .exitCode(0), allowed.stderr)
        XCTAssertTrue(allowed.stdout.contains("\"outcome\":\"returned\""), allowed.stdout)
        let caught = try run(["fl_sb_open_etc", "--sandbox", "pure", "--network", "host", "--sandbox-policy", path, "--", "-1"])
        XCTAssertTrue(caught.stdout.contains("\"outcome\":\"violation\"") && caught.stdout.contains("\"name\":\"openat\""), caught.stdout)
    }

    func testTheFirstInputIsCountedAcrossChunks() throws {
        // With a signature the CLI runs 1,024 inputs at a time: the call first made by
        // input 1,030 is said to be input 1,030, not the 6th of its chunk.
        let inputs = (0..<1100).map { $0 == 1030 ? "[-1]" : "[\($0)]" }
        let learned = try run(["fl_sb_open_etc", "--sandbox-learn", "--workers", "1", "--signature", "int32(int32)", "--"] + inputs)
        XCTAssertEqual(learned.status, .exitCode(0), learned.stderr)
        XCTAssertTrue(learned.stderr.contains("openat 1 first input 1030"), learned.stderr)
    }

    func testLearningFlagsAreCheckedOneLineExit2() throws {
        for (flags, message) in [(["--sandbox-learn", "--strategy", "fork"], "--sandbox-learn needs --strategy pool"),
                                 (["--sandbox-learn", "--sandbox", "pure"], "--sandbox-learn runs without a sandbox"),
                                 (["--sandbox-learn-file", "/tmp/x"], "--sandbox-learn-file needs --sandbox-learn")] {
            let result = try run(["fl_identity"] + flags + ["--", "1"])
            XCTAssertEqual(result.status, .exitCode(2), "\(flags): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "\(flags): \(result.stderr)")
        }
    }
}
