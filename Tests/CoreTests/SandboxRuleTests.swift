import Faultline
import Foundation
import XCTest

/// The sandbox's values as pure functions: rules and policy files parsed,
/// a violation described, written as JSON and read back, grouped by triage.
final class SandboxRuleTests: XCTestCase {
    func testRulesParse() throws {
        let socket = try SyscallRule(parsing: "socket a0 == 1", origin: "x")
        XCTAssertEqual(socket.name, "socket")
        XCTAssertEqual(socket.conditions, [.init(argument: 0, .equal, 1)])
        let mmap = try SyscallRule(parsing: "  mmap\ta2 & 0x4 == 0 a3 >= 0x10 ", origin: "x")
        XCTAssertEqual(mmap.conditions, [.init(argument: 2, .equal, 0, mask: 4), .init(argument: 3, .greaterOrEqual, 16)])
        XCTAssertEqual(mmap.description, "mmap a2 & 0x4 == 0 a3 >= 16")
        XCTAssertEqual(try SyscallRule(parsing: "getcwd", origin: "x").conditions, [])
    }

    func testMalformedRulesSayWhy() {
        let cases: [(String, String)] = [
            ("", "no system call named"),
            ("sock-et", "'sock-et' is not a system call name"),
            ("socket b0 == 1", "expected an argument a0 to a5, found 'b0'"),
            ("socket a6 == 1", "expected an argument a0 to a5, found 'a6'"),
            ("socket a0 = 1", "expected ==, !=, <, <=, > or >= after a0"),
            ("socket a0 == x", "'x' is not a number"),
            ("socket a0 & 4 != 0", "a masked condition takes == only"),
            ("socket a0 == 1 a0 == 2", "a0 has two conditions"),
            ("socket a0", "expected ==, !=, <, <=, > or >= after a0"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try SyscallRule(parsing: Substring(text), origin: "--allow-syscall '\(text)'")) { error in
                XCTAssertEqual(error as? SandboxError, .malformedRule(where: "--allow-syscall '\(text)'", reason: reason), text)
            }
        }
    }

    func testPolicyFilesSkipCommentsAndNameTheirLines() throws {
        let text = "# policy\n\ngetcwd   # where am I\n  socket a0 == 1\n"
        let rules = try SyscallRule.policy(text, file: "p.txt")
        XCTAssertEqual(rules.map(\.name), ["getcwd", "socket"])
        XCTAssertEqual(rules.map(\.origin), ["p.txt line 3", "p.txt line 4"])
        XCTAssertThrowsError(try SyscallRule.policy("getcwd\nioctl a1 => 3\n", file: "p.txt")) { error in
            XCTAssertEqual((error as? SandboxError)?.description, "p.txt line 2: expected ==, !=, <, <=, > or >= after a1")
        }
    }

    private let frames = [
        Frame(address: 0x7f00_0000_1234, symbol: "__socket", offset: 7, image: "/lib/x86_64-linux-gnu/libc.so.6",
              file: "./socket/../sysdeps/unix/syscall-template.S", line: 120),
        Frame(address: 0x5555_0000_0042, symbol: "parse_header", offset: 32, image: "/work/libparser.so", file: "/src/parser.c", line: 88),
    ]

    private var violation: Violation {
        Violation(syscall: .init(name: "socket", number: 41, arch: "x86_64", args: [2, 1, 0, 0, 0, 0x7fff_0000_0010]),
                  pc: 0x7f00_0000_1234, backtrace: frames, cutAtCall: true)
    }

    func testAViolationIsDescribedAtTheCalleesFrame() {
        XCTAssertEqual(Outcome.violation(violation).description, "violation: socket(2, 1, 0) [41, x86_64] at parse_header (parser.c:88)")
        var unknown = violation
        unknown.syscall = .init(name: nil, number: 999, arch: "x86_64", args: [1, 0x7fff_0000_0000, 0, 0, 0, 0])
        XCTAssertEqual(unknown.syscall?.description, "syscall#999(1, 0x7fff00000000, 0, 0, 0, 0) [999, x86_64]")
        XCTAssertTrue(Outcome.violation(Violation(syscall: nil)).description.hasPrefix("violation: a denied system call made with SIGSYS blocked"))
    }

    func testTheJSONFormsAgreeAndRoundTrip() throws {
        for outcome in [Outcome.violation(violation), .violation(Violation(syscall: nil))] {
            let line = outcome.jsonLine(input: -1)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(object["outcome"] as? String, "violation")
            XCTAssertEqual(object["bucket"] as? String, outcome.violation?.bucket)
            XCTAssertEqual(try JSONDecoder().decode(Outcome.self, from: Data(line.utf8)), outcome)
            XCTAssertEqual(try JSONDecoder().decode(Outcome.self, from: JSONEncoder().encode(outcome)), outcome)
        }
        let line = Outcome.violation(violation).jsonLine(input: 3)
        XCTAssertTrue(line.hasPrefix(#"{"input":3,"outcome":"violation","syscall":{"name":"socket","number":41,"arch":"x86_64","args":[2,1,0,0,0,140733193388048]},"pc":"0x7f0000001234","backtrace":["__socket (syscall-template.S:120)","parse_header (parser.c:88)"]"#), line)
        XCTAssertTrue(Outcome.violation(Violation(syscall: nil)).jsonLine(input: 1).contains(#""syscall":null"#))
    }

    /// One group per call and top frames (the C runtime's frames left out, as in crash buckets).
    func testTriageGroupsViolationsByCallAndFrames() {
        var other = violation
        other.backtrace[1].symbol = "parse_body"
        var sameBug = violation
        sameBug.backtrace = sameBug.backtrace.map { frame in var moved = frame; moved.address += 0x1000; return moved }
        sameBug.syscall?.args = [2, 1, 0, 0, 0, 0]
        var open = violation
        open.syscall?.name = "openat"
        let triage = Triage(Outcomes([.violation(violation), .returned(1), .violation(sameBug), .violation(other),
                                      .violation(open), .violation(Violation(syscall: nil))]))
        XCTAssertEqual(triage.groups.map(\.count), [2, 1, 1, 1])
        XCTAssertEqual(triage.groups.first?.indices, [0, 2])
        XCTAssertTrue(violation.bucket.hasPrefix("violation:socket:") && violation.bucket.count == "violation:socket:".count + 16)
        XCTAssertNotEqual(violation.bucket, other.bucket)
        XCTAssertEqual(Violation(syscall: nil).bucket, "violation:unknown:")
    }
}
