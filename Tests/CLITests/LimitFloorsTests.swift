import FaultlineBench
import FaultlineTestSupport
import FaultlineBenchResult
import FaultlineHarness
import Foundation
import XCTest

/// `faultline-floors` measures the floors at the limit in a minimal C process;
/// ``LimitFloors/measure(executable:iterations:timeout:)`` runs and reads it.
/// These tests check presence and sanity of the figures, never the speed.
final class LimitFloorsTests: XCTestCase {
    func testEveryFigureIsPresentAndSaneAndNothingIsLeftBehind() throws {
        // Adopt orphans, so that an echo or partner process left behind would show.
        ProcessTable.becomeSubreaper()
        let before = Set(ProcessTable.descendants(of: getpid()).map(\.pid))
        let floors = LimitFloors.measure(iterations: 200)
        let left = ProcessTable.descendants(of: getpid()).filter { !before.contains($0.pid) }
        XCTAssertEqual(left, [], "left behind: \(left)")

        XCTAssertTrue(floors.available, floors.reason ?? "")
        XCTAssertNil(floors.reason)
        XCTAssertEqual(floors.iterations, 200)
        for (name, figure) in floors.figures {
            guard let figure else {
                XCTFail("no figure \(name)")
                continue
            }
            XCTAssertGreaterThan(figure.p50, 0, name)
            XCTAssertGreaterThanOrEqual(figure.p99, figure.p50, name)
        }
        // A sanity bound, not a timing assertion: a whole fork is not ten times cheaper than a fault seen by the parent.
        let fork = try XCTUnwrap(floors.forkCallExitWaitpid), fault = try XCTUnwrap(floors.faultSeenByParent)
        XCTAssertGreaterThan(fork.p50, fault.p50 / 10)
        XCTAssertGreaterThan(floors.forkCrashUnwindPerSecond ?? 0, 0, "no crash floor")
    }

    func testTheCrashFloorAloneGivesARate() {
        let (rate, note) = LimitFloors.crashFloor(crashes: 20, library: Fixtures.victimsLibrary)
        XCTAssertGreaterThan(rate ?? 0, 0, note ?? "")
        XCTAssertNil(note)
        let (missing, why) = LimitFloors.crashFloor(crashes: 2, library: "/nonexistent/libvictims.so")
        XCTAssertNil(missing)
        XCTAssertTrue(why?.contains("fork_crash_unwind") == true, why ?? "no reason")
    }

    func testTheExecutableIsFoundBesideTheBuiltFaultline() {
        XCTAssertEqual(access(Fixtures.buildDirectory + "/" + LimitFloors.executableName, X_OK), 0)
        XCTAssertEqual(access(LimitFloors.besideExecutable, X_OK), 0, LimitFloors.besideExecutable)
    }

    func testOneIterationPrintsEveryFigureAsOneLineEach() throws {
        let (process, status) = try ChildProcess.run(LimitFloors.besideExecutable, ["1"], timeout: 30)
        XCTAssertEqual(status, .exitCode(0), process.standardError)
        let lines = process.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.first, "iterations 1")
        XCTAssertEqual(lines.count, 1 + 2 * LimitFloors.names.count + 1, process.standardOutput)
        XCTAssertTrue(lines.last?.hasPrefix("fork_crash_unwind.per_second ") == true, process.standardOutput)
    }

    func testABadIterationCountIsRefused() throws {
        for arguments in [["0"], ["-5"], ["abc"], [""], ["2000000"], ["--only", "nonsense", "5"], ["1", "lib", "extra"]] {
            let argument = arguments.joined(separator: " ")
            let (process, status) = try ChildProcess.run(LimitFloors.besideExecutable, arguments, timeout: 10)
            XCTAssertEqual(status, .exitCode(64), "argument \(argument)")
            XCTAssertEqual(process.standardOutput, "", "argument \(argument)")
        }
    }

    func testAMissingExecutableGivesUnavailableFloorsWithAReason() {
        let floors = LimitFloors.measure(executable: "/nonexistent/faultline-floors")
        XCTAssertFalse(floors.available)
        XCTAssertTrue(floors.reason?.contains("/nonexistent/faultline-floors") == true, floors.reason ?? "no reason")
        XCTAssertTrue(floors.figures.allSatisfy { $0.figure == nil })
    }

    func testAFailingExecutableGivesUnavailableFloorsWithAReason() {
        // /bin/false exits 1 and prints nothing.
        let floors = LimitFloors.measure(executable: "/bin/false")
        XCTAssertFalse(floors.available)
        XCTAssertTrue(floors.reason?.contains("exit") == true, floors.reason ?? "no reason")
    }

    func testParseReadsFiguresErrorsAndMissingOnes() {
        var output = "iterations 7\n"
        for (index, name) in LimitFloors.names.enumerated() where name != "pipe_round_trip" && name != "eventfd_round_trip" {
            output += "\(name).p50_ns \(100 + index)\n\(name).p99_ns \(200 + index)\n"
        }
        output += "eventfd_round_trip.error Function not implemented\nsomething else\nfork_crash_unwind.per_second 2900\n"
        let floors = LimitFloors.parse(output)
        XCTAssertEqual(floors.iterations, 7)
        XCTAssertEqual(floors.forkCallExitWaitpid, LimitFloors.Figure(p50: 100, p99: 200))
        XCTAssertEqual(floors.sigsetjmpFaultLongjmp, LimitFloors.Figure(p50: 106, p99: 206))
        XCTAssertNil(floors.pipeRoundTrip)
        XCTAssertNil(floors.eventfdRoundTrip)
        XCTAssertEqual(floors.forkCrashUnwindPerSecond, 2900)
        XCTAssertFalse(floors.available)
        let reason = floors.reason ?? ""
        XCTAssertTrue(reason.contains("eventfd_round_trip: Function not implemented"), reason)
        XCTAssertTrue(reason.contains("no figure pipe_round_trip"), reason)
        XCTAssertFalse(reason.contains("no figure eventfd_round_trip"), reason)
        XCTAssertTrue(LimitFloors.parse("iterations 1\n").reason?.contains(LimitFloors.crashFloorName) == true)
    }

    func testJSONRoundTripKeepsEveryFigure() throws {
        var floors = LimitFloors(available: true, iterations: 3)
        for (index, name) in LimitFloors.names.enumerated() {
            floors[name] = LimitFloors.Figure(p50: Double(index + 1), p99: Double(2 * index + 2))
        }
        floors.forkCrashUnwindPerSecond = 2950
        let data = try JSONEncoder().encode(floors)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let fork = try XCTUnwrap(object["fork_call_exit_waitpid"] as? [String: Any])
        XCTAssertEqual(fork["p50_ns"] as? Double, 1)
        XCTAssertEqual((object["fork_crash_unwind"] as? [String: Any])?["per_second"] as? Double, 2950)
        XCTAssertEqual(try JSONDecoder().decode(LimitFloors.self, from: data), floors)
    }
}
