@testable import FaultlineHarness
import Faultline
import Foundation
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The harness's child process: many waiters at once, and deadlines that hold without a pidfd.
final class ChildProcessTests: XCTestCase {
    /// Eight threads wait for the same child at once. Each must get its exit
    /// status: when the reaping was not under a lock, the waiters woke together,
    /// one reaped the child and the others' waitpid failed with ECHILD (nil).
    func testConcurrentWaitersAllGetTheStatus() throws {
        for round in 0..<5 {
            let child = try ChildProcess("/bin/sh", ["-c", "sleep 0.2; exit 3"])
            let results = Mutex<[ExitStatus?]>([])
            let waiters = (0..<8).map { _ in
                Thread {
                    let status = child.wait(timeout: 10)
                    results.withLock { $0.append(status) }
                }
            }
            waiters.forEach { $0.start() }
            let deadline = Date().addingTimeInterval(15)
            while results.withLock({ $0.count }) < waiters.count && Date() < deadline { usleep(10_000) }
            let statuses = results.withLock { $0 }
            XCTAssertEqual(statuses.count, waiters.count, "round \(round): a waiter never returned")
            XCTAssertEqual(statuses, Array(repeating: .exitCode(3), count: statuses.count), "round \(round)")
            XCTAssertEqual(child.exitStatus, .exitCode(3))
        }
    }

    /// Without a pidfd (as when pidfd_open fails) the deadline still holds: the
    /// wait used to fall into a blocking waitpid and return only when the child ended.
    func testTimeoutHoldsWithoutPidfd() throws {
        let child = try ChildProcess("/bin/sleep", ["30"], environment: [:], stdin: nil, usePidfd: false)
        let started = Date()
        XCTAssertNil(child.wait(timeout: 0.3), "a 30 s sleep ended within 0.3 s?")
        let waited = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(waited, 0.29)
        XCTAssertLessThan(waited, 5, "the deadline of 0.3 s was not kept without a pidfd")
        child.kill()
        XCTAssertEqual(child.exitStatus, .signal(Signal(SIGKILL)))
    }

    /// Without a pidfd a child that ends before the deadline is still reaped with its status.
    func testExitIsSeenWithoutPidfd() throws {
        let child = try ChildProcess("/bin/sh", ["-c", "sleep 0.1; exit 7"], environment: [:], stdin: nil, usePidfd: false)
        XCTAssertEqual(child.wait(timeout: 10), .exitCode(7))
        XCTAssertEqual(child.wait(timeout: nil), .exitCode(7))
    }
}
