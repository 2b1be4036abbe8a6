#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import ExperimentKit
import Faultline
import FaultlineHarness

/// What a sandboxed worker's start costs against an unsandboxed one's, for
/// each pool column, in alternating rounds (medians):
///
/// - one call in a fresh worker, calls back to back (`recycleAfter: 1`, the
///   fork server): each call is a worker's whole life — forked by the helper,
///   set up, sandboxed (rlimits, setns, Landlock, seccomp), one call, exit;
/// - a 1-worker pool from `WorkerPool(…)` to its first result: once per pool,
///   the helper's start, and with a sandbox the program built, the network
///   namespace made and the probe run.
struct SetupCosts {
    /// Column key → median ns per call in a fresh worker.
    var freshWorkerNs: [String: Double] = [:]
    /// Column key → median ns from a pool's creation to its first result.
    var poolStartNs: [String: Double] = [:]
    /// Rounds, calls per round of the fresh-worker figure.
    var rounds = 0
    var callsPerRound = 0
    /// Why nothing was measured.
    var failure: String?

    /// Measures the pool columns of `columns`.
    static func measure(_ columns: [Column], outside: Outside, rounds: Int = 9, callsPerRound: Int = 100) -> SetupCosts {
        var costs = SetupCosts(rounds: rounds, callsPerRound: callsPerRound)
        let pools = columns.filter { !$0.pebble }
        var fresh: [String: [Double]] = [:], start: [String: [Double]] = [:]
        do {
            let servers = try pools.map { column in
                try WorkerPool(library: Victims.library, symbol: "fl_identity",
                               configuration: .init(workers: 1, timeout: .seconds(10), recycleAfter: 1, sandbox: column.sandbox?(outside)))
            }
            defer { servers.forEach { $0.shutdown() } }
            for server in servers { _ = try server.call(1) }
            for round in 0..<rounds {
                // Each round in another order, so that no column always follows the same one.
                let order = round % 2 == 0 ? Array(pools.indices) : pools.indices.reversed()
                for index in order {
                    let key = pools[index].key
                    let began = fl_now_ns()
                    for call in 0..<callsPerRound {
                        guard try servers[index].call(Int32(call)).returnedValue == Int32(call) else {
                            throw UsageError("fl_identity did not return its input in a fresh worker (\(key))")
                        }
                    }
                    fresh[key, default: []].append(Double(fl_now_ns() - began) / Double(callsPerRound))
                    let created = fl_now_ns()
                    let pool = try WorkerPool(library: Victims.library, symbol: "fl_identity",
                                              configuration: .init(workers: 1, timeout: .seconds(10), sandbox: pools[index].sandbox?(outside)))
                    defer { pool.shutdown() }
                    guard try pool.call(7).returnedValue == 7 else { throw UsageError("a new pool did not return its input (\(key))") }
                    start[key, default: []].append(Double(fl_now_ns() - created))
                }
            }
        } catch {
            costs.failure = "\(error)"
            return costs
        }
        costs.freshWorkerNs = fresh.mapValues(median)
        costs.poolStartNs = start.mapValues(median)
        return costs
    }

    /// The table of the report: each figure, and its ratio to the column without a sandbox.
    func table(_ columns: [Column]) -> String {
        var lines = ["| pool | one call in a fresh worker | ratio | a 1-worker pool's creation to its first result | ratio |", "|---|---|---|---|---|"]
        let freshBase = freshWorkerNs["none"], startBase = poolStartNs["none"]
        for column in columns where !column.pebble {
            guard let fresh = freshWorkerNs[column.key], let start = poolStartNs[column.key] else { continue }
            let ratio = { (value: Double, base: Double?) in base.map { Format.fixed(value / $0, digits: 2) + "×" } ?? "—" }
            lines.append("| \(column.label) | \(Format.seconds(fresh / 1e9)) | \(ratio(fresh, freshBase)) | \(Format.seconds(start / 1e9)) | \(ratio(start, startBase)) |")
        }
        return lines.joined(separator: "\n")
    }
}

/// The median of `values` (0 when empty).
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
