import Faultline
import FaultlineTestSupport
import FaultlineHarness
import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `faultline call` contract, checked from outside as another tool would.
final class CallCommandTests: XCTestCase {
    private func call(_ arguments: [String], stdin: String? = nil, timeout: Double = 60) throws -> (status: ExitStatus?, stdout: String, stderr: String) {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["call"] + arguments, stdin: stdin, timeout: timeout)
        return (status, process.standardOutput, process.standardError)
    }

    private func lines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
    }

    func testFaultlineHelperChoosesTheHelpersProgram() throws {
        // "self": the re-executed faultline serves the pool as the small helper does.
        let (ownRun, ownStatus) = try ChildProcess.run(Fixtures.faultline, ["call", Fixtures.victimsLibrary, "raise_a_fault", "2", "5"],
                                                       environment: ["FAULTLINE_HELPER": "self"], timeout: 60)
        XCTAssertEqual(ownStatus, .exitCode(0), ownRun.standardError)
        let objects = try lines(ownRun.standardOutput)
        XCTAssertEqual(objects.map { $0["outcome"] as? String }, ["returned", "signaled"])
        XCTAssertTrue((objects.last?["backtrace"] as? [String] ?? []).contains { $0.hasPrefix("raise_a_fault (victims.c:") }, "\(objects)")
        // A faultline-helper of another version beside the program (here: one that refuses every
        // configuration, exit status 2) is replaced by the program itself; named, it is an error.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("faultline-stale-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let program = folder.appendingPathComponent("faultline").path
        let stale = folder.appendingPathComponent("faultline-helper").path
        try FileManager.default.copyItem(atPath: Fixtures.faultline, toPath: program)
        try "#!/bin/sh\nexit 2\n".write(toFile: stale, atomically: true, encoding: .utf8)
        chmod(stale, 0o755)
        let (besideRun, besideStatus) = try ChildProcess.run(program, ["call", Fixtures.victimsLibrary, "raise_a_fault", "2", "5"], timeout: 60)
        XCTAssertEqual(besideStatus, .exitCode(0), besideRun.standardError)
        XCTAssertEqual(try lines(besideRun.standardOutput).map { $0["outcome"] as? String }, ["returned", "signaled"])
        let (namedRun, namedStatus) = try ChildProcess.run(program, ["call", Fixtures.victimsLibrary, "raise_a_fault", "2"],
                                                           environment: ["FAULTLINE_HELPER": stale], timeout: 60)
        XCTAssertEqual(namedStatus, .exitCode(2))
        XCTAssertEqual(namedRun.standardOutput, "")
        XCTAssertTrue(namedRun.standardError.contains("exited with status 2"), namedRun.standardError)
        // A named program that cannot run is an error of its own, never a silent fallback.
        for named in ["/nonexistent/faultline-helper", "/etc/passwd"] {
            let (run, status) = try ChildProcess.run(Fixtures.faultline, ["call", Fixtures.victimsLibrary, "raise_a_fault", "2"],
                                                     environment: ["FAULTLINE_HELPER": named], timeout: 60)
            XCTAssertEqual(status, .exitCode(2), named)
            XCTAssertEqual(run.standardOutput, "", named)
            XCTAssertEqual(run.standardError.split(separator: "\n").count, 1, run.standardError)
            XCTAssertTrue(run.standardError.contains("cannot start the helper '\(named)'"), run.standardError)
        }
    }

    /// Exit status 70: a callee kills the pool's helper, and the helper's program
    /// (a copy of faultline-helper named by FAULTLINE_HELPER) was deleted after
    /// the pool started, so no helper can be started again. What was answered
    /// stays on stdout; stderr is one line; nothing is left running.
    func testAHelperThatCannotBeStartedAgainEndsTheRunWith70() throws {
        var template = Array("/tmp/faultline-helper-gone-XXXXXX".utf8CString)
        let folder = try XCTUnwrap(mkdtemp(&template).map { String(cString: $0) })
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let helper = folder + "/faultline-helper"
        let output = folder + "/stdout"
        try FileManager.default.copyItem(atPath: Fixtures.buildDirectory + "/faultline-helper", toPath: helper)
        // Input 1 is answered by the first helper; once its line is out, the helper's
        // program is deleted, then input -1 kills the helper (fl_kill_parent).
        let script = """
            { echo 1; until [ -s "$1" ]; do sleep 0.01; done; rm -f "$2"; echo -1; } |
                "$3" call "$4" fl_kill_parent --workers 1 > "$1"
            """
        let (process, status) = try ChildProcess.run("/bin/sh", ["-c", script, "sh", output, helper, Fixtures.faultline,
                                                                 Fixtures.victimsLibrary],
                                                     environment: ["FAULTLINE_HELPER": helper], timeout: 60)
        XCTAssertEqual(status, .exitCode(70), process.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: helper), "the helper's program was not deleted: the run never got there")
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), #"{"input":1,"outcome":"returned","value":1}"# + "\n")
        let errorLines = process.standardError.split(separator: "\n")
        XCTAssertEqual(errorLines.count, 1, process.standardError)
        XCTAssertTrue(process.standardError.hasPrefix("faultline: the run cannot go on: "), process.standardError)
        // Nothing runs the deleted program any more (the killed helper's workers died with it).
        let left = ProcessTable.all().filter { entry in
            entry.state != "Z" && ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry.pid)/exe"))?
                .hasPrefix(folder) ?? false)
        }
        XCTAssertEqual(left, [], "processes of the deleted helper left running")
    }

    func testEveryStrategyAnswersTheBlogInputsInOrder() throws {
        let inputs = ["1", "2", "3", "4", "5", "4", "3", "2", "1", "10", "2"]
        for strategy in ["pool", "fork", "guard"] {
            let result = try call([Fixtures.victimsLibrary, "raise_a_fault", "--strategy", strategy] + inputs)
            XCTAssertEqual(result.status, .exitCode(0), "\(strategy): \(result.stderr)")
            let objects = try lines(result.stdout)
            XCTAssertEqual(objects.map { $0["input"] as? Int }, inputs.map { Int($0) }, strategy)
            for object in objects {
                let input = object["input"] as! Int
                if input > 3 {
                    XCTAssertEqual(object["outcome"] as? String, "signaled", strategy)
                    XCTAssertEqual(object["signal"] as? String, "SIGSEGV")
                    XCTAssertEqual(object["signo"] as? Int, 11)
                    XCTAssertEqual(object["address"] as? String, "0x0")
                    XCTAssertTrue((object["backtrace"] as? [String] ?? []).contains { $0.hasPrefix("raise_a_fault (victims.c:") }, "\(object)")
                } else {
                    XCTAssertEqual(object["outcome"] as? String, "returned", strategy)
                    XCTAssertEqual(object["value"] as? Int, input)
                }
            }
            XCTAssertTrue(result.stderr.contains("r is 1"), "the callee's prints go to stderr")
        }
    }

    func testExitTimeoutAndStdin() throws {
        let exited = try call([Fixtures.victimsLibrary, "fl_exit", "--", "100", "0", "-3"])
        XCTAssertEqual(try lines(exited.stdout).map { $0["status"] as? Int }, [100, 0, 253])
        let looping = try call([Fixtures.victimsLibrary, "fl_infinite_loop", "--timeout", "0.2", "--workers", "1", "7"])
        let object = try XCTUnwrap(try lines(looping.stdout).first)
        XCTAssertEqual(object["outcome"] as? String, "timed_out")
        XCTAssertGreaterThanOrEqual(object["seconds"] as? Double ?? 0, 0.2)
        let piped = try call([Fixtures.victimsLibrary, "fl_identity"], stdin: "5\n-6\n\n  7  \n")
        XCTAssertEqual(try lines(piped.stdout).map { $0["value"] as? Int }, [5, -6, 7])
    }

    func testNoisyCalleeLeavesStdoutValidJSONLines() throws {
        for strategy in ["pool", "fork", "guard"] {
            let result = try call([Fixtures.victimsLibrary, "fl_noisy", "--strategy", strategy, "1", "2", "3"])
            let objects = try lines(result.stdout)
            XCTAssertEqual(objects.count, 3, strategy)
            XCTAssertTrue(result.stderr.contains("noisy: stdout line"), strategy)
        }
    }

    /// A callee reads the CLI's standard input as /dev/null under every strategy
    /// (it cannot take inputs still to come), and one that writes to every
    /// descriptor it holds cannot reach the results on stdout (the process
    /// strategies: the guard's callee shares the CLI's process).
    func testCalleesCannotReachTheCLIsStandardStreams() throws {
        for strategy in ["pool", "fork", "guard"] {
            let result = try call([Fixtures.victimsLibrary, "fl_read_standard_input", "--strategy", strategy, "--", "0", "0"],
                                  stdin: "7\n8\nthe rest of the inputs\n")
            XCTAssertEqual(result.status, .exitCode(0), "\(strategy): \(result.stderr)")
            XCTAssertEqual(try lines(result.stdout).map { $0["value"] as? Int }, [0, 0], "\(strategy): \(result.stdout)")
        }
        for strategy in ["pool", "fork"] {
            let result = try call([Fixtures.victimsLibrary, "fl_write_every_descriptor", "--strategy", strategy, "--", "-1", "2", "-3"])
            XCTAssertEqual(result.status, .exitCode(0), "\(strategy): \(result.stderr)")
            XCTAssertFalse(result.stdout.contains("GARBAGE"), "\(strategy): \(result.stdout)")
            XCTAssertEqual(try lines(result.stdout).count, 3, "\(strategy): \(result.stdout)")
        }
    }

    func testErrorsExitTwoWithOneLineAndNothingOnStdout() throws {
        let cases: [([String], String)] = [
            (["/nonexistent/libx.so", "f", "1"], "/nonexistent/libx.so"),
            ([Fixtures.victimsLibrary, "no_such_symbol", "1"], "no_such_symbol"),
            ([Fixtures.victimsLibrary, "no_such_symbol", "--strategy", "fork", "1"], "no_such_symbol"),
            ([Fixtures.victimsLibrary, "fl_identity", "12x"], "12x"),
            ([Fixtures.victimsLibrary, "fl_identity", "99999999999"], "99999999999"),
            ([Fixtures.victimsLibrary, "fl_identity", "--bogus", "1"], "--bogus"),
            ([Fixtures.victimsLibrary, "fl_identity", "--workers", "0", "1"], "--workers"),
            ([Fixtures.victimsLibrary, "fl_identity", "--strategy", "threads", "1"], "threads"),
            ([Fixtures.victimsLibrary, "fl_identity", "--timeout", "soon", "1"], "soon"),
            ([Fixtures.victimsLibrary], "symbol"),
        ]
        for (arguments, named) in cases {
            let result = try call(arguments)
            XCTAssertEqual(result.status, .exitCode(2), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", "\(arguments)")
            let errorLines = result.stderr.split(separator: "\n")
            XCTAssertEqual(errorLines.count, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(named), "\(arguments): \(result.stderr)")
        }
        // Standard input streams: a malformed line ends the run with exit 2 naming
        // the line; what was answered before it stays on stdout.
        let malformedStdin = try call([Fixtures.victimsLibrary, "fl_identity"], stdin: "1\nzwei\n3\n")
        XCTAssertEqual(malformedStdin.status, .exitCode(2))
        XCTAssertTrue(malformedStdin.stderr.contains("line 2") && malformedStdin.stderr.contains("zwei"), malformedStdin.stderr)
        XCTAssertEqual(malformedStdin.stdout, "{\"input\":1,\"outcome\":\"returned\",\"value\":1}\n")
    }

    func testBadInputMessagesQuoteAtMostEightyCharacters() throws {
        // One argument may be at most 128 KiB (MAX_ARG_STRLEN); a line of standard input has no limit.
        let huge = String(repeating: "7", count: 1_000_000)
        for (arguments, stdin) in [([Fixtures.victimsLibrary, "fl_identity", String(huge.prefix(100_000))], nil as String?),
                                   ([Fixtures.victimsLibrary, "fl_identity"], "1\n" + huge + "\n")] {
            let result = try call(arguments, stdin: stdin)
            XCTAssertEqual(result.status, .exitCode(2))
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, String(result.stderr.prefix(300)))
            XCTAssertLessThan(result.stderr.utf8.count, 300, String(result.stderr.prefix(300)))
            XCTAssertTrue(result.stderr.contains(stdin == nil ? "input 1" : "line 2"), String(result.stderr.prefix(300)))
        }
    }

    func testArgumentsAndLinesFollowTheSameRules() throws {
        let words = ["  5 ", "[6]", "-7", "-0"]
        let fromArguments = try call([Fixtures.victimsLibrary, "fl_identity", "--"] + words)
        let fromLines = try call([Fixtures.victimsLibrary, "fl_identity"], stdin: words.joined(separator: "\n"))
        XCTAssertEqual(fromArguments.status, .exitCode(0), fromArguments.stderr)
        XCTAssertEqual(fromArguments.stdout, fromLines.stdout)
        XCTAssertEqual(try lines(fromLines.stdout).map { $0["value"] as? Int }, [5, 6, -7, 0])
    }

    func testClosedOrUnwritableStdoutExits74WithoutResultsOnStderr() throws {
        for redirect in [">&-", ">/dev/full"] {
            let command = "exec \"$0\" call '\(Fixtures.victimsLibrary)' fl_identity 1 2 3 \(redirect)"
            let (process, status) = try ChildProcess.run("/bin/sh", ["-c", command, Fixtures.faultline], stdin: nil, timeout: 60)
            XCTAssertEqual(status, .exitCode(74), "\(redirect): \(process.standardError)")
            XCTAssertFalse(process.standardError.contains("\"outcome\""), "results went to stderr: \(process.standardError)")
            XCTAssertEqual(process.standardError.split(separator: "\n").count, 1, process.standardError)
        }
    }

    func testStdinStreamsWhileTheProducerIsStillWriting() throws {
        // The producer writes one line, then waits for its result before writing the next:
        // without streaming this deadlocks (bounded by the child's deadline).
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fl-stream-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inFIFO = directory.appendingPathComponent("in").path
        let outFIFO = directory.appendingPathComponent("out").path
        XCTAssertEqual(mkfifo(inFIFO, 0o600), 0)
        XCTAssertEqual(mkfifo(outFIFO, 0o600), 0)
        let conversation = """
        "$0" call "$1" fl_identity < "$2" > "$3" & exec 4>"$2" 5<"$3"
        for n in 1 2 3; do echo $n >&4; IFS= read -r line <&5 || exit 9; echo "$line"; done
        exec 4>&-; wait
        """
        let (process, status) = try ChildProcess.run("/bin/sh", ["-c", conversation, Fixtures.faultline, Fixtures.victimsLibrary, inFIFO, outFIFO],
                                                     stdin: nil, timeout: 30)
        XCTAssertEqual(status, .exitCode(0), process.standardError)
        XCTAssertEqual(try lines(process.standardOutput).map { $0["value"] as? Int }, [1, 2, 3])
    }

    func testUnguardedFaultIsNotSwallowed() throws {
        // A fault in a thread the callee started is outside the guard: the process must die of it.
        let threaded = try call([Fixtures.victimsLibrary, "fl_fault_in_thread", "--strategy", "guard", "1"])
        XCTAssertEqual(threaded.status, .signal(.segmentationFault), threaded.stderr)
        XCTAssertEqual(threaded.stdout, "")
        let blocked = try call([Fixtures.victimsLibrary, "fl_fault_with_segv_blocked", "--strategy", "guard", "1"])
        XCTAssertEqual(blocked.status, .signal(.segmentationFault))
        let exited = try call([Fixtures.victimsLibrary, "fl_exit", "--strategy", "guard", "9"])
        XCTAssertEqual(exited.status, .exitCode(9))
    }

    func testKilledSupervisorLeavesNoWorker() throws {
        ProcessTable.becomeSubreaper()
        for signal in [Signal.interrupt, .terminate, .kill] {
            let child = try ChildProcess(Fixtures.faultline, ["call", Fixtures.victimsLibrary, "fl_infinite_loop", "--workers", "3", "1", "2", "3"])
            // Readiness: wait (bounded) until the helper, the three workers, the standby and the spare exist.
            var family: [ProcessTable.Entry] = []
            for _ in 0..<200 {
                family = ProcessTable.descendants(of: child.pid)
                if family.count >= 6 { break }
                usleep(25_000)
            }
            XCTAssertEqual(family.count, 6, "helper, 3 workers, the standby and the spare expected: \(family)")
            child.send(signal)
            let status = child.wait(timeout: 10)
            XCTAssertNotNil(status, "faultline did not stop on \(signal)")
            if signal != .kill { XCTAssertEqual(status, .exitCode(128 + signal.rawValue)) }
            // Orphans (if any) are re-parented to this subreaper; give the kernel a bounded moment.
            var alive: [pid_t] = []
            for _ in 0..<200 {
                while waitpid(-1, nil, WNOHANG) > 0 {}
                alive = family.map(\.pid).filter { pid in ProcessTable.entry(pid).map { $0.state != "Z" } ?? false }
                if alive.isEmpty { break }
                usleep(25_000)
            }
            XCTAssertEqual(alive, [], "left alive after \(signal): \(alive)")
        }
    }

    /// Processes whose name (comm) is `name`, from /proc.
    private func processes(named name: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { $0.allSatisfy(\.isNumber) }.filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }
    }

    func testDaemonsACalleeStartsDoNotOutliveTheCommand() throws {
        for strategy in ["pool", "fork"] {
            let result = try call([Fixtures.victimsLibrary, "fl_daemon", "--strategy", strategy, "--", "-1", "2"])
            XCTAssertEqual(result.status, .exitCode(0), result.stderr)
            XCTAssertEqual(try lines(result.stdout).map { $0["value"] as? Int }, [1, 2], strategy)
            // The daemon double-forked and called setsid; the command killed it before it exited.
            XCTAssertEqual(processes(named: "fl-daemon"), [], "\(strategy): a daemon outlived faultline call")
        }
    }

    func testVerifyCrashesMemoryLimitAndMaxCallsPerWorker() throws {
        let verified = try call([Fixtures.victimsLibrary, "fl_leave_state_then_sleep", "--workers", "1", "--verify-crashes",
                                 "--max-calls-per-worker", "100", "--memory-limit", "1073741824", "--", "-1", "1500"])
        XCTAssertEqual(verified.status, .exitCode(0), verified.stderr)
        let objects = try lines(verified.stdout)
        XCTAssertEqual(objects.count, 2)
        XCTAssertEqual(objects[1]["signal"] as? String, "SIGALRM")
        XCTAssertEqual((objects[1]["replay"] as? [String: Any])?["outcome"] as? String, "returned")
        XCTAssertEqual((objects[1]["replay"] as? [String: Any])?["value"] as? Int, 1500)
        XCTAssertNil(objects[0]["replay"])
        XCTAssertEqual(objects.map { $0["memory_limit"] as? Int }, [1 << 30, 1 << 30])
        for bad in [["--memory-limit", "12"], ["--max-calls-per-worker", "0"], ["--strategy", "guard", "--verify-crashes"], ["--strategy", "guard", "--max-calls-per-worker", "3"],
                    ["--strategy", "fork", "--memory-limit", "1073741824"]] {
            let result = try call([Fixtures.victimsLibrary, "fl_identity"] + bad + ["1"])
            XCTAssertEqual(result.status, .exitCode(2), "\(bad)")
            XCTAssertEqual(result.stdout, "")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
    }
}
