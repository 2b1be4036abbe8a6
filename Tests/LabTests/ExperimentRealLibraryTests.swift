import ExperimentKit
import Faultline
import FaultlineTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Experiment 11: the C++ simulator through every strategy, and what its tables say.
final class ExperimentRealLibraryTests: XCTestCase {
    func testEveryStrategyAnswersTheSimulatorsProgramsAsMeasured() throws {
        let result = try ExperimentRunner.run("11-real-library", budget: 1, [], deadline: 180)
        XCTAssertNil(result.skipped)
        let outcomes = try XCTUnwrap(result.blocks.first { $0.caption.hasPrefix("each program") }?.text)
        let rows = outcomes.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
        let header = rows[0]
        func column(_ title: String) throws -> [String] {
            let index = try XCTUnwrap(header.firstIndex { $0.hasPrefix(title) }, "no column \(title) in \(header)")
            return rows.dropFirst(2).map { $0[index] }
        }
        // The isolating strategies and the guard: every program answered, the two bugs as exact faults.
        for title in ["guard", "fork", "fork-server", "pool"] {
            let cells = try column(title)
            XCTAssertEqual(cells.count, 7)
            XCTAssertEqual(cells[0], "returned 10, out \"A=0.3074 B=0.3074 C=0.6926\"", title)
            // Named where the bug is: the function and its source line (the simulator carries DWARF).
            XCTAssertTrue(cells[3].hasPrefix("SIGSEGV at 0x20 in fl_sim_run (simulator.cpp:"), "null pointer + offsetof(amount), \(title): \(cells[3])")
            XCTAssertTrue(cells[5].hasPrefix("SIGSEGV at 0x"), "\(title): \(cells[5])")
            XCTAssertEqual(cells[4], "returned -1, out \"\"", title)
            XCTAssertTrue(cells[6].hasPrefix("returned 4"), "\(title): \(cells[6])")
        }
        // Direct calls die at the first bug; nothing after it is called.
        let direct = try column("direct")
        XCTAssertTrue(direct[2].hasPrefix("returned 3"), direct[2])
        XCTAssertTrue(direct[3].contains("SIGSEGV"), direct[3])
        XCTAssertEqual(direct[4], "never called")
        let costs = try XCTUnwrap(result.blocks.first { $0.caption.hasPrefix("cost per call") }?.text)
        XCTAssertTrue(costs.contains("| pool | "), costs)
        for key in ["cost_guard_fl_sim_rate", "cost_pool_fl_sim_tokens", "cost_fork_server_fl_sim_checksum", "cost_fork_fl_sim_rate"] {
            XCTAssertGreaterThan(try XCTUnwrap(result.measurement(key), key), 0)
        }
    }
}
