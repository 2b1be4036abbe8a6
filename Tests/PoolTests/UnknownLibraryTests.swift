import Faultline
import FaultlineTestSupport
import FaultlineHarness
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Libraries Faultline has never seen, compiled here with `cc`, misbehaving
/// while they load: every strategy must answer with one line and exit 2 (or
/// stay bounded), never crash, hang or print half an answer.
final class UnknownLibraryTests: XCTestCase {
    private static let directory: String = {
        let path = NSTemporaryDirectory() + "faultline-unknown-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Compiles `source` into lib<name>.so, or skips the test when no C compiler is installed.
    private func library(_ name: String, _ source: String, linking: [String] = []) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") else { throw XCTSkip("no /usr/bin/cc") }
        let sourcePath = Self.directory + "/\(name).c"
        let libraryPath = Self.directory + "/lib\(name).so"
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        let (compiler, status) = try ChildProcess.run("/usr/bin/cc", ["-shared", "-fPIC", "-O2", "-o", libraryPath, sourcePath] + linking, timeout: 60)
        XCTAssertEqual(status, .exitCode(0), compiler.standardError)
        return libraryPath
    }

    private func call(_ arguments: [String], timeout: Double = 30) throws -> (status: ExitStatus?, stdout: String, stderr: String) {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["call"] + arguments, timeout: timeout)
        return (status, process.standardOutput, process.standardError)
    }

    func testConstructorThatCrashesIsAnErrorForEveryStrategy() throws {
        let path = try library("crashing_constructor", """
            static int *volatile nowhere; /* volatile: compilers delete a write through a constant NULL */
            __attribute__((constructor)) static void boom(void) { *nowhere = 1; }
            int f(int x) { return x; }
            """)
        for strategy in ["pool", "fork", "guard"] {
            let result = try call([path, "f", "--strategy", strategy, "1"])
            XCTAssertEqual(result.status, .exitCode(2), "\(strategy): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", strategy)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(strategy): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("signal 11") && result.stderr.contains(path), "\(strategy): \(result.stderr)")
        }
        XCTAssertThrowsError(try WorkerPool(library: path, symbol: "f")) { error in
            guard case PoolError.helperDied = error else { return XCTFail("\(error)") }
        }
    }

    func testConstructorThatHangsIsBoundedByTheDeadlineAndBySignals() throws {
        let path = try library("hanging_constructor", """
            __attribute__((constructor)) static void wait_forever(void) { for (volatile int spin = 1; spin;) {} }
            int f(int x) { return x; }
            """)
        let timed = try call([path, "f", "--timeout", "0.3", "1"])
        XCTAssertEqual(timed.status, .exitCode(2), timed.stderr)
        XCTAssertTrue(timed.stderr.contains("deadline"), timed.stderr)
        XCTAssertEqual(timed.stdout, "")
        // Without a deadline it waits, like any callee that never returns; SIGTERM ends it and its helper.
        let child = try ChildProcess(Fixtures.faultline, ["call", path, "f", "1"])
        var family: [ProcessTable.Entry] = []
        for _ in 0..<200 where family.isEmpty {
            family = ProcessTable.descendants(of: child.pid)
            usleep(20_000)
        }
        XCTAssertFalse(family.isEmpty, "the helper never started")
        child.send(.terminate)
        XCTAssertEqual(child.wait(timeout: 10), .exitCode(143))
        var alive: [pid_t] = []
        for _ in 0..<100 {
            alive = family.map(\.pid).filter { ProcessTable.entry($0).map { $0.state != "Z" } ?? false }
            if alive.isEmpty { break }
            usleep(20_000)
        }
        XCTAssertEqual(alive, [], "the helper outlived faultline")
    }

    func testConstructorThatPrintsLeavesStdoutClean() throws {
        let path = try library("chatty_constructor", """
            #include <stdio.h>
            __attribute__((constructor)) static void hello(void) { printf("hello from a constructor\\n"); fflush(stdout); }
            int f(int x) { printf("f(%d)\\n", x); return x + 1; }
            """)
        for strategy in ["pool", "fork", "guard"] {
            let result = try call([path, "f", "--strategy", strategy, "1", "2"])
            XCTAssertEqual(result.status, .exitCode(0), result.stderr)
            XCTAssertEqual(result.stdout, "{\"input\":1,\"outcome\":\"returned\",\"value\":2}\n{\"input\":2,\"outcome\":\"returned\",\"value\":3}\n", strategy)
            XCTAssertTrue(result.stderr.contains("hello from a constructor"), strategy)
        }
    }

    func testMissingDependencyIsNamed() throws {
        let dependency = try library("vanishing_dependency", "int g(int x) { return x; }")
        let path = try library("needs_dependency", "int g(int); int f(int x) { return g(x); }",
                               linking: ["-L", Self.directory, "-lvanishing_dependency"])
        try FileManager.default.removeItem(atPath: dependency)
        for strategy in ["pool", "fork", "guard"] {
            let result = try call([path, "f", "--strategy", strategy, "1"])
            XCTAssertEqual(result.status, .exitCode(2), result.stderr)
            XCTAssertTrue(result.stderr.contains("libvanishing_dependency.so"), result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
    }

    func testProcessesACalleeLeavesBehindDoNotOutliveTheCommand() throws {
        let path = try library("leaves_a_daemon", """
            #include <sys/prctl.h>
            #include <unistd.h>
            int f(int x) {
                pid_t middle = fork();
                if (middle == 0) {
                    if (fork() == 0) { prctl(PR_SET_NAME, "fl-abandoned"); for (;;) pause(); }
                    _exit(0); /* the grandchild is now an orphan */
                }
                return x;
            }
            """)
        func abandoned() -> [ProcessTable.Entry] { ProcessTable.all().filter { $0.name == "fl-abandoned" && $0.state != "Z" } }
        for strategy in ["pool", "fork"] {
            let result = try call([path, "f", "--strategy", strategy, "1", "2"])
            XCTAssertEqual(result.status, .exitCode(0), result.stderr)
            var left = abandoned()
            for _ in 0..<100 where !left.isEmpty {
                usleep(20_000)
                left = abandoned()
            }
            XCTAssertEqual(left.map(\.pid), [], "\(strategy) left the callee's orphans alive")
            for entry in left { kill(entry.pid, SIGKILL) }
        }
    }

    func testCalleeThatClosesEveryDescriptor() throws {
        let path = try library("closes_everything", """
            #include <unistd.h>
            int f(int x) { for (int fd = 0; fd < 1024; fd++) close(fd); return x * 3; }
            """)
        // Isolated: the result travels through shared memory, which close() cannot take away.
        for strategy in ["pool", "fork"] {
            let result = try call([path, "f", "--strategy", strategy, "1", "2"])
            XCTAssertEqual(result.status, .exitCode(0), result.stderr)
            XCTAssertEqual(result.stdout, "{\"input\":1,\"outcome\":\"returned\",\"value\":3}\n{\"input\":2,\"outcome\":\"returned\",\"value\":6}\n", strategy)
        }
        // In-process, the callee closed the command's own output: it must not claim success.
        let guarded = try call([path, "f", "--strategy", "guard", "1"])
        XCTAssertNotEqual(guarded.status, .exitCode(0))
        XCTAssertEqual(guarded.stdout, "")
    }
}
