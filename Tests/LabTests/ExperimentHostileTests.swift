import ExperimentKit
import Faultline
import FaultlineHarness
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Experiment 10 (hostile callees), run as scripts/report runs it, checked
/// for what holds whatever the strategies get right or wrong today: the grid
/// is whole, every cell is bounded by its watchdog, the guard's death is
/// recorded instead of taking the experiment with it, a stopped caller is a
/// hang that costs its deadline and no more, a daemon is seen and then
/// killed, and nothing of the run survives it.
final class ExperimentHostileTests: XCTestCase {
    func testEveryCellIsBoundedJudgedAndCleanedUp() throws {
        let name = "10-hostile-callees"
        let token = "test-\(getpid())-\(Int(Date().timeIntervalSince1970 * 1000))"
        let (process, status) = try ChildProcess.run(ExperimentRunner.path(name), ["--json", "--budget", "1"],
                                                     environment: ["FAULTLINE_HOSTILE_RUN": token], timeout: 150)
        let exit = try XCTUnwrap(status, "\(name) did not finish within 150 s")
        XCTAssertEqual(exit, .exitCode(0), process.standardError)
        let result = try JSONDecoder().decode(ExperimentResult.self, from: Data(process.standardOutput.utf8))
        XCTAssertEqual(result.remainingAfterCleanup, [], "the experiment's own clean-up left processes")
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [], "processes left under the test")

        // Nothing the run started is alive anywhere, daemons (setsid, re-parented) included.
        let marked = ProcessMarks.marked("FAULTLINE_HOSTILE_RUN", token)
        XCTAssertEqual(marked.map(\.name), [], "processes of the run still alive after it")
        XCTAssertFalse(marked.contains { $0.name == "fl-daemon" })

        // One cell per behaviour × way of calling, no more, no fewer.
        let grid = try XCTUnwrap(result.grids?.first, "no grid in the result")
        XCTAssertEqual(grid.rows.count, 14)
        XCTAssertEqual(grid.columns.map(\.key), ["pool", "fork", "fork-server", "guard", "py-map", "py-executor", "py-pebble", "cli-pool", "cli-fork"])
        XCTAssertEqual(grid.cells.count, grid.rows.count * grid.columns.count)
        for row in grid.rows {
            for column in grid.columns {
                XCTAssertEqual(grid.cells.filter { $0.row == row.key && $0.column == column.key }.count, 1, "\(row.key) × \(column.key)")
            }
        }

        for cell in grid.cells where cell.verdict != .unavailable {
            let place = "\(cell.row) × \(cell.column): \(cell.text)"
            // Bounded: no cell waited past its deadline, and a hang is exactly a cell still running at it.
            XCTAssertLessThanOrEqual(cell.seconds, cell.deadline + 1, place)
            XCTAssertEqual(cell.verdict == .hang, !cell.finished, place)
            if cell.verdict == .hang { XCTAssertGreaterThanOrEqual(cell.seconds, cell.deadline - 0.05, place) }
            // Verdicts follow from the evidence the cell carries.
            let cleared = cell.othersCleared ?? 0
            let others = cell.othersExact + cell.othersWrong + cell.othersMissing + cleared
            XCTAssertTrue(others == 200 || others == 13, place)
            if cell.verdict == .exact { XCTAssertEqual(cleared, 0, place) }
            if cell.verdict == .exact || cell.verdict == .honest {
                XCTAssertEqual(cell.othersExact + cleared, others, place)
                XCTAssertNotNil(cell.focus, place)
                XCTAssertEqual(cell.leftBehind, [], place)
            }
            if cell.verdict == .wrong { XCTAssertTrue(cell.othersWrong > 0 || cell.focus != nil, place) }
            if cell.verdict == .failed { XCTAssertTrue(cell.othersMissing > 0 || cell.focus == nil || cell.callerExit != "exit code 0", place) }
            XCTAssertFalse(cell.text.isEmpty, place)
        }

        // The guard calls in its caller: kill(0, SIGKILL) kills it, and the cell says so, on time.
        let killed = try XCTUnwrap(grid.cell(row: "kill-group-kill", column: "guard"))
        XCTAssertTrue(killed.finished, killed.text)
        XCTAssertEqual(killed.callerExit, "signal SIGKILL", killed.text)
        XCTAssertEqual(killed.verdict, .failed, killed.text)
        // ... and kill(getppid()) kills its shield, not the watchdog: the experiment went on to the end.
        let parent = try XCTUnwrap(grid.cell(row: "kill-parent", column: "guard"))
        XCTAssertTrue(parent.finished, parent.text)
        // SIGSTOP cannot be handled: the guard's caller is stopped, a hang cut at its deadline.
        XCTAssertEqual(grid.cell(row: "stop-group", column: "guard")?.verdict, .hang)
        // The guard does nothing about a daemon that left with setsid: the watchdog sees it, then kills it.
        let daemon = try XCTUnwrap(grid.cell(row: "daemon", column: "guard"))
        XCTAssertTrue(daemon.text.contains("left behind: fl-daemon"), daemon.text)
        XCTAssertFalse(daemon.leftBehind.isEmpty)

        // A summary line per way of calling, with its tally.
        for column in grid.columns {
            XCTAssertTrue(result.summary.contains { $0.hasPrefix(column.label + ": ") }, "no summary line for \(column.label)")
        }

        // The report shows the grid and the summary, as scripts/report renders it.
        var template = Array("/tmp/faultline-hostile-report-XXXXXX".utf8CString)
        let folder = String(cString: try XCTUnwrap(mkdtemp(&template)))
        defer {
            for file in Files.list(folder) { unlink(folder + "/" + file) }
            rmdir(folder)
        }
        try Files.write(process.standardOutput, to: "\(folder)/\(name).json")
        let (renderer, rendered) = try ChildProcess.run(ExperimentRunner.path("01-direct-call"), ["--render-report", folder, folder + "/REPORT.md"], timeout: 60)
        XCTAssertEqual(rendered, .exitCode(0), renderer.standardError)
        let report = try XCTUnwrap(Files.read(folder + "/REPORT.md"))
        XCTAssertTrue(report.contains("### 10 hostile-callees"))
        XCTAssertTrue(report.contains(grid.markdown), "the grid's table is in the report")
        for line in result.summary { XCTAssertTrue(report.contains(line), "summary line missing: \(line)") }
    }

    func testGridRendersOneRowPerCaseWithWrongAndHangInBold() {
        var grid = Grid(caption: "c", rowTitle: "behaviour",
                        rows: [GridAxis(key: "a", label: "case a"), GridAxis(key: "b", label: "case | b")],
                        columns: [GridAxis(key: "x", label: "X"), GridAxis(key: "y", label: "Y")])
        grid.cells = [
            GridCell(row: "a", column: "x", verdict: .exact, text: "returned 5", finished: true, seconds: 0.1, deadline: 2),
            GridCell(row: "a", column: "y", verdict: .wrong, text: "returned 7", finished: true, seconds: 0.1, deadline: 2),
            GridCell(row: "b", column: "x", verdict: .hang, text: "hang", finished: false, seconds: 2, deadline: 2),
        ]
        XCTAssertEqual(grid.markdown, """
        | behaviour | X | Y |
        |---|---|---|
        | case a | returned 5 | **returned 7** |
        | case \\| b | **hang** | — |
        """)
        XCTAssertEqual(grid.tally(column: "x"), [.exact: 1, .hang: 1])
        XCTAssertTrue(GridVerdict.exact < GridVerdict.wrong)
    }
}
