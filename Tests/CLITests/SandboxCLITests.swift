import Faultline
import FaultlineHarness
import FaultlineTestSupport
import Foundation
import XCTest

/// `faultline call --sandbox …` and `faultline triage --sandbox …` from outside:
/// the violation lines, the first line's "sandbox" member, the summary on
/// stderr, and every bad input refused with one line and exit status 2.
final class SandboxCLITests: XCTestCase {
    private func run(_ arguments: [String], command: String = "call", stdin: String? = nil)
        throws -> (status: ExitStatus?, stdout: String, stderr: String) {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, [command, Fixtures.victimsLibrary] + arguments, stdin: stdin,
                                                     timeout: 120)
        return (status, process.standardOutput, process.standardError)
    }

    private func triage(_ arguments: [String]) throws -> (status: ExitStatus?, stdout: String, stderr: String) {
        try run(arguments, command: "triage")
    }

    private func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
    }

    /// Each process strategy: the violation line names the call with its
    /// arguments, pc, named frames and bucket; the input around it returns; the
    /// first line (only) says what is enforced; stderr says it once.
    func testAViolationLineInEachProcessStrategy() throws {
        for strategy in [["--strategy", "pool"], ["--strategy", "fork"], ["--max-calls-per-worker", "1"]] {
            let result = try run(["fl_sb_socket", "--sandbox", "pure"] + strategy + ["--", "1", "-1", "2"])
            XCTAssertEqual(result.status, .exitCode(0), result.stderr)
            let lines = try objects(result.stdout)
            XCTAssertEqual(lines.map { $0["outcome"] as? String }, ["returned", "violation", "returned"], "\(strategy)")
            let call = try XCTUnwrap(lines[1]["syscall"] as? [String: Any])
            XCTAssertEqual(call["name"] as? String, "socket")
            XCTAssertEqual(call["number"] as? Int, 41)
            XCTAssertEqual(call["arch"] as? String, "x86_64")
            XCTAssertEqual((call["args"] as? [Int])?.prefix(3), [2, 1, 0])
            XCTAssertTrue((lines[1]["pc"] as? String)?.hasPrefix("0x") ?? false)
            XCTAssertEqual((lines[1]["backtrace"] as? [String])?.last?.hasPrefix("fl_sb_socket (sandbox_victims.c:"), true, "\(lines[1])")
            XCTAssertTrue((lines[1]["bucket"] as? String)?.hasPrefix("violation:socket:") ?? false)
            XCTAssertEqual(lines[1]["cut_at_call"] as? Bool, true)
            let sandbox = try XCTUnwrap(lines[0]["sandbox"] as? [String: Any], "\(lines[0])")
            XCTAssertNil(lines[1]["sandbox"])
            XCTAssertNil(lines[2]["sandbox"])
            XCTAssertEqual(sandbox["preset"] as? String, "pure")
            XCTAssertEqual(sandbox["network"] as? String, "none")
            XCTAssertEqual((sandbox["seccomp"] as? [String: Any])?["enforced"] as? Bool, true)
            XCTAssertEqual((sandbox["landlock"] as? [String: Any])?["enforced"] as? Bool, true)
            XCTAssertEqual(sandbox["namespaces"] as? [String], ["user", "net"])
            XCTAssertEqual(sandbox["missing"] as? [String], [])
            let summary = result.stderr.split(separator: "\n").filter { $0.hasPrefix("faultline: sandbox pure: seccomp (") }
            XCTAssertEqual(summary.count, 1, result.stderr)
        }
    }

    /// The human form, in triage's text: `violation: socket(2, 1, 0) [41, x86_64] at fl_sb_socket (sandbox_victims.c:59)`;
    /// violations grouped by call and frames, reproduced with the same sandbox.
    func testTriageGroupsViolationsAndReproducesThem() throws {
        let text = try triage(["fl_sb_socket", "--sandbox", "pure", "--replays", "1", "--", "-1", "2", "-3"])
        XCTAssertEqual(text.status, .exitCode(0), text.stderr)
        XCTAssertTrue(text.stdout.contains("    violation: socket(2, 1, 0) [41, x86_64] at fl_sb_socket (sandbox_victims.c:"), text.stdout)
        XCTAssertTrue(text.stdout.contains("reproduced 1/1"), text.stdout)
        XCTAssertTrue(text.stdout.contains("--sandbox pure"), text.stdout)
        let json = try triage(["fl_sb_socket", "--sandbox", "pure", "--replays", "1", "--json", "--", "-1", "2", "-3"])
        let groups = try objects(json.stdout)
        XCTAssertEqual(groups.count, 2)
        XCTAssertTrue((groups[0]["bucket"] as? String)?.hasPrefix("violation:socket:") ?? false)
        XCTAssertEqual(groups[0]["count"] as? Int, 2)
        XCTAssertEqual((groups[0]["syscall"] as? [String: Any])?["name"] as? String, "socket")
        XCTAssertEqual(groups[0]["reproduced"] as? Int, 1)
        XCTAssertEqual(groups[1]["returned"] as? Int, 1)
    }

    /// A policy file of rules, with network host: the UDP datagram goes out; without the file it is a violation.
    func testAPolicyFileAllowsWhatItSays() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("faultline-policy-\(getpid()).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "# UDP only\nsocket a0 == 2 a1 == 2\nclose\n".write(toFile: path, atomically: true, encoding: .utf8)
        for strategy in ["pool", "fork"] {
            let allowed = try run(["fl_sb_sendto_udp", "--sandbox", "pure", "--network", "host", "--sandbox-policy", path,
                                   "--allow-syscall", "sendto", "--strategy", strategy, "--", "-1"])
            XCTAssertEqual(allowed.status, .exitCode(0), allowed.stderr)
            XCTAssertEqual(try objects(allowed.stdout).first?["value"] as? Int, 1, allowed.stdout)
            let tcp = try run(["fl_sb_socket", "--sandbox", "pure", "--network", "host", "--sandbox-policy", path,
                               "--strategy", strategy, "--", "-1"])
            XCTAssertEqual(try objects(tcp.stdout).first?["outcome"] as? String, "violation")
        }
    }

    /// Bad input: one line on stderr naming the problem, exit 2, nothing on stdout.
    func testBadSandboxInputIsOneLineAndExit2() throws {
        let policy = FileManager.default.temporaryDirectory.appendingPathComponent("faultline-bad-policy-\(getpid()).txt").path
        defer { try? FileManager.default.removeItem(atPath: policy) }
        try "getcwd\nioctl a1 = 21505\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--sandbox", "pure", "--strategy", "guard"], "--sandbox needs --strategy pool or fork"),
            (["--allow-read", "/tmp"], "--allow-read needs --sandbox PRESET"),
            (["--sandbox-strict"], "--sandbox-strict needs --sandbox PRESET"),
            (["--sandbox", "lenient"], "The value 'lenient' is invalid for '--sandbox <preset>'"),
            (["--sandbox", "pure", "--allow-syscall", "no_such_call"], "--allow-syscall 'no_such_call': unknown system call 'no_such_call'"),
            (["--sandbox", "pure", "--allow-syscall", "ptrace"], "'ptrace' is always denied by the sandbox (a guard)"),
            (["--sandbox", "pure", "--allow-syscall", "clone"], "'clone' is decided by the sandbox"),
            (["--sandbox", "pure", "--allow-syscall", "socket"], "'socket' is denied with --network none"),
            (["--sandbox", "pure", "--sandbox-policy", policy], "\(policy) line 2: expected ==, !=, <, <=, > or >= after a1"),
            (["--sandbox", "pure", "--sandbox-policy", "/no/such/policy"], "cannot read the sandbox policy '/no/such/policy'"),
            (["--sandbox", "pure", "--allow-read", "/no/such/path"], "cannot open '/no/such/path' for the sandbox"),
            (["--sandbox", "pure", "--cpu-limit", "0"], "--cpu-limit must be at least 1 second"),
            (["--sandbox", "pure", "--network", "wifi"], "The value 'wifi' is invalid for '--network <network>'"),
        ]
        for (flags, message) in cases {
            let result = try run(["fl_identity"] + flags + ["--", "1"])
            XCTAssertEqual(result.status, .exitCode(2), "\(flags): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", "\(flags)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(flags): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "\(flags): \(result.stderr)")
        }
    }

    /// --sandbox-strict runs where everything asked is enforced, and says so.
    func testStrictRunsWhenEverythingIsEnforced() throws {
        let result = try run(["fl_sb_compute", "--sandbox", "threads", "--sandbox-strict", "--cpu-limit", "30", "--", "4"])
        XCTAssertEqual(result.status, .exitCode(0), result.stderr)
        let line = try XCTUnwrap(try objects(result.stdout).first)
        XCTAssertEqual(line["outcome"] as? String, "returned")
        let sandbox = try XCTUnwrap(line["sandbox"] as? [String: Any])
        XCTAssertEqual(sandbox["strict"] as? Bool, true)
        XCTAssertEqual((sandbox["limits"] as? [String: Any])?["cpu"] as? Int, 30)
        XCTAssertTrue(result.stderr.contains("rlimits (no core, cpu 30 s)"), result.stderr)
    }
}
