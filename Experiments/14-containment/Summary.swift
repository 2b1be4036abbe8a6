import ExperimentKit
import Foundation

/// What the experiment's listener and UDP socket received, per column (every row counted).
struct Network {
    var connections: [String: Int] = [:]
    var datagrams: [String: Int] = [:]

    /// Sums the cells' observations (keys `row/column`).
    init(_ seen: [String: Observed]) {
        for (key, observed) in seen {
            let column = String(key[key.index(after: key.firstIndex(of: "/")!)...])
            connections[column, default: 0] += observed.connections
            datagrams[column, default: 0] += observed.datagrams
        }
    }
}

/// `pure-read` as a measurement key: `pure_read`.
private func keyPart(_ column: String) -> String { column.replacingOccurrences(of: "-", with: "_") }

/// The summary lines of the report, every figure from the grid and the costs.
func summarize(_ grid: Grid, network: Network, costs: SetupCosts, elapsed: Double) -> [String] {
    var lines = ["\(grid.rows.count) behaviours × \(grid.columns.count) callers = \(grid.cells.count) cells in \(Format.seconds(elapsed)), one fresh caller per cell"]
    for column in columns {
        let tally = grid.tally(column: column.key)
        let total = grid.cells.filter { $0.column == column.key }.count
        if tally[.unavailable] == total, let reason = grid.cells.first(where: { $0.column == column.key })?.text {
            lines.append("\(column.label): not run here (\(reason))")
            continue
        }
        let counts = GridVerdict.allCases.compactMap { verdict in tally[verdict].map { "\($0) \(verdict.rawValue)" } }
        lines.append("\(column.label): " + counts.joined(separator: ", ") + " of \(total)")
    }
    for column in columns where column.sandbox != nil {
        let cells = grid.cells.filter { $0.column == column.key && $0.verdict == .contained }
        let violations = cells.filter { $0.text.hasPrefix("violation") }
        let errnos = cells.filter { $0.text.hasPrefix("returned") }
        let limits = cells.count - violations.count - errnos.count
        let calls = Set(violations.compactMap { $0.text.split(separator: " ").dropFirst().first.map { String($0.prefix { $0 != "(" }) } }).sorted()
        lines.append("\(column.label): \(cells.count) contained — \(violations.count) as a violation (\(calls.joined(separator: ", "))), \(errnos.count) denied with an errno, \(limits) ended by a limit")
    }
    lines.append("connections the TCP listener accepted: " + columns.map { "\($0.key) \(network.connections[$0.key] ?? 0)" }.joined(separator: ", ")
                 + "; datagrams the UDP socket read: " + columns.map { "\($0.key) \(network.datagrams[$0.key] ?? 0)" }.joined(separator: ", "))
    let secret = columns.filter { grid.cell(row: "read-secret", column: $0.key)?.text.contains("secret read") == true }.map(\.key)
    lines.append("the secret was read by: " + (secret.isEmpty ? "no caller's callee" : secret.joined(separator: ", ")))
    let escaped = grid.cells.filter { $0.verdict == .escaped }
    lines.append(escaped.isEmpty ? "nothing escaped a sandbox" : "escaped a sandbox: " + escaped.map { "\($0.row) × \($0.column)" }.joined(separator: ", "))
    if let failure = costs.failure {
        lines.append("a worker's start was not measured: \(failure)")
    } else if let base = costs.freshWorkerNs["none"], let baseStart = costs.poolStartNs["none"] {
        let sandboxed = columns.filter { $0.sandbox != nil }.compactMap { column -> String? in
            guard let fresh = costs.freshWorkerNs[column.key], let start = costs.poolStartNs[column.key] else { return nil }
            return "\(column.key) \(Format.seconds(fresh / 1e9)) (\(Format.fixed(fresh / base, digits: 2))×), pool start \(Format.seconds(start / 1e9)) (\(Format.fixed(start / baseStart, digits: 2))×)"
        }
        lines.append("a call in a fresh worker: no sandbox \(Format.seconds(base / 1e9)), pool start \(Format.seconds(baseStart / 1e9)); " + sandboxed.joined(separator: "; "))
    }
    return lines
}

/// The figures a test (or a reader of the JSON) looks up.
func record(_ grid: Grid, network: Network, costs: SetupCosts, into result: inout ExperimentResult) {
    result.measure("cells", Double(grid.cells.count), "count", "cells run")
    for column in columns {
        let key = keyPart(column.key)
        for verdict in [GridVerdict.contained, .reached, .escaped, .failed, .hang, .unavailable] {
            let count = grid.cells.filter { $0.column == column.key && $0.verdict == verdict }.count
            result.measure("\(key)_\(verdict.rawValue)", Double(count), "count", "\(column.label): cells judged \(verdict.rawValue)")
        }
        result.measure("connections_\(key)", Double(network.connections[column.key] ?? 0), "count", "\(column.label): connections the TCP listener accepted")
        result.measure("datagrams_\(key)", Double(network.datagrams[column.key] ?? 0), "count", "\(column.label): datagrams the UDP socket read")
        if let fresh = costs.freshWorkerNs[column.key] {
            result.measure("fresh_worker_call_\(key)", fresh / 1e9, "s", "\(column.label): a call in a fresh worker (fork, set-up, sandbox, call, exit)")
        }
        if let start = costs.poolStartNs[column.key] {
            result.measure("pool_start_\(key)", start / 1e9, "s", "\(column.label): a 1-worker pool's creation to its first result")
        }
    }
}
