import FaultlineBenchResult
import Foundation

/// The curated part of the report's Performance section, read from
/// `faultline bench --json` (decoded into ``BenchReport``, the type the bench
/// writes): the targets with their verdicts, the strategies beside the C floors
/// and the Python peers, and two charts. Every figure is read from the JSON of
/// the same run; missing figures show as "n/a".
enum BenchSummary {
    /// Markdown lines, or nil when the JSON is not a bench report.
    static func markdown(_ data: Data) -> [String]? {
        guard let report = try? JSONDecoder().decode(BenchReport.self, from: data) else { return nil }
        var out: [String] = []
        out += targets(report)
        out += strategies(report)
        out += charts(report)
        return out
    }

    // MARK: - Sections

    private static func targets(_ report: BenchReport) -> [String] {
        var out = ["### Targets", "", "Each ratio is measured in this one run, against a baseline measured in the same run.", "",
                   "| | target | measured | verdict | how |", "|---|---|---|---|---|"]
        for target in report.targets {
            let mark = target.pass == true ? "✅" : target.pass == false ? "❌" : "—"
            let measured = target.measured.map { show($0, unit: target.unit) } ?? "n/a"
            out.append("| \(mark) | \(cell(target.description)) | \(measured) | \(cell(target.verdict)) | \(cell(target.detail)) |")
        }
        for target in report.targets where target.pass == false {
            if let note = target.profile {
                out.append("")
                out.append("*Why \(cell(target.name)) is not met:* \(note)")
            }
        }
        return out + [""]
    }

    /// Calls per second of a measured workload, when finite.
    private static func rate(_ figures: WorkloadFigures?) -> Double? {
        figures.map(\.callsPerSecond).flatMap { $0.isFinite ? $0 : nil }
    }

    /// Calls per second of a strategy that was measured, on one workload.
    private static func rate(_ report: BenchReport, strategy: String, _ workload: String) -> Double? {
        guard let row = report.strategy(strategy), row.unavailable == nil else { return nil }
        return rate(row.measurement(workload))
    }

    /// The identity p50 of a strategy that was measured (its `p50_ns`).
    private static func p50(_ report: BenchReport, strategy: String) -> Double? {
        guard let row = report.strategy(strategy), row.unavailable == nil else { return nil }
        return row.measurement("identity").map(\.latency.p50).flatMap { $0.isFinite ? $0 : nil }
    }

    private static func strategies(_ report: BenchReport) -> [String] {
        var out = ["### Strategies, floors and peers", "",
                   "Calls per second on a callee that returns at once (`fl_identity`) and on mixes where 5 % or 25 % of the inputs fault "
                   + "(SIGSEGV, SIGFPE, SIGILL, SIGABRT, stack overflow, SIGBUS, exit), and the time from a fault to its outcome.", "",
                   "| strategy | calls/s | p50 per call | calls/s, 5 % faults | calls/s, 25 % faults | fault → outcome p50 |",
                   "|---|---|---|---|---|---|"]
        for name in ["direct", "guard", "fork", "fork_server", "pool"] {
            guard let row = report.strategy(name), row.unavailable == nil else {
                out.append("| \(name) | n/a | | | | |")
                continue
            }
            func rate(_ workload: String) -> String {
                Self.rate(row.measurement(workload)).map { Self.showRate($0) } ?? "—"
            }
            let p50 = Self.p50(report, strategy: name).map { Format.seconds($0 / 1e9) } ?? "n/a"
            let recovery = row.recovery.map { Format.seconds($0.restored.p50 / 1e9) } ?? "—"
            out.append("| \(name) | \(rate("identity")) | \(p50) | \(rate("mixed_5")) | \(rate("mixed_25")) | \(recovery) |")
        }
        let peers = report.peers
        if peers.unavailable == nil {
            for (name, label) in [("pebble", "pebble ProcessPool (Python)"), ("process_pool_executor", "ProcessPoolExecutor (Python)"),
                                  ("python_fork", "fork per call (Python)")] {
                guard let peer = peers.peers.first(where: { $0.0 == name }), peer.1.first?.0 != "*" else { continue }
                func rate(_ workload: String) -> String {
                    Self.rate(peers.measurement(name, workload)).map { Self.showRate($0) } ?? "—"
                }
                let p50 = peers.measurement(name, "identity").map { Format.seconds($0.latency.p50 / 1e9) } ?? "n/a"
                out.append("| \(label) | \(rate("identity")) | \(p50) | \(rate("mixed_5")) | \(rate("mixed_25")) | — |")
            }
        }
        out.append("")
        let floors = report.floors
        out += ["Floors, measured in C in the same run (in the bench's own process):", "", "| floor | p50 |", "|---|---|"]
        for (value, label) in [(floors.plainCall, "a plain call through a function pointer"),
                               (floors.sigsetjmpCall, "sigsetjmp(env, 0) + call"),
                               (floors.guardCall, "fl_guard_call (one sigsetjmp per call)"),
                               (floors.faultLongjmp?.p50, "fault + siglongjmp"),
                               (floors.faultLongjmpBacktrace?.p50, "fault + libunwind addresses + siglongjmp"),
                               (floors.pipeRoundTrip?.p50, "pipe round trip to a live process"),
                               (floors.faultDeath?.p50, "a child faults until its parent sees it die"),
                               (floors.forkWaitpid?.p50, "fork + waitpid")] {
            if let value { out.append("| \(label) | \(Format.seconds(value / 1e9)) |") }
        }
        out.append("")
        if let limit = report.limitFloors, limit.available {
            out += ["Floors at the limit of this machine, measured in a minimal C process (`faultline-floors`) in the same run:", "",
                    "| floor | p50 | p99 |", "|---|---|---|"]
            for (name, figure) in limit.figures {
                guard let figure else { continue }
                out.append("| \(name) | \(Format.seconds(figure.p50 / 1e9)) | \(Format.seconds(figure.p99 / 1e9)) |")
            }
            out.append("")
        }
        let unwinder = report.unwinder
        if let confined = unwinder.confinedThrowNs, let global = unwinder.globalThrowNs {
            out.append("C++ throw/catch costs \(Format.seconds(confined / 1e9)) with libunwind loaded the way Faultline loads it "
                       + "(`dlopen(RTLD_LOCAL)`, the process keeps \(cell(unwinder.confinedUnwinder ?? "")) for `_Unwind_*`), and "
                       + "\(Format.seconds(global / 1e9)) with libunwind bound process-wide (\(Format.fixed(global / confined, digits: 1))× slower).")
            out.append("")
        }
        return out
    }

    private static func charts(_ report: BenchReport) -> [String] {
        let peers = report.peers
        func peerRate(_ name: String, _ workload: String) -> Double? { rate(peers.measurement(name, workload)) }
        var out: [String] = []
        // Cost per call: log10 of nanoseconds, since the strategies span eight orders of magnitude.
        var labels: [String] = []
        var values: [String] = []
        let candidates: [(String, Double?)] = [
            ("direct", rate(report, strategy: "direct", "identity")),
            ("guard (batch)", report.strategy("guard")?.extraNumber("call_batch_ns").map { 1e9 / $0 }),
            ("guard (one call)", p50(report, strategy: "guard").map { 1e9 / $0 }),
            ("pool (batch)", rate(report, strategy: "pool", "identity")),
            ("fork server", rate(report, strategy: "fork_server", "identity")),
            ("fork", rate(report, strategy: "fork", "identity")),
            ("pebble (Py)", peerRate("pebble", "identity")),
            ("ProcessPoolExecutor (Py)", peerRate("process_pool_executor", "identity")),
            ("fork (Py)", peerRate("python_fork", "identity")),
        ]
        for (label, callsPerSecond) in candidates {
            guard let callsPerSecond, callsPerSecond > 0 else { continue }
            labels.append("\"\(label)\"")
            values.append(Format.fixed(log10(1e9 / callsPerSecond), digits: 2))
        }
        if !labels.isEmpty {
            out += ["Cost per call of a callee that returns at once, as log10 of nanoseconds (1 = 10 ns, 3 = 1 µs, 6 = 1 ms):", "",
                    "```mermaid", "xychart-beta", "    title \"Cost per call (log10 ns)\"",
                    "    x-axis [\(labels.joined(separator: ", "))]", "    y-axis \"log10(ns per call)\" 0 --> 7",
                    "    bar [\(values.joined(separator: ", "))]", "```", ""]
        }
        // Throughput when a quarter of the inputs crash.
        labels = []
        values = []
        for (label, value) in [("pool", rate(report, strategy: "pool", "mixed_25")),
                               ("fork server", rate(report, strategy: "fork_server", "mixed_25")),
                               ("fork", rate(report, strategy: "fork", "mixed_25")), ("pebble (Py)", peerRate("pebble", "mixed_25")),
                               ("fork (Py)", peerRate("python_fork", "mixed_25"))] {
            guard let value else { continue }
            labels.append("\"\(label)\"")
            values.append(Format.fixed(value, digits: 0))
        }
        if !labels.isEmpty {
            out += ["Calls per second when 25 % of the inputs crash (every crash ends a worker process):", "",
                    "```mermaid", "xychart-beta", "    title \"Calls/s with 25 % faulting inputs\"",
                    "    x-axis [\(labels.joined(separator: ", "))]", "    y-axis \"calls per second\"",
                    "    bar [\(values.joined(separator: ", "))]", "```", ""]
        }
        return out
    }

    // MARK: - Formatting

    private static func show(_ value: Double, unit: String) -> String {
        switch unit {
        case "ns": return Format.seconds(value / 1e9)
        case "ratio": return Format.fixed(value, digits: 2) + "×"
        case "calls/s": return showRate(value)
        default: return Format.fixed(value, digits: 2) + " " + unit
        }
    }

    private static func showRate(_ value: Double) -> String {
        if value >= 1e6 { return Format.fixed(value / 1e6, digits: 1) + "M/s" }
        if value >= 1e4 { return Format.fixed(value / 1e3, digits: 1) + "k/s" }
        return Format.fixed(value, digits: 0) + "/s"
    }

    private static func cell(_ value: String) -> String {
        value.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
