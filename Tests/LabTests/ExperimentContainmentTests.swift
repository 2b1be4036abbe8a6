import ExperimentKit
import Faultline
import FaultlineHarness
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Experiment 14 (containment), run as scripts/report runs it: under `pure`
/// every forbidden behaviour is contained (a violation, or an errno from
/// Landlock, or the CPU limit), the experiment's TCP listener and UDP socket
/// hear nothing from a sandboxed callee, `--allow-read` of another folder
/// still keeps the secret, and without a sandbox the same victims do reach
/// everything: the probes work.
final class ExperimentContainmentTests: XCTestCase {
    func testThePureSandboxContainsWhatTheProbesReachWithoutIt() throws {
        let name = "14-containment"
        let (process, status) = try ChildProcess.run(ExperimentRunner.path(name), ["--json", "--budget", "3"], timeout: 240)
        let exit = try XCTUnwrap(status, "\(name) did not finish within 240 s")
        XCTAssertEqual(exit, .exitCode(0), process.standardError)
        let result = try JSONDecoder().decode(ExperimentResult.self, from: Data(process.standardOutput.utf8))
        XCTAssertEqual(result.remainingAfterCleanup, [], "the experiment's own clean-up left processes")
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [], "processes left under the test")

        let grid = try XCTUnwrap(result.grids?.first, "no grid in the result")
        XCTAssertEqual(grid.columns.map(\.key), ["none", "pure", "pure-read", "pebble"])
        let rows = grid.rows.map(\.key)
        XCTAssertEqual(Set(rows), ["read-secret", "read-allowed", "write-file", "tcp", "udp", "exec", "thread", "signal-parent",
                                   "ptrace", "mmap-exec", "sigsys", "cpu"])
        XCTAssertEqual(grid.cells.count, rows.count * grid.columns.count)
        func cell(_ row: String, _ column: String) throws -> GridCell {
            try XCTUnwrap(grid.cell(row: row, column: column), "no cell \(row) × \(column)")
        }

        // Under pure (and pure + --allow-read elsewhere), every forbidden behaviour is contained, each by a
        // violation, an errno or the CPU limit; nothing escapes.
        XCTAssertEqual(grid.cells.filter { $0.verdict == .escaped }.map { "\($0.row) × \($0.column): \($0.text)" }, [])
        for column in ["pure", "pure-read"] {
            for row in rows where !(row == "read-allowed" && column == "pure-read") {
                let found = try cell(row, column)
                let place = "\(row) × \(column): \(found.text)"
                XCTAssertEqual(found.verdict, .contained, place)
                if row == "cpu" {
                    XCTAssertEqual(found.focus?.outcome?.signal?.name, "SIGXCPU", place)
                } else if column == "pure-read" && ["read-secret", "write-file"].contains(row) {
                    XCTAssertTrue(found.text.hasPrefix("returned -13 (EACCES)"), place) // Landlock: outside the allowed folder
                } else {
                    XCTAssertNotNil(found.focus?.outcome?.violation, place)
                }
            }
            XCTAssertEqual(result.measurement("connections_\(column.replacingOccurrences(of: "-", with: "_"))"), 0, column)
            XCTAssertEqual(result.measurement("datagrams_\(column.replacingOccurrences(of: "-", with: "_"))"), 0, column)
        }
        XCTAssertEqual(try cell("read-secret", "pure").focus?.outcome?.violation?.syscall?.name, "openat")
        XCTAssertTrue(try cell("read-secret", "pure-read").text.contains("secret not read"))
        XCTAssertEqual(try cell("tcp", "pure").focus?.outcome?.violation?.syscall?.name, "socket")
        XCTAssertEqual(try cell("sigsys", "pure").focus?.outcome?.violation?.syscall?.name, "rt_sigaction")
        // The control: the folder --allow-read names is readable.
        XCTAssertEqual(try cell("read-allowed", "pure-read").verdict, .reached)

        // Without a sandbox the same victims reach everything (but the CPU, which the deadline ends): the probes work.
        var callers = ["none"]
        if try cell("tcp", "pebble").verdict != .unavailable { callers.append("pebble") }
        for column in callers {
            for row in rows {
                let found = try cell(row, column)
                XCTAssertEqual(found.verdict, row == "cpu" ? .contained : .reached, "\(row) × \(column): \(found.text)")
            }
            XCTAssertEqual(result.measurement("connections_\(column)"), 2, column) // tcp and sigsys
            XCTAssertEqual(result.measurement("datagrams_\(column)"), 1, column)
        }
        XCTAssertTrue(try cell("read-secret", "none").text.contains("secret read"))
        XCTAssertEqual(try cell("cpu", "none").focus?.outcome?.kind, "timed_out")

        // The set-up costs were measured for every pool column.
        for column in ["none", "pure", "pure_read"] {
            XCTAssertGreaterThan(result.measurement("fresh_worker_call_\(column)") ?? 0, 0, column)
            XCTAssertGreaterThan(result.measurement("pool_start_\(column)") ?? 0, 0, column)
        }
    }
}
