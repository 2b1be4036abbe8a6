import CFaultline
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Blame as a pure function (pool_blame.c): what a worker's death means for its batch.
final class BlameTests: XCTestCase {
    /// A waitpid status for "killed by `signal`" and for "exited with `code`".
    private func killed(_ signal: Int32) -> Int32 { signal & 0x7f }
    private func exited(_ code: Int32) -> Int32 { (code & 0xff) << 8 }

    private func blame(count: UInt32, started: UInt32, finished: UInt32, status: Int32,
                       deadline: Bool = false, crash: fl_report? = nil) -> fl_blame {
        var input = fl_blame_input(count: count, started: started, finished: finished, wait_status: status,
                                   killed_for_deadline: deadline ? 1 : 0, elapsed_ns: 7_000, crash: nil)
        var result = fl_blame()
        if var crash {
            withUnsafePointer(to: &crash) { pointer in
                input.crash = pointer
                fl_blame_death(&input, &result)
            }
        } else {
            fl_blame_death(&input, &result)
        }
        return result
    }

    func testTheCallInFlightIsBlamedAndTheRestRequeued() {
        let result = blame(count: 5, started: 4, finished: 3, status: killed(SIGSEGV))
        XCTAssertEqual(result.returned, 3)
        XCTAssertEqual(result.blamed, 1)
        XCTAssertEqual(result.requeue_from, 4)
        XCTAssertEqual(result.report.kind, Int32(FL_KIND_SIGNALED.rawValue))
        XCTAssertEqual(result.report.signo, SIGSEGV)
        XCTAssertEqual(result.report.flags & UInt32(FL_REPORT_DETAILED), 0, "no handler report: no details")
    }

    func testTheHandlersReportIsUsedOnlyWhenItsSignalMatches() {
        var crash = fl_report()
        crash.kind = Int32(FL_KIND_SIGNALED.rawValue)
        crash.signo = SIGSEGV
        crash.code = 1
        crash.address = 0x10
        crash.flags = UInt32(FL_REPORT_DETAILED)
        let matching = blame(count: 2, started: 1, finished: 0, status: killed(SIGSEGV), crash: crash)
        XCTAssertEqual(matching.report.address, 0x10)
        XCTAssertEqual(matching.report.code, 1)
        let other = blame(count: 2, started: 1, finished: 0, status: killed(SIGABRT), crash: crash)
        XCTAssertEqual(other.report.signo, SIGABRT)
        XCTAssertEqual(other.report.address, 0)
    }

    func testAnExitAndADeadline() {
        let exit = blame(count: 3, started: 2, finished: 1, status: exited(7))
        XCTAssertEqual(exit.report.kind, Int32(FL_KIND_EXITED.rawValue))
        XCTAssertEqual(exit.report.value, 7)
        let deadline = blame(count: 3, started: 1, finished: 0, status: killed(SIGKILL), deadline: true)
        XCTAssertEqual(deadline.report.kind, Int32(FL_KIND_TIMED_OUT.rawValue))
        XCTAssertEqual(deadline.report.elapsed_ns, 7_000)
        XCTAssertEqual(deadline.requeue_from, 1)
    }

    func testADeathBetweenCallsBlamesNobody() {
        let result = blame(count: 4, started: 2, finished: 2, status: killed(SIGSEGV))
        XCTAssertEqual(result.returned, 2)
        XCTAssertEqual(result.blamed, 0)
        XCTAssertEqual(result.requeue_from, 2)
    }

    func testCountersBeyondTheBatchAreClamped() {
        let result = blame(count: 5, started: 10, finished: 9, status: exited(0))
        XCTAssertEqual(result.returned, 5)
        XCTAssertEqual(result.blamed, 0)
        XCTAssertEqual(result.requeue_from, 5)
    }
}
