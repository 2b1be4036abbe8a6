import Faultline
import FaultlineTestSupport
import FaultlineHarness
import Foundation
import XCTest

/// `int32(int32)` inputs follow one rule, JSON's integer grammar, whether the
/// signature is the default or given as `--signature 'int32(int32)'`.
final class IntegerInputTests: XCTestCase {
    /// Texts both paths accept, with the value each must call with.
    static let accepted: [(text: String, value: Int)] = [
        ("8", 8), (" 8 ", 8), ("\t-7 ", -7), ("0", 0), ("-0", 0), ("[8]", 8), ("[ -0 ]", 0),
        ("2147483647", 2_147_483_647), ("-2147483648", -2_147_483_648),
    ]

    /// Texts both paths refuse: a plus sign, leading zeros, out of range, not an integer.
    static let refused = ["+8", "[+8]", "007", "-007", "00", "[007]", "2147483648", "-2147483649", "99999999999",
                          "8.0", "1e2", "-", "0x10", "8 9", "[8, 9]"]

    /// `faultline call` of fl_identity under the guard, with the default signature or `--signature 'int32(int32)'`.
    private func call(_ inputs: [String], signature: Bool, stdin: String? = nil) throws -> (status: ExitStatus?, stdout: String, stderr: String) {
        let options = signature ? ["--signature", "int32(int32)"] : []
        let arguments = ["call", Fixtures.victimsLibrary, "fl_identity", "--strategy", "guard"] + options
            + (inputs.isEmpty ? [] : ["--"] + inputs)
        let (process, status) = try ChildProcess.run(Fixtures.faultline, arguments, stdin: stdin, timeout: 60)
        return (status, process.standardOutput, process.standardError)
    }

    private func values(_ stdout: String) throws -> [Int] {
        try stdout.split(separator: "\n").map { line in
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            return try XCTUnwrap(object["value"] as? Int, "no value in \(line)")
        }
    }

    /// Inputs after `--` are not matched word by word by the argument parser
    /// (which took ~10 s for 4,000 of them in a debug build): 30,000 arguments
    /// are all answered, in order, well inside the child's 60 s; a malformed
    /// one among them is still refused before any call.
    func testManyInputsAfterTheDashes() throws {
        let inputs = (0..<30_000).map { String($0 - 15_000) }
        let (status, stdout, stderr) = try call(inputs, signature: false)
        XCTAssertEqual(status, .exitCode(0), stderr)
        XCTAssertEqual(try values(stdout), (0..<30_000).map { $0 - 15_000 })
        let refused = try call(inputs + ["+8"], signature: false)
        XCTAssertEqual(refused.status, .exitCode(2))
        XCTAssertEqual(refused.stdout, "")
        XCTAssertTrue(refused.stderr.contains("input 30001: malformed input '+8'"), refused.stderr)
    }

    /// Every accepted text calls with its value on both paths, as arguments and as lines of standard input.
    func testBothPathsAcceptTheSameIntegers() throws {
        let texts = Self.accepted.map(\.text)
        for signature in [false, true] {
            let fromArguments = try call(texts, signature: signature)
            XCTAssertEqual(fromArguments.status, .exitCode(0), "signature: \(signature): \(fromArguments.stderr)")
            XCTAssertEqual(try values(fromArguments.stdout), Self.accepted.map(\.value), "signature: \(signature)")
            let fromLines = try call([], signature: signature, stdin: texts.joined(separator: "\n") + "\n")
            XCTAssertEqual(fromLines.status, .exitCode(0), "signature: \(signature): \(fromLines.stderr)")
            XCTAssertEqual(try values(fromLines.stdout), Self.accepted.map(\.value), "signature: \(signature), standard input")
        }
    }

    /// Every refused text ends the run with exit status 2 and one line naming
    /// it, nothing on stdout, and the same line on both paths.
    func testBothPathsRefuseTheSameTextsWithTheSameLine() throws {
        for text in Self.refused {
            let plain = try call([text], signature: false)
            let typed = try call([text], signature: true)
            for (result, path) in [(plain, "default"), (typed, "--signature")] {
                XCTAssertEqual(result.status, .exitCode(2), "\(path) accepted '\(text)': \(result.stdout)")
                XCTAssertEqual(result.stdout, "", "\(path), '\(text)'")
                XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(path), '\(text)': \(result.stderr)")
                XCTAssertTrue(result.stderr.contains("input 1: malformed input '\(text)'"), "\(path): \(result.stderr)")
            }
            XCTAssertEqual(plain.stderr, typed.stderr, "the two paths explain '\(text)' differently")
        }
        // On standard input: the lines before are answered, the bad line is named.
        for signature in [false, true] {
            let result = try call([], signature: signature, stdin: "1\n+8\n3\n")
            XCTAssertEqual(result.status, .exitCode(2), "signature: \(signature)")
            XCTAssertEqual(try values(result.stdout), [1], "signature: \(signature)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("line 2 of standard input: malformed input '+8'"), result.stderr)
        }
    }
}
