import Faultline
import FaultlineHarness
import FaultlineTestSupport
import Foundation
import XCTest

/// `faultline triage`, and the crash-report members of `faultline call` lines, checked from outside.
final class TriageCommandTests: XCTestCase {
    private func run(_ arguments: [String], stdin: String? = nil) throws -> (status: ExitStatus?, stdout: String, stderr: String) {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, arguments, stdin: stdin, timeout: 120)
        return (status, process.standardOutput, process.standardError)
    }

    private func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
    }

    /// fl_mixed: -1 writes through NULL, -2 divides by zero, -7 exits 7, >= 0 returns.
    private let inputs = ["1", "-1", "2", "-2", "-1", "3", "-7", "-1", "-2", "4"]

    func testJSONGroupsLargestFirstWithReproducersThatReproduce() throws {
        // (The guard cannot survive exit(): its process ends with the callee's status.)
        for strategy in ["pool", "fork"] {
            let (status, stdout, stderr) = try run(["triage", Fixtures.victimsLibrary, "fl_mixed", "--json", "--strategy", strategy, "--"] + inputs)
            XCTAssertEqual(status, .exitCode(0), stderr)
            let lines = try objects(stdout)
            XCTAssertEqual(lines.count, 4, stdout)
            let totals = try XCTUnwrap(lines.last)
            XCTAssertEqual(totals["total"] as? Int, 10)
            XCTAssertEqual(totals["returned"] as? Int, 4)
            XCTAssertEqual(totals["groups"] as? Int, 3)
            let groups = Array(lines.dropLast())
            XCTAssertEqual(groups.map { $0["count"] as? Int }, [3, 2, 1])
            XCTAssertEqual(groups[0]["signal"] as? String, "SIGSEGV")
            XCTAssertEqual(groups[0]["access"] as? String, "write")
            XCTAssertEqual((groups[0]["bucket"] as? String)?.hasPrefix("fl1-"), true)
            XCTAssertEqual(groups[0]["inputs"] as? [Int], [-1, -1, -1])
            XCTAssertEqual(((groups[0]["frames"] as? [[String: Any]])?.first?["symbol"]) as? String, "write_through_null")
            XCTAssertEqual((groups[0]["severity"] as? [String: String])?["class"], "DestAvNearNull")
            XCTAssertEqual(groups[1]["signal"] as? String, "SIGFPE")
            XCTAssertEqual(groups[2]["bucket"] as? String, "exit:7")
            XCTAssertEqual(groups[2]["status"] as? Int, 7)
            for group in groups {
                XCTAssertEqual(group["reproduced"] as? Int, 3, "\(group)")
                let argv = try XCTUnwrap(group["reproduce"] as? [String])
                XCTAssertEqual(Array(argv.suffix(4)), ["--strategy", "fork", "--", String((group["inputs"] as? [Int])?.first ?? 0)])
            }
            // The reproducer, run as printed, gives the group's bucket.
            let argv = try XCTUnwrap(groups[0]["reproduce"] as? [String])
            let (replay, replayStatus) = try ChildProcess.run(argv[0], Array(argv.dropFirst()), timeout: 60)
            XCTAssertEqual(replayStatus, .exitCode(0))
            XCTAssertEqual(try objects(replay.standardOutput).first?["bucket"] as? String, groups[0]["bucket"] as? String)
        }
    }

    func testBlocksForAPerson() throws {
        let (status, stdout, stderr) = try run(["triage", Fixtures.victimsLibrary, "fl_mixed", "--replays", "1", "--"] + inputs)
        XCTAssertEqual(status, .exitCode(0), stderr)
        XCTAssertTrue(stdout.hasPrefix("#1  3 inputs (30.0 %)  fl1-"), stdout)
        XCTAssertTrue(stdout.contains("SIGSEGV, write at 0x0, DestAvNearNull (PROBABLY_EXPLOITABLE) [heuristic]"), stdout)
        XCTAssertTrue(stdout.contains("    at write_through_null"), stdout)
        XCTAssertTrue(stdout.contains("    inputs: -1, -1, -1"), stdout)
        XCTAssertTrue(stdout.contains("reproduced 1/1"), stdout)
        XCTAssertTrue(stdout.contains("--strategy fork -- -1"), stdout)
        XCTAssertTrue(stdout.hasSuffix("10 inputs: 4 returned, 6 failed in 3 groups\n"), stdout)
    }

    func testBlocksSkipTheRuntimesFramesOfAnAbortAndFoldARecursion() throws {
        // fl_mixed(-4) calls abort(); fl_mixed(-5) recurses until the stack runs out.
        let (status, stdout, stderr) = try run(["triage", Fixtures.victimsLibrary, "fl_mixed", "--replays", "0", "--", "-4", "-5"])
        XCTAssertEqual(status, .exitCode(0), stderr)
        let blocks = stdout.components(separatedBy: "\n\n")
        let abort = try XCTUnwrap(blocks.first { $0.contains("SIGABRT") }, stdout)
        // Where it died, the runtime's frames in one line, then the library's own frame.
        let lines = abort.split(separator: "\n").map(String.init)
        let at = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("    at ") }, abort)
        XCTAssertTrue(lines[at + 1].contains("runtime frame") && lines[at + 1].contains("abort"), abort)
        XCTAssertTrue(lines[at + 2].contains("fl_abort") || lines[at + 2].contains("fl_mixed"), abort) // a tail call may leave fl_abort out
        let overflow = try XCTUnwrap(blocks.first { $0.contains("StackOverflow") }, stdout)
        XCTAssertTrue(overflow.contains("recurse") && overflow.contains("× "), overflow)
        XCTAssertLessThan(overflow.split(separator: "\n").count, 12, overflow)
    }

    func testStandardInputAndSignaturesAndBadFlags() throws {
        let (status, stdout, _) = try run(["triage", Fixtures.victimsLibrary, "fl_mixed", "--json", "--replays", "0",
                                           "--signature", "int32(int32)"], stdin: "[-1]\n[5]\n[-1]\n")
        XCTAssertEqual(status, .exitCode(0))
        let lines = try objects(stdout)
        XCTAssertEqual(lines.first?["inputs"] as? [[Int]], [[-1], [-1]])
        XCTAssertEqual(lines.first?["reproduced"] as? Int, 0)
        XCTAssertEqual((lines.first?["reproduce"] as? [String])?.last, "[-1]")
        for bad in [["--replays", "-1"], ["--workers", "0"], ["--frobnicate"]] {
            let (badStatus, badOut, badErr) = try run(["triage", Fixtures.victimsLibrary, "fl_mixed"] + bad + ["1"])
            XCTAssertEqual(badStatus, .exitCode(2), "\(bad)")
            XCTAssertEqual(badOut, "")
            XCTAssertEqual(badErr.split(separator: "\n").count, 1, badErr)
        }
        let (missing, _, missingErr) = try run(["triage", "/nonexistent/lib.so", "f", "1"])
        XCTAssertEqual(missing, .exitCode(2))
        XCTAssertTrue(missingErr.contains("/nonexistent/lib.so"), missingErr)
    }

    func testCallLinesCarryBucketAccessSeverityAndNullAddresses() throws {
        let (status, stdout, stderr) = try run(["call", Fixtures.victimsLibrary, "fl_mixed", "--strategy", "fork", "--", "-1", "-4"])
        XCTAssertEqual(status, .exitCode(0), stderr)
        let lines = try objects(stdout)
        XCTAssertEqual(lines[0]["access"] as? String, "write")
        XCTAssertEqual(lines[0]["address"] as? String, "0x0")
        XCTAssertEqual(lines[0]["cut_at_call"] as? Bool, true)
        XCTAssertTrue((lines[0]["backtrace"] as? [String])?.first?.hasPrefix("write_through_null") ?? false, "\(lines[0])")
        // abort() is a sent signal: no fault address, never "0x0".
        XCTAssertTrue(lines[1]["address"] is NSNull, "\(lines[1])")
        XCTAssertEqual((lines[1]["severity"] as? [String: String])?["class"], "AbortSignal")
        // The frames of the call line decode back into the same fault, bucket included.
        let decoded = try JSONDecoder().decode(Outcome.self, from: Data(stdout.split(separator: "\n")[0].utf8))
        XCTAssertEqual(decoded.fault?.bucket, lines[0]["bucket"] as? String)
    }
}
