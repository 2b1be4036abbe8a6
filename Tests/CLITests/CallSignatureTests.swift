import Faultline
import FaultlineTestSupport
import FaultlineHarness
import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `faultline call --signature` and `--init`, checked from outside against
/// plain C calls of the same victims.
final class CallSignatureTests: XCTestCase {
    /// Every strategy takes `--signature` and `--init`.
    static let signatureStrategies = ["pool", "fork", "guard"]
    static let initStrategies = signatureStrategies

    private func call(_ arguments: [String], stdin: String? = nil, timeout: Double = 60) throws -> (status: ExitStatus?, stdout: String, stderr: String) {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["call"] + arguments, stdin: stdin, timeout: timeout)
        return (status, process.standardOutput, process.standardError)
    }

    /// A victim's address, for a plain C call through a typed function pointer.
    private func symbol<F>(_ name: String, as type: F.Type) throws -> F {
        unsafeBitCast(try XCTUnwrap(Fixtures.address(name), name), to: type)
    }

    /// One call of the grammar: the CLI's arguments and the line the plain C call says it must print.
    private struct Case {
        var symbol: String
        var signature: String
        var input: String
        var expected: String
    }

    /// `{"input":…,"outcome":"returned","value":…}` with the value of the plain C call.
    private func returned(_ input: String, _ value: Value, out: [Value] = []) -> String {
        var line = "{\"input\":\(input),\"outcome\":\"returned\",\"value\":\(value.json)"
        if !out.isEmpty { line += ",\"out\":[" + out.map(\.json).joined(separator: ",") + "]" }
        return line + "}"
    }

    private func everyForm() throws -> [Case] {
        var cases: [Case] = []
        let addI8 = try symbol("fl_sig_add_i8", as: (@convention(c) (Int8, Int8) -> Int8).self)
        cases.append(Case(symbol: "fl_sig_add_i8", signature: "int8(int8, int8)", input: "[127,1]", expected: returned("[127,1]", .int8(addI8(127, 1)))))
        let negI16 = try symbol("fl_sig_neg_i16", as: (@convention(c) (Int16) -> Int16).self)
        cases.append(Case(symbol: "fl_sig_neg_i16", signature: "short(short)", input: "[-32768]", expected: returned("[-32768]", .int16(negI16(-32768)))))
        let mulI32 = try symbol("fl_sig_mul_i32", as: (@convention(c) (Int32, Int32) -> Int32).self)
        cases.append(Case(symbol: "fl_sig_mul_i32", signature: "int(int, int)", input: "[2147483647, 2]", expected: returned("[2147483647,2]", .int32(mulI32(.max, 2)))))
        let subI64 = try symbol("fl_sig_sub_i64", as: (@convention(c) (Int64, Int64) -> Int64).self)
        cases.append(Case(symbol: "fl_sig_sub_i64", signature: "int64_t(int64_t, int64_t)", input: "[-9223372036854775808, 1]",
                          expected: returned("[-9223372036854775808,1]", .int64(subI64(.min, 1)))))
        let u8 = try symbol("fl_sig_u8", as: (@convention(c) (UInt8) -> UInt8).self)
        cases.append(Case(symbol: "fl_sig_u8", signature: "unsigned char(unsigned char)", input: "[255]", expected: returned("[255]", .uint8(u8(255)))))
        let u16 = try symbol("fl_sig_u16", as: (@convention(c) (UInt16) -> UInt16).self)
        cases.append(Case(symbol: "fl_sig_u16", signature: "uint16(uint16)", input: "[4660]", expected: returned("[4660]", .uint16(u16(4660)))))
        let u32 = try symbol("fl_sig_u32", as: (@convention(c) (UInt32) -> UInt32).self)
        cases.append(Case(symbol: "fl_sig_u32", signature: "unsigned(unsigned)", input: "[4294967295]", expected: returned("[4294967295]", .uint32(u32(.max)))))
        let u64 = try symbol("fl_sig_u64", as: (@convention(c) (UInt64) -> UInt64).self)
        cases.append(Case(symbol: "fl_sig_u64", signature: "size_t(size_t)", input: "[18446744073709551615]",
                          expected: returned("[18446744073709551615]", .uint64(u64(.max)))))
        let f = try symbol("fl_sig_f", as: (@convention(c) (Float, Double) -> Float).self)
        cases.append(Case(symbol: "fl_sig_f", signature: "float(float, double)", input: "[0.1, 1e-7]",
                          expected: returned("[0.1,1e-07]", .float(f(0.1, 1e-7)))))
        let d = try symbol("fl_sig_d", as: (@convention(c) (Double) -> Double).self)
        cases.append(Case(symbol: "fl_sig_d", signature: "double(double)", input: "[\"inf\"]", expected: returned("[\"inf\"]", .double(d(.infinity)))))
        cases.append(Case(symbol: "fl_sig_d", signature: "double(double)", input: "[0.3]", expected: returned("[0.3]", .double(d(0.3)))))
        let not = try symbol("fl_sig_not", as: (@convention(c) (Bool) -> Bool).self)
        cases.append(Case(symbol: "fl_sig_not", signature: "bool(_Bool)", input: "[true]", expected: returned("[true]", .bool(not(true)))))
        let mix = try symbol("fl_sig_mix", as: (@convention(c) (Double, UnsafePointer<CChar>) -> Double).self)
        cases.append(Case(symbol: "fl_sig_mix", signature: "double(double, const char *)", input: #"[1.5, "a\u00e9\n"]"#,
                          expected: returned(#"[1.5,"aé\n"]"#, .double(mix(1.5, "aé\n")))))
        let sum = try symbol("fl_sig_sum_bytes", as: (@convention(c) (UnsafeRawPointer, Int) -> Int64).self)
        let raw: [UInt8] = [0, 255, 7, 128]
        cases.append(Case(symbol: "fl_sig_sum_bytes", signature: "int64(bytes)", input: #"[{"base64":"AP8HgA=="}]"#,
                          expected: returned(#"[{"base64":"AP8HgA=="}]"#, .int64(raw.withUnsafeBytes { sum($0.baseAddress!, $0.count) }))))
        cases.append(Case(symbol: "fl_sig_sum_bytes", signature: "int64(bytes)", input: #"["abc"]"#,
                          expected: returned(#"[{"base64":"YWJj"}]"#, .int64(sum("abc", 3)))))
        let fill = try symbol("fl_sig_fill", as: (@convention(c) (UnsafePointer<CChar>, UnsafeMutableRawPointer, Int) -> Void).self)
        var filled = [UInt8](repeating: 0, count: 4)
        filled.withUnsafeMutableBytes { fill("hello", $0.baseAddress!, 4) }
        cases.append(Case(symbol: "fl_sig_fill", signature: "void(string, out_string[4])", input: #"["hello"]"#,
                          expected: returned(#"["hello"]"#, .void, out: [.string(String(decoding: filled.prefix { $0 != 0 }, as: UTF8.self))])))
        let reverse = try symbol("fl_sig_reverse", as: (@convention(c) (UnsafeRawPointer, Int, UnsafeMutableRawPointer, Int) -> Void).self)
        var reversed = [UInt8](repeating: 0, count: 5)
        reversed.withUnsafeMutableBytes { out in raw.withUnsafeBytes { reverse($0.baseAddress!, 4, out.baseAddress!, 5) } }
        cases.append(Case(symbol: "fl_sig_reverse", signature: "void(bytes, out_bytes[5])", input: #"[{"base64":"AP8HgA=="}]"#,
                          expected: returned(#"[{"base64":"AP8HgA=="}]"#, .void, out: [.bytes(reversed)])))
        // An out_string that is not UTF-8 comes back as its bytes up to the first NUL.
        cases.append(Case(symbol: "fl_sig_write_invalid_utf8", signature: "void(out_string[3])", input: "[]",
                          expected: returned("[]", .void, out: [.bytes([0xff, 0xfe])])))
        // A fresh process: nothing touched yet.
        cases.append(Case(symbol: "fl_sig_touched", signature: "int32()", input: "[]", expected: returned("[]", .int32(0))))
        cases.append(Case(symbol: "fl_sig_touch", signature: "void(void)", input: "[]", expected: returned("[]", .void)))
        typealias Many = @convention(c) (Int8, UInt16, Int32, Int64, UInt64, Float, Double, Bool, UnsafePointer<CChar>,
                                         Double, Double, Double, Double, Int32) -> Double
        let many = try symbol("fl_sig_many", as: Many.self)
        cases.append(Case(symbol: "fl_sig_many",
                          signature: "double(int8, uint16, int32, int64, uint64, float, double, bool, string, double, double, double, double, int32)",
                          input: #"[-1, 2, -3, 4, 5, 0.5, 0.25, true, "four", 1, 2, 3, 4, -5]"#,
                          expected: returned(#"[-1,2,-3,4,5,0.5,0.25,true,"four",1.0,2.0,3.0,4.0,-5]"#,
                                             .double(many(-1, 2, -3, 4, 5, 0.5, 0.25, true, "four", 1, 2, 3, 4, -5)))))
        // The default signature given explicitly: a bare integer or an array, printed as an array.
        let identity = try symbol("fl_identity", as: (@convention(c) (Int32) -> Int32).self)
        cases.append(Case(symbol: "fl_identity", signature: "int32(int32)", input: "-7", expected: returned("[-7]", .int32(identity(-7)))))
        return cases
    }

    func testEveryFormOfTheGrammarMatchesAPlainCCall() throws {
        let cases = try everyForm()
        for strategy in Self.signatureStrategies {
            for form in cases {
                let result = try call([Fixtures.victimsLibrary, form.symbol, "--strategy", strategy, "--signature", form.signature, "--", form.input])
                XCTAssertEqual(result.status, .exitCode(0), "\(strategy) \(form.signature): \(result.stderr)")
                XCTAssertEqual(result.stdout, form.expected + "\n", "\(strategy) \(form.signature)")
            }
            // Standard input: the same lines, streamed, one call per line, in order.
            let mixes = try cases.filter { $0.symbol == "fl_sig_mix" } + [Case(symbol: "fl_sig_mix", signature: "", input: #"[2, "xy"]"#,
                expected: returned(#"[2.0,"xy"]"#, .double(symbol("fl_sig_mix", as: (@convention(c) (Double, UnsafePointer<CChar>) -> Double).self)(2, "xy"))))]
            let streamed = try call([Fixtures.victimsLibrary, "fl_sig_mix", "--strategy", strategy, "--signature", "double(double, string)"],
                                    stdin: mixes.map(\.input).joined(separator: "\n\n") + "\n")
            XCTAssertEqual(streamed.status, .exitCode(0), streamed.stderr)
            XCTAssertEqual(streamed.stdout, mixes.map { $0.expected + "\n" }.joined(), strategy)
        }
    }

    func testACrashWithASignatureCarriesTheInputArray() throws {
        for strategy in Self.signatureStrategies {
            let result = try call([Fixtures.victimsLibrary, "fl_sig_crash_on", "--strategy", strategy, "--signature", "int32(string)",
                                   #"["ok"]"#, #"["crash"]"#, #"["after"]"#])
            XCTAssertEqual(result.status, .exitCode(0), result.stderr)
            let objects = try result.stdout.split(separator: "\n").map {
                try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            XCTAssertEqual(objects.count, 3)
            XCTAssertEqual(objects.map { ($0["input"] as? [String])?.first }, ["ok", "crash", "after"])
            XCTAssertEqual(objects.map { $0["outcome"] as? String }, ["returned", "signaled", "returned"])
            XCTAssertEqual(objects[1]["signal"] as? String, "SIGSEGV")
            XCTAssertEqual(objects[1]["address"] as? String, "0x0")
            XCTAssertTrue((objects[1]["backtrace"] as? [String] ?? []).contains { $0.hasPrefix("fl_sig_crash_on (signatures.c:") }, "\(objects[1])")
            XCTAssertNil(objects[1]["value"])
            XCTAssertEqual(objects[2]["value"] as? Int, 5)
            XCTAssertTrue(result.stdout.hasPrefix(#"{"input":["ok"],"outcome":"returned","value":2}"#), result.stdout)
        }
    }

    /// Exit 2, one short line naming `named`, nothing on stdout.
    private func assertRefused(_ arguments: [String], stdin: String? = nil, naming named: [String], stdout: String = "",
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try call(arguments, stdin: stdin)
        let shown = String(result.stderr.prefix(300))
        XCTAssertEqual(result.status, .exitCode(2), "\(arguments.suffix(3)): \(shown)", file: file, line: line)
        XCTAssertEqual(result.stdout, stdout, "\(arguments.suffix(3))", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, shown, file: file, line: line)
        XCTAssertLessThan(result.stderr.utf8.count, 300, shown, file: file, line: line)
        for name in named { XCTAssertTrue(result.stderr.contains(name), "\(name) not in: \(shown)", file: file, line: line) }
    }

    func testEveryBadInputExitsTwoWithOneShortLineAndNoCall() throws {
        let library = Fixtures.victimsLibrary
        for strategy in Self.signatureStrategies {
            func args(_ symbol: String, _ signature: String, _ inputs: String...) -> [String] {
                [library, symbol, "--strategy", strategy, "--signature", signature, "--"] + inputs
            }
            // The signature itself.
            try assertRefused(args("fl_sig_d", "double(double", "[1]"), naming: ["missing ')'"])
            try assertRefused(args("fl_sig_d", "int33(int)", "[1]"), naming: ["unknown type 'int33'"])
            try assertRefused(args("fl_sig_fill", "void(string, out_string[0])", #"["a"]"#), naming: ["out_string", "at least 1"])
            // Inputs: a crashing input first proves that no call is made before all are checked.
            let crashFirst = #"["crash"]"#
            try assertRefused(args("fl_sig_crash_on", "int32(string)", crashFirst, #"["a", "b"]"#), naming: ["input 2:", "expected 1 value, found 2"])
            try assertRefused(args("fl_sig_crash_on", "int32(string)", crashFirst, "[3]"), naming: ["input 2:", "not a valid string"])
            try assertRefused(args("fl_sig_u8", "uint8(uint8)", "[1]", "[256]"), naming: ["input 2:", "out of range for uint8"])
            try assertRefused(args("fl_sig_mul_i32", "int32(int32, int32)", "[1, 1.5]"), naming: ["input 1:", "not an integer"])
            try assertRefused(args("fl_sig_crash_on", "int32(string)", crashFirst, #"["a\u0000b"]"#), naming: ["input 2:", "U+0000"])
            try assertRefused(args("fl_sig_sum_bytes", "int64(bytes)", #"[{"base64":"A*=="}]"#), naming: ["input 1:", "invalid base64"])
            try assertRefused(args("fl_sig_crash_on", "int32(string)", crashFirst, #"["a","#), naming: ["input 2:", "invalid JSON"])
            try assertRefused(args("fl_sig_crash_on", "int32(string)", crashFirst, "{}"), naming: ["input 2:", "invalid JSON"])
            // Standard input: lines before the bad one are answered, the bad one is named.
            let answered = #"{"input":["ok"],"outcome":"returned","value":2}"# + "\n"
            try assertRefused([library, "fl_sig_crash_on", "--strategy", strategy, "--signature", "int32(string)"],
                              stdin: "[\"ok\"]\n[1]\n[\"crash\"]\n", naming: ["line 2 of standard input", "not a valid string"], stdout: answered)
            // A megabyte bad line is quoted, not echoed.
            let huge = "[\"" + String(repeating: "x", count: 1 << 20) + "\", 1]"
            try assertRefused([library, "fl_sig_crash_on", "--strategy", strategy, "--signature", "int32(string)"],
                              stdin: "[\"ok\"]\n" + huge + "\n", naming: ["line 2 of standard input", "expected 1 value"], stdout: answered)
            let unterminated = "[\"" + String(repeating: "y", count: 1 << 20) + "\n"
            try assertRefused([library, "fl_sig_crash_on", "--strategy", strategy, "--signature", "int32(string)"],
                              stdin: unterminated, naming: ["line 1 of standard input", "invalid JSON"])
        }
    }

    func testInitRunsOnceBeforeTheCallsAndTheirProcessSeesItsState() throws {
        let library = Fixtures.victimsLibrary
        for strategy in Self.initStrategies {
            let scaled = try call([library, "fl_cli_scaled", "--strategy", strategy, "--signature", "double(double)",
                                   "--init", "fl_cli_init_setup", "[1.5]", "[-2]"])
            XCTAssertEqual(scaled.status, .exitCode(0), scaled.stderr)
            XCTAssertEqual(scaled.stdout, #"{"input":[1.5],"outcome":"returned","value":15.0}"# + "\n"
                           + #"{"input":[-2.0],"outcome":"returned","value":-20.0}"# + "\n")
            let uninitialized = try call([library, "fl_cli_scaled", "--strategy", strategy, "--signature", "double(double)", "[1.5]"])
            XCTAssertEqual(uninitialized.stdout, #"{"input":[1.5],"outcome":"returned","value":0.0}"# + "\n")
            // Without a signature too; once per process: runs * 1000 + input.
            let runs = try call([library, "fl_cli_init_runs", "--strategy", strategy, "--init", "fl_cli_init_setup", "1", "2", "3"])
            XCTAssertEqual(runs.status, .exitCode(0), runs.stderr)
            let values = runs.stdout.split(separator: "\n").map { $0.split(separator: ":").last.map { String($0.dropLast()) } }
            XCTAssertEqual(values, ["1001", "1002", "1003"])
        }
    }

    func testAFailingOrCrashingInitEndsTheRunWithoutBlamingAnInput() throws {
        let library = Fixtures.victimsLibrary
        for strategy in Self.initStrategies {
            for signature in [[], ["--signature", "double(double)"]] {
                let input = signature.isEmpty ? "1" : "[1]"
                try assertRefused([library, "fl_cli_scaled", "--strategy", strategy, "--init", "fl_cli_init_returns_7"] + signature + [input],
                                  naming: ["init 'fl_cli_init_returns_7' returned 7"])
                try assertRefused([library, "fl_cli_scaled", "--strategy", strategy, "--init", "fl_cli_init_crashes"] + signature + [input],
                                  naming: ["init 'fl_cli_init_crashes' crashed: SIGSEGV at 0x0"])
                try assertRefused([library, "fl_cli_scaled", "--strategy", strategy, "--init", "fl_no_such_init"] + signature + [input],
                                  naming: ["fl_no_such_init", "not found"])
                // Standard input: the init fails before any line is read into a call.
                try assertRefused([library, "fl_cli_scaled", "--strategy", strategy, "--init", "fl_cli_init_crashes"] + signature,
                                  stdin: input + "\n", naming: ["init 'fl_cli_init_crashes' crashed"])
            }
        }
    }

    func testHelpDocumentsTheGrammarInitAndExitStatuses() throws {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["call", "--help"], timeout: 30)
        XCTAssertEqual(status, .exitCode(0))
        for text in ["--signature", "SIGNATURE := RETURN", "out_string[", "{\"base64\":", "--init", "init 'setup' returned 7",
                     "Exit status", "line 7 of standard input", "130 or 143", "74"] {
            XCTAssertTrue(process.standardOutput.contains(text), "help lacks \(text)")
        }
    }

    /// `faultline --help` describes the tool as it is: any signature through
    /// --signature, the three strategies, every outcome, both subcommands; no
    /// longer a tool for `int f(int)` functions only.
    func testRootHelpDescribesSignaturesStrategiesAndOutcomes() throws {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["--help"], timeout: 30)
        XCTAssertEqual(status, .exitCode(0), process.standardError)
        let help = process.standardOutput
        XCTAssertFalse(help.contains("int f(int)"), "the help still describes int f(int) functions: \(help)")
        for text in ["--signature", "signature", "--strategy", "pool", "fork", "guard", "returned", "signaled", "exited",
                     "timed_out", "corrupted", "call", "bench", "int32(int32)"] {
            XCTAssertTrue(help.contains(text), "faultline --help lacks \(text): \(help)")
        }
    }

    /// The Python program of README's section on calling `faultline` from
    /// Python (docs/python-subprocess-section.md), run as written.
    func testThePythonSubprocessProgramOfTheREADMERuns() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let script = here.appendingPathComponent("Fixtures/post_program.py").path
        let section = try String(contentsOf: here.appendingPathComponent("../../docs/python-subprocess-section.md"), encoding: .utf8)
        let program = try String(contentsOfFile: script, encoding: .utf8)
        XCTAssertTrue(section.contains(program.trimmingCharacters(in: .whitespacesAndNewlines)),
                      "the README section must show post_program.py exactly")
        let path = Fixtures.buildDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let (process, status) = try ChildProcess.run("/usr/bin/env", ["python3", script, Fixtures.victimsLibrary],
                                                     environment: ["PATH": path], timeout: 60)
        XCTAssertEqual(status, .exitCode(0), process.standardError)
        XCTAssertEqual(process.standardOutput, """
        'short' -> returned 5
        'crash' -> signaled SIGSEGV
        'a longer text' -> returned 13

        """)
    }
}
