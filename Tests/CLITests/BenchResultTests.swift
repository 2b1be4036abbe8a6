import FaultlineBenchResult
import Foundation
import XCTest

/// The bench's result type: what `faultline bench --json` writes is what the report reads back.
final class BenchResultTests: XCTestCase {
    private func sample() -> BenchReport {
        var report = BenchReport(run: RunInfo(budgetSeconds: 3, quick: true, workers: 2, library: "/x/libFaultlineVictims.so",
                                              cores: 2, kernel: "6.1", transparentHugePages: "madvise"))
        let latency = LatencySummary(count: 10, p50: 120.5, p99: 300.25, mean: 150.125, max: 400)
        var guardRow = StrategyFigures(name: "guard")
        guardRow.workloads = [("identity", .measured(WorkloadFigures(callsPerSecond: 1e7, latency: latency, calls: 1000, batch: 8,
                                                                     faults: 0))),
                              ("mixed_5", .skipped("not applicable"))]
        guardRow.recovery = Recovery(method: "caught", outcome: latency, restored: latency)
        guardRow.extras = [("call_batch_ns", .number(5.5)), ("mixed_fault_kinds", .array([.int(-1), .int(-2)]))]
        report.strategies = [StrategyFigures(name: "direct"), guardRow, .notAvailable("pool", "not available: test")]
        report.floors.plainCall = 4.5
        report.floors.faultLongjmp = latency
        report.forkCost.largeNote = "not measured"
        report.peers.unavailable = "not available: no python3 on PATH"
        report.unwinder.confinedThrowNs = 1200
        report.targets = [Target(name: "guard_recovery", description: "guard recovery ≤ 3 µs", measured: 3500, unit: "ns",
                                 limit: 3000, atMost: true, detail: "p50", profile: "where the cost is")]
        return report
    }

    func testKeysInTheBenchOrder() throws {
        let text = try OrderedJSONEncoder().encode(sample())
        let keys = ["\"schema\"", "\"run\"", "\"strategies\"", "\"floors\"", "\"fork_cost\"", "\"rss\"", "\"peers\"", "\"unwinder\"",
                    "\"targets\""].map { text.range(of: $0)!.lowerBound }
        XCTAssertEqual(keys, keys.sorted(), text)
        XCTAssertTrue(text.hasPrefix("{\"schema\":1,\"run\":{\"budget_seconds\":3,\"elapsed_seconds\":0,"), text)
        XCTAssertTrue(text.contains("\"recovery_p50_ns\":null,\"recovery_p99_ns\":null"), "nil figures are written as null: \(text)")
        XCTAssertTrue(text.contains("\"mean_ns\":150.125"), text)
    }

    func testWhatIsWrittenReadsBackTheSame() throws {
        let text = try OrderedJSONEncoder().encode(sample())
        let decoded = try JSONDecoder().decode(BenchReport.self, from: Data(text.utf8))
        XCTAssertEqual(decoded.strategies.map(\.name), ["direct", "guard", "pool"])
        XCTAssertEqual(decoded.strategy("guard")?.measurement("identity")?.latency.p50, 120.5)
        XCTAssertEqual(decoded.strategy("guard")?.extraNumber("call_batch_ns"), 5.5)
        XCTAssertEqual(decoded.strategy("guard")?.recovery?.restored.p99, 300.25)
        XCTAssertEqual(decoded.strategy("pool")?.unavailable, "not available: test")
        XCTAssertEqual(decoded.targets.first?.pass, false)
        XCTAssertEqual(decoded.targets.first?.profile, "where the cost is")
        // Written again, it is the same JSON (key order aside).
        let again = try OrderedJSONEncoder().encode(decoded)
        let first = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary
        let second = try JSONSerialization.jsonObject(with: Data(again.utf8)) as? NSDictionary
        XCTAssertEqual(first, second, "\(text)\n\(again)")
    }
}
