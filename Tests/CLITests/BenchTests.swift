import Faultline
import FaultlineTestSupport
import FaultlineHarness
import Foundation
import XCTest

/// `faultline bench --json --quick` prints one JSON object with every figure.
/// These tests check the shape and the sanity of the figures (positive,
/// p50 ≤ p99), never the speed: timing belongs to the bench, not to tests.
final class BenchTests: XCTestCase {
    private func runBench(_ arguments: [String]) throws -> (object: [String: Any], stdout: String) {
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["bench"] + arguments, timeout: 240)
        XCTAssertEqual(status, .exitCode(0), "stderr: \(process.standardError.suffix(2000))")
        let stdout = process.standardOutput
        let trimmed = stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(trimmed.hasPrefix("{") && trimmed.hasSuffix("}"), "stdout is not one JSON object: \(stdout.prefix(300))")
        XCTAssertEqual(trimmed.split(separator: "\n").count, 1, "stdout has more than the JSON line")
        let parsed = try JSONSerialization.jsonObject(with: Data(trimmed.utf8))
        return (try XCTUnwrap(parsed as? [String: Any]), stdout)
    }

    /// A number at `key`, which must be present.
    private func number(_ object: [String: Any], _ key: String, _ context: String, file: StaticString = #filePath,
                        line: UInt = #line) -> Double? {
        XCTAssertTrue(object.keys.contains(key), "\(context): no key \(key)", file: file, line: line)
        return (object[key] as? NSNumber)?.doubleValue
    }

    /// `p50_ns` and `p99_ns` are positive and ordered, and `calls_per_second` (when asked) positive.
    private func checkFigures(_ object: [String: Any], _ context: String, rate: Bool = true,
                              p50: String = "p50_ns", p99: String = "p99_ns") {
        let low = number(object, p50, context), high = number(object, p99, context)
        XCTAssertGreaterThan(low ?? 0, 0, "\(context).\(p50)")
        XCTAssertGreaterThan(high ?? 0, 0, "\(context).\(p99)")
        if let low, let high { XCTAssertLessThanOrEqual(low, high, "\(context): p50 > p99") }
        if rate { XCTAssertGreaterThan(number(object, "calls_per_second", context) ?? 0, 0, "\(context).calls_per_second") }
    }

    func testQuickJSONHasEveryKeyAndSaneFigures() throws {
        // Adopt orphans, so that a helper, worker or probe the bench left behind would show.
        ProcessTable.becomeSubreaper()
        let before = Set(ProcessTable.descendants(of: getpid()).map(\.pid))
        let (report, _) = try runBench(["--json", "--quick"])
        let left = ProcessTable.descendants(of: getpid()).filter { !before.contains($0.pid) }
        XCTAssertEqual(left, [], "left behind: \(left)")
        for key in ["schema", "run", "strategies", "floors", "fork_cost", "rss", "peers", "unwinder", "symbolize", "crash_rate",
                    "triage", "targets"] {
            XCTAssertNotNil(report[key], "missing \(key)")
        }

        let strategies = try XCTUnwrap(report["strategies"] as? [String: Any])
        for name in ["direct", "guard", "fork", "pool", "fork_server"] {
            let strategy = try XCTUnwrap(strategies[name] as? [String: Any], "no strategy \(name)")
            for key in ["available", "calls_per_second", "p50_ns", "p99_ns", "recovery_p50_ns", "recovery_p99_ns"] {
                XCTAssertTrue(strategy.keys.contains(key), "\(name): no key \(key)")
            }
            guard strategy["available"] as? Bool == true else {
                XCTAssertNotNil(strategy["reason"] as? String, "\(name) is unavailable without a reason")
                continue
            }
            checkFigures(strategy, name)
            let workloads = try XCTUnwrap(strategy["workloads"] as? [String: Any], name)
            for workload in ["identity", "mixed_5", "mixed_25"] {
                let cell = try XCTUnwrap(workloads[workload] as? [String: Any], "\(name).\(workload)")
                if cell["available"] as? Bool == true {
                    checkFigures(cell, "\(name).\(workload)")
                    if workload != "identity" {
                        XCTAssertGreaterThan(number(cell, "faults", "\(name).\(workload)") ?? 0, 0,
                                             "\(name).\(workload): a mixed workload without faults")
                    }
                } else {
                    XCTAssertNotNil(cell["reason"] as? String, "\(name).\(workload) skipped without a reason")
                }
            }
            if name != "direct" {
                checkFigures(strategy, "\(name) recovery", rate: false, p50: "recovery_p50_ns", p99: "recovery_p99_ns")
            }
        }

        let floors = try XCTUnwrap(report["floors"] as? [String: Any])
        for key in ["plain_call_ns", "sigsetjmp_call_ns", "guard_call_c_ns", "fault_longjmp_ns",
                    "fault_longjmp_backtrace_ns", "fork_waitpid_ns", "pipe_round_trip_ns", "fault_death_ns"] {
            XCTAssertGreaterThan(number(floors, key, "floors") ?? 0, 0, "floors.\(key)")
        }
        for key in ["fault_longjmp", "fault_longjmp_backtrace", "fork_waitpid", "pipe_round_trip", "fault_death"] {
            checkFigures(try XCTUnwrap(floors[key] as? [String: Any], key), "floors.\(key)", rate: false)
        }

        let forkCost = try XCTUnwrap(report["fork_cost"] as? [String: Any])
        let small = try XCTUnwrap(forkCost["small_parent"] as? [String: Any])
        checkFigures(small, "fork_cost.small_parent", rate: false, p50: "fork_waitpid_p50_ns", p99: "fork_waitpid_p99_ns")
        checkFigures(small, "fork_cost.small_parent", rate: false, p50: "fork_p50_ns", p99: "fork_p99_ns")
        let large = try XCTUnwrap(forkCost["large_parent"] as? [String: Any])
        if large["available"] as? Bool == false {
            XCTAssertNotNil(large["reason"] as? String)
        } else {
            checkFigures(large, "fork_cost.large_parent", rate: false, p50: "fork_p50_ns", p99: "fork_p99_ns")
            let parentBytes = number(large, "parent_rss_bytes", "large_parent") ?? 0
            XCTAssertGreaterThanOrEqual(parentBytes, number(forkCost, "large_parent_bytes", "fork_cost") ?? .infinity,
                                        "the large parent is not resident")
        }

        let rss = try XCTUnwrap(report["rss"] as? [String: Any])
        XCTAssertGreaterThan(number(rss, "supervisor_peak_bytes", "rss") ?? 0, 0)

        // C++ exceptions: confined libunwind leaves the process on libgcc's unwinder; LD_PRELOAD binds libunwind's.
        let unwinder = try XCTUnwrap(report["unwinder"] as? [String: Any])
        XCTAssertGreaterThan(number(unwinder, "confined_throw_ns", "unwinder") ?? 0, 0)
        XCTAssertGreaterThan(number(unwinder, "global_throw_ns", "unwinder") ?? 0, 0)
        XCTAssertFalse((unwinder["confined_unwinder"] as? String ?? "libunwind").contains("libunwind"), "\(unwinder)")
        XCTAssertTrue((unwinder["global_unwinder"] as? String ?? "").contains("libunwind"), "\(unwinder)")

        let peers = try XCTUnwrap(report["peers"] as? [String: Any])
        XCTAssertNotNil(peers["available"] as? Bool)
        for name in ["pebble", "process_pool_executor", "python_fork"] {
            guard let peer = peers[name] as? [String: Any] else { continue } // no python3: no peer objects
            if peer["available"] as? Bool == true {
                checkFigures(peer, "peers.\(name)")
            } else {
                XCTAssertNotNil(peer["reason"] as? String, "peers.\(name) unavailable without a reason")
            }
        }

        // faultline call end to end: both figures, each with a positive value or a reason.
        let cli = try XCTUnwrap(report["cli"] as? [String: Any])
        // (A quick run's difference of two short runs can drown in noise: then a note says so instead of a figure.)
        for (key, note) in [("guard_fault_ns", "guard_note"), ("pool_crashes_per_second", "pool_note")] {
            if let reason = cli[note] as? String {
                XCTAssertFalse(reason.isEmpty, "\(cli)")
                XCTAssertNil(cli[key] as? NSNumber, "a figure and a note: \(cli)")
            } else {
                XCTAssertGreaterThan(number(cli, key, "cli") ?? 0, 0, "\(cli)")
            }
        }
        // The pool's own crash timeline: fault -> outcome <= fault -> capacity restored.
        let pool = try XCTUnwrap(strategies["pool"] as? [String: Any])
        if let outcome = number(pool, "fault_to_outcome_p50_ns", "pool"), let restored = number(pool, "fault_to_restored_p50_ns", "pool") {
            XCTAssertGreaterThan(outcome, 0)
            XCTAssertLessThanOrEqual(outcome, restored)
        }

        let targets = try XCTUnwrap(report["targets"] as? [[String: Any]])
        let names = Set(targets.compactMap { $0["name"] as? String })
        for name in ["pool_outcome_latency", "pool_capacity_restored", "pool_vs_pebble_mixed_5", "pool_vs_pebble_mixed_25",
                     "fork_server_vs_c_floor", "cli_guard_fault_cost", "cli_pool_crash_rate", "signature_guard_overhead",
                     "pool_string_calls_per_second", "pool_bytes_throughput", "symbolize_frame_cost", "pool_crash_rate_vs_c_floor",
                     "triage_overhead"] {
            XCTAssertTrue(names.contains(name), "no target \(name) in \(names.sorted())")
        }
        for target in targets {
            let name = target["name"] as? String ?? "?"
            for key in ["name", "description", "measured", "limit", "pass", "verdict"] {
                XCTAssertTrue(target.keys.contains(key), "target \(name): no key \(key)")
            }
            if target["measured"] is NSNull {
                XCTAssertTrue(target["pass"] is NSNull, "target \(name) judged without a figure")
            } else {
                XCTAssertNotNil(target["pass"] as? Bool, "target \(name) measured but not judged")
            }
        }
    }

    /// `--only` measures the sections it names; every other target says it was not measured.
    func testOnlyMeasuresTheSectionsItNames() throws {
        let (report, _) = try runBench(["--json", "--quick", "--only", "signatures"])
        XCTAssertEqual((report["strategies"] as? [String: Any])?.count ?? -1, 0)
        let targets = try XCTUnwrap(report["targets"] as? [[String: Any]])
        for target in targets {
            let name = target["name"] as? String ?? "?"
            if ["signature_guard_overhead", "pool_string_calls_per_second", "pool_bytes_throughput"].contains(name) {
                XCTAssertFalse(target["measured"] is NSNull, "\(name) was selected")
            } else {
                XCTAssertTrue(target["measured"] is NSNull, "\(name) was not selected but measured")
            }
        }
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["bench", "--only", "nonsense"], timeout: 30)
        XCTAssertNotEqual(status, .exitCode(0))
        XCTAssertEqual(process.standardOutput, "")
        XCTAssertTrue(process.standardError.contains("unknown section 'nonsense'"), process.standardError)
    }

    /// `--only symbolize` names distinct offsets of a library it compiles with DWARF, cold, and judges
    /// `symbolize_frame_cost` on that figure (the timing itself is the bench's business).
    func testSymbolizeSectionMeasuresItsTarget() throws {
        let (report, _) = try runBench(["--json", "--quick", "--only", "symbolize"])
        let symbolize = try XCTUnwrap(report["symbolize"] as? [String: Any])
        let targets = try XCTUnwrap(report["targets"] as? [[String: Any]])
        let target = try XCTUnwrap(targets.first { $0["name"] as? String == "symbolize_frame_cost" }, "no symbolize_frame_cost")
        XCTAssertEqual((target["limit"] as? NSNumber)?.doubleValue, 50_000)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") else {
            XCTAssertTrue(target["measured"] is NSNull)
            XCTAssertNotNil(target["note"] as? String, "unmeasured without a reason: \(target)")
            return
        }
        XCTAssertGreaterThan(number(symbolize, "cold_lookup_ns", "symbolize") ?? 0, 0)
        XCTAssertGreaterThan(number(symbolize, "first_lookup_ns", "symbolize") ?? 0, 0)
        let offsets = number(symbolize, "offsets", "symbolize") ?? 0
        XCTAssertGreaterThan(offsets, 0)
        XCTAssertEqual(number(symbolize, "named_with_line", "symbolize"), offsets, "every offset gets a name and a line: \(symbolize)")
        XCTAssertEqual((target["measured"] as? NSNumber)?.doubleValue, number(symbolize, "cold_lookup_ns", "symbolize"))
        XCTAssertNotNil(target["pass"] as? Bool, "measured but not judged: \(target)")
    }

    /// The target of a section run alone: present, with its limit and comparison, judged on the
    /// figures of the section (the speed itself is the bench's business).
    private func sectionTarget(_ report: [String: Any], _ name: String, limit: Double, comparison: String,
                               file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let targets = try XCTUnwrap(report["targets"] as? [[String: Any]], file: file, line: line)
        let target = try XCTUnwrap(targets.first { $0["name"] as? String == name }, "no target \(name)", file: file, line: line)
        XCTAssertEqual((target["limit"] as? NSNumber)?.doubleValue, limit, file: file, line: line)
        XCTAssertEqual(target["comparison"] as? String, comparison, file: file, line: line)
        if target["measured"] is NSNull {
            XCTAssertNotNil(target["note"] as? String, "\(name) unmeasured without a reason: \(target)", file: file, line: line)
        } else {
            XCTAssertNotNil(target["pass"] as? Bool, "\(name) measured but not judged: \(target)", file: file, line: line)
        }
        return target
    }

    /// `--only crash-rate` measures the pool's crash rate and the C floor (faultline-floors) in
    /// alternating rounds and judges `pool_crash_rate_vs_c_floor` on their medians.
    func testCrashRateSectionMeasuresPoolAndFloorAndReportsItsTarget() throws {
        ProcessTable.becomeSubreaper()
        let before = Set(ProcessTable.descendants(of: getpid()).map(\.pid))
        let (report, _) = try runBench(["--json", "--quick", "--only", "crash-rate"])
        let left = ProcessTable.descendants(of: getpid()).filter { !before.contains($0.pid) }
        XCTAssertEqual(left, [], "left behind: \(left)")
        let figures = try XCTUnwrap(report["crash_rate"] as? [String: Any])
        let pool = number(figures, "pool_crashes_per_second", "crash_rate")
        let floor = number(figures, "floor_crashes_per_second", "crash_rate")
        XCTAssertGreaterThan(pool ?? 0, 0, "no pool figure: \(figures)")
        XCTAssertGreaterThan(floor ?? 0, 0, "no floor figure: \(figures)")
        XCTAssertEqual((figures["pool_rounds"] as? [Any])?.count, (figures["floor_rounds"] as? [Any])?.count, "\(figures)")
        let target = try sectionTarget(report, "pool_crash_rate_vs_c_floor", limit: 0.9, comparison: ">=")
        if let pool, let floor {
            XCTAssertEqual((target["measured"] as? NSNumber)?.doubleValue ?? 0, pool / floor, accuracy: 1e-3 * pool / floor)
        }
    }

    /// `--only triage` runs `faultline call` and `faultline triage --replays 0 --json` on the same
    /// inputs (3 bugs) and judges `triage_overhead` on the medians of their wall times.
    func testTriageSectionRunsBothCommandsAndReportsItsTarget() throws {
        let (report, _) = try runBench(["--json", "--quick", "--only", "triage"])
        let figures = try XCTUnwrap(report["triage"] as? [String: Any])
        XCTAssertGreaterThan(number(figures, "call_seconds", "triage") ?? 0, 0, "\(figures)")
        XCTAssertGreaterThan(number(figures, "triage_seconds", "triage") ?? 0, 0, "\(figures)")
        XCTAssertEqual(number(figures, "groups", "triage"), 3, "one group per bug: \(figures)")
        let inputs = number(figures, "inputs", "triage") ?? 0
        XCTAssertEqual(number(figures, "faults", "triage"), inputs / 20, "5 % faulting: \(figures)")
        let target = try sectionTarget(report, "triage_overhead", limit: 1.3, comparison: "<=")
        XCTAssertFalse(target["measured"] is NSNull, "\(target)")
    }

    func testHumanTableGoesToStdoutAndProgressToStderr() throws {
        let (process, status) = try ChildProcess.run(Fixtures.faultline,
                                                      ["bench", "--quick", "--no-peers", "--parent-mib", "8"], timeout: 240)
        XCTAssertEqual(status, .exitCode(0))
        XCTAssertTrue(process.standardOutput.contains("Targets"), process.standardOutput)
        XCTAssertTrue(process.standardError.contains("floors (C)"), process.standardError)
    }

    /// `--only sandbox` measures `--sandbox pure` against no sandbox and judges its three targets on those
    /// figures (whether they pass is the bench's business, not a test's).
    func testSandboxSectionReportsItsTargets() throws {
        ProcessTable.becomeSubreaper()
        let before = Set(ProcessTable.descendants(of: getpid()).map(\.pid))
        let (report, _) = try runBench(["--json", "--quick", "--only", "sandbox"])
        let left = ProcessTable.descendants(of: getpid()).filter { !before.contains($0.pid) }
        XCTAssertEqual(left, [], "left behind: \(left)")
        let sandbox = try XCTUnwrap(report["sandbox"] as? [String: Any], "no sandbox section")
        XCTAssertNil(sandbox["note"], "\(sandbox)")
        for key in ["pool_calls_per_second", "sandboxed_pool_calls_per_second", "pool_calls_ratio", "syscall_ns", "sandboxed_syscall_ns",
                    "worker_cycle_ns", "sandboxed_worker_cycle_ns", "pool_start_ns", "sandboxed_pool_start_ns"] {
            XCTAssertGreaterThan(number(sandbox, key, "sandbox") ?? 0, 0, "sandbox.\(key)")
        }
        let targets = try XCTUnwrap(report["targets"] as? [[String: Any]])
        let limits: [String: (Double, String)] = ["sandbox_pool_calls_ratio": (0.9, ">="), "sandbox_syscall_cost": (2, "<="),
                                                  "sandbox_worker_start": (1.5, "<=")]
        for (name, (limit, comparison)) in limits {
            let target = try XCTUnwrap(targets.first { $0["name"] as? String == name }, "no target \(name)")
            XCTAssertEqual((target["limit"] as? NSNumber)?.doubleValue, limit, name)
            XCTAssertEqual(target["comparison"] as? String, comparison, name)
            XCTAssertGreaterThan((target["measured"] as? NSNumber)?.doubleValue ?? 0, 0, "\(name): \(target)")
            XCTAssertNotNil(target["pass"] as? Bool, "\(name) measured but not judged")
        }
        XCTAssertEqual((targets.first { $0["name"] as? String == "sandbox_pool_calls_ratio" }?["measured"] as? NSNumber)?.doubleValue,
                       number(sandbox, "pool_calls_ratio", "sandbox"))
        // The other sections were not selected: their targets say so.
        XCTAssertTrue(targets.first { $0["name"] as? String == "pool_calls_per_second" }?["measured"] is NSNull)
    }
}
