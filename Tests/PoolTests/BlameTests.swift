import CFaultline
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Blame as a pure function (pool_blame.c): what a worker's death means for its batch,
/// given which records passed their check.
final class BlameTests: XCTestCase {
    /// A waitpid status for "killed by `signal`" and for "exited with `code`".
    private func killed(_ signal: Int32) -> Int32 { signal & 0x7f }
    private func exited(_ code: Int32) -> Int32 { (code & 0xff) << 8 }

    private let recorded = UInt8(FL_VERDICT_RECORDED)
    private let blamed = UInt8(FL_VERDICT_BLAMED)
    private let suspect = UInt8(FL_VERDICT_SUSPECT)
    private let requeue = UInt8(FL_VERDICT_REQUEUE)

    private struct Case {
        var valid: [Bool]
        var started: UInt32
        var status: Int32
        var deadline = false
        var corrupt = false
        var helperLost = false
        var lone = false
        var crashIndex: Int64 = -1
        var crash: fl_report? = nil
        var begunIndex: Int64 = -1
    }

    private func blame(_ c: Case) -> (verdicts: [UInt8], blame: fl_blame) {
        let valid = c.valid.map { UInt8($0 ? 1 : 0) }
        var verdicts = [UInt8](repeating: 0, count: c.valid.count)
        var result = fl_blame()
        var crash = c.crash ?? fl_report()
        valid.withUnsafeBufferPointer { valid in
            withUnsafePointer(to: &crash) { crashPointer in
                var input = fl_blame_input(
                    count: UInt32(c.valid.count), started: c.started, wait_status: c.status,
                    killed_for_deadline: c.deadline ? 1 : 0, killed_as_corrupt: c.corrupt ? 1 : 0,
                    helper_lost: c.helperLost ? 1 : 0, lone: c.lone ? 1 : 0, elapsed_ns: 7_000,
                    valid: valid.baseAddress, crash_index: c.crashIndex, crash: c.crash == nil ? nil : crashPointer,
                    begun_index: c.begunIndex)
                fl_blame_death(&input, &verdicts, &result)
            }
        }
        return (verdicts, result)
    }

    private var segvReport: fl_report {
        var crash = fl_report()
        crash.kind = Int32(FL_KIND_SIGNALED.rawValue)
        crash.signo = SIGSEGV
        crash.code = 1
        crash.address = 0x10
        crash.flags = UInt32(FL_REPORT_DETAILED)
        return crash
    }

    func testTheCallInFlightIsBlamedAndTheRestRequeued() {
        let (verdicts, result) = blame(Case(valid: [true, true, true, false, false], started: 4, status: killed(SIGSEGV)))
        XCTAssertEqual(verdicts, [recorded, recorded, recorded, blamed, requeue])
        XCTAssertEqual(result.blamed, 3)
        XCTAssertEqual(result.report.kind, Int32(FL_KIND_SIGNALED.rawValue))
        XCTAssertEqual(result.report.signo, SIGSEGV)
        XCTAssertEqual(result.report.flags & UInt32(FL_REPORT_DETAILED), 0, "no handler report: no details")
    }

    func testAGenuineCrashRecordNamesTheCallEvenWhenTheMarksLie() {
        let (verdicts, result) = blame(Case(valid: [true, false, false], started: 77, status: killed(SIGSEGV),
                                            crashIndex: 1, crash: segvReport))
        XCTAssertEqual(verdicts, [recorded, blamed, requeue])
        XCTAssertEqual(result.report.address, 0x10)
        // Its signal must be the one the worker died of.
        let other = blame(Case(valid: [false, false], started: 1, status: killed(SIGABRT), crashIndex: 0, crash: segvReport))
        XCTAssertEqual(other.blame.report.signo, SIGABRT)
        XCTAssertEqual(other.blame.report.address, 0)
    }

    func testAnExitAndADeadline() {
        let exit = blame(Case(valid: [true, false, false], started: 2, status: exited(7)))
        XCTAssertEqual(exit.blame.report.kind, Int32(FL_KIND_EXITED.rawValue))
        XCTAssertEqual(exit.blame.report.value, 7)
        let deadline = blame(Case(valid: [false, false, false], started: 1, status: killed(SIGKILL), deadline: true, begunIndex: 0))
        XCTAssertEqual(deadline.verdicts, [blamed, requeue, requeue])
        XCTAssertEqual(deadline.blame.report.kind, Int32(FL_KIND_TIMED_OUT.rawValue))
        XCTAssertEqual(deadline.blame.report.elapsed_ns, 7_000)
        // Without a genuine begun mark, a deadline kill proves nothing: the call runs again alone.
        let unproven = blame(Case(valid: [false, false], started: 1, status: killed(SIGKILL), deadline: true))
        XCTAssertEqual(unproven.verdicts, [suspect, requeue])
        XCTAssertEqual(unproven.blame.blamed, -1)
    }

    func testADeathBetweenCallsBlamesNobody() {
        let (verdicts, result) = blame(Case(valid: [true, true, false, false], started: 2, status: killed(SIGSEGV)))
        XCTAssertEqual(verdicts, [recorded, recorded, requeue, requeue])
        XCTAssertEqual(result.blamed, -1)
    }

    func testDestroyedRecordsMakeSuspectsNeverGuesses() {
        // Call 1's record fails its check while call 2's is genuine: call 1's was destroyed.
        let (verdicts, result) = blame(Case(valid: [true, false, true, false, false], started: 4, status: killed(SIGSEGV)))
        XCTAssertEqual(verdicts, [recorded, suspect, recorded, suspect, requeue])
        XCTAssertEqual(result.blamed, -1)
        // A mark that makes no sense: the call in flight is a suspect.
        let garbled = blame(Case(valid: [false, false], started: 9_999, status: exited(0)))
        XCTAssertEqual(garbled.verdicts, [suspect, requeue])
    }

    func testAWorkerKilledAsCorruptOrWithItsHelperBlamesNobody() {
        let corrupt = blame(Case(valid: [true, false, false], started: 2, status: killed(SIGKILL), corrupt: true))
        XCTAssertEqual(corrupt.verdicts, [recorded, suspect, requeue])
        let lost = blame(Case(valid: [true, false, false], started: 2, status: -1, helperLost: true))
        XCTAssertEqual(lost.verdicts, [recorded, suspect, requeue])
    }

    func testALoneSuspectThatStillCannotBeJudgedIsCorrupted() {
        let lost = blame(Case(valid: [false], started: 1, status: -1, helperLost: true, lone: true))
        XCTAssertEqual(lost.verdicts, [blamed])
        XCTAssertEqual(lost.blame.report.kind, Int32(FL_KIND_CORRUPTED.rawValue))
        XCTAssertEqual(lost.blame.report.code, Int32(FL_CORRUPTION_HELPER_KILLED))
        let garbled = blame(Case(valid: [false], started: 12, status: killed(SIGSEGV), lone: true))
        XCTAssertEqual(garbled.verdicts, [blamed])
        XCTAssertEqual(garbled.blame.report.code, Int32(FL_CORRUPTION_RECORDS_OVERWRITTEN))
        // A lone call whose death is certain keeps its true outcome.
        let plain = blame(Case(valid: [false], started: 1, status: killed(SIGTERM), lone: true))
        XCTAssertEqual(plain.blame.report.kind, Int32(FL_KIND_SIGNALED.rawValue))
        XCTAssertEqual(plain.blame.report.signo, SIGTERM)
    }
}
