import Foundation

/// The curated part of the report's Performance section, read from
/// `faultline bench --json`: the targets with their verdicts, the strategies
/// beside the C floors and the Python peers, and two charts. Every figure is
/// read from the JSON of the same run; missing figures show as "n/a".
enum BenchSummary {
    /// Markdown lines, or nil when the JSON is not an object.
    static func markdown(_ data: Data) -> [String]? {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        var out: [String] = []
        out += targets(root)
        out += strategies(root)
        out += charts(root)
        return out
    }

    // MARK: - Sections

    private static func targets(_ root: [String: Any]) -> [String] {
        guard let targets = root["targets"] as? [[String: Any]] else { return [] }
        var out = ["### Targets", "", "Each ratio is measured in this one run, against a baseline measured in the same run.", "",
                   "| | target | measured | verdict | how |", "|---|---|---|---|---|"]
        for target in targets {
            let pass = target["pass"] as? Bool
            let mark = pass == true ? "✅" : pass == false ? "❌" : "—"
            let unit = target["unit"] as? String ?? ""
            let measured = (target["measured"] as? Double).map { show($0, unit: unit) } ?? "n/a"
            out.append("| \(mark) | \(cell(target["description"])) | \(measured) | \(cell(target["verdict"])) | \(cell(target["detail"])) |")
        }
        let failing = targets.filter { ($0["pass"] as? Bool) == false }
        for target in failing {
            if let note = target["profile_note"] as? String {
                out.append("")
                out.append("*Why \(cell(target["name"])) is not met:* \(note)")
            }
        }
        return out + [""]
    }

    private static func strategies(_ root: [String: Any]) -> [String] {
        let rows = root["strategies"] as? [String: Any] ?? [:]
        var out = ["### Strategies, floors and peers", "",
                   "Calls per second on a callee that returns at once (`fl_identity`) and on mixes where 5 % or 25 % of the inputs fault "
                   + "(SIGSEGV, SIGFPE, SIGILL, SIGABRT, stack overflow, SIGBUS, exit), and the time from a fault to its outcome.", "",
                   "| strategy | calls/s | p50 per call | calls/s, 5 % faults | calls/s, 25 % faults | fault → outcome p50 |",
                   "|---|---|---|---|---|---|"]
        for name in ["direct", "guard", "fork", "fork_server", "pool"] {
            guard let row = rows[name] as? [String: Any], row["available"] as? Bool == true else {
                out.append("| \(name) | n/a | | | | |")
                continue
            }
            let workloads = row["workloads"] as? [String: Any] ?? [:]
            func rate(_ workload: String) -> String {
                guard let figures = workloads[workload] as? [String: Any], figures["available"] as? Bool == true,
                      let value = figures["calls_per_second"] as? Double else { return "—" }
                return showRate(value)
            }
            let p50 = (row["p50_ns"] as? Double).map { Format.seconds($0 / 1e9) } ?? "n/a"
            let recovery = (row["recovery_p50_ns"] as? Double).map { Format.seconds($0 / 1e9) } ?? "—"
            out.append("| \(name) | \(rate("identity")) | \(p50) | \(rate("mixed_5")) | \(rate("mixed_25")) | \(recovery) |")
        }
        if let peers = root["peers"] as? [String: Any], peers["available"] as? Bool == true {
            for (name, label) in [("pebble", "pebble ProcessPool (Python)"), ("process_pool_executor", "ProcessPoolExecutor (Python)"),
                                  ("python_fork", "fork per call (Python)")] {
                guard let peer = peers[name] as? [String: Any], peer["available"] as? Bool == true else { continue }
                let workloads = peer["workloads"] as? [String: Any] ?? [:]
                func rate(_ workload: String) -> String {
                    guard let figures = workloads[workload] as? [String: Any], let value = figures["calls_per_second"] as? Double else { return "—" }
                    return showRate(value)
                }
                let p50 = (peer["p50_ns"] as? Double).map { Format.seconds($0 / 1e9) } ?? "n/a"
                out.append("| \(label) | \(rate("identity")) | \(p50) | \(rate("mixed_5")) | \(rate("mixed_25")) | — |")
            }
        }
        out.append("")
        if let floors = root["floors"] as? [String: Any] {
            out += ["Floors, measured in C in the same run:", "", "| floor | p50 |", "|---|---|"]
            for (key, label) in [("plain_call_ns", "a plain call through a function pointer"),
                                 ("sigsetjmp_call_ns", "sigsetjmp(env, 0) + call"),
                                 ("guard_call_c_ns", "fl_guard_call (one sigsetjmp per call)"),
                                 ("fault_longjmp_ns", "fault + siglongjmp"),
                                 ("fault_longjmp_backtrace_ns", "fault + libunwind addresses + siglongjmp"),
                                 ("pipe_round_trip_ns", "pipe round trip to a live process"),
                                 ("fault_death_ns", "a child faults until its parent sees it die"),
                                 ("fork_waitpid_ns", "fork + waitpid")] {
                if let value = floors[key] as? Double { out.append("| \(label) | \(Format.seconds(value / 1e9)) |") }
            }
            out.append("")
        }
        if let unwinder = root["unwinder"] as? [String: Any], let confined = unwinder["confined_throw_ns"] as? Double,
           let global = unwinder["global_throw_ns"] as? Double {
            out.append("C++ throw/catch costs \(Format.seconds(confined / 1e9)) with libunwind loaded the way Faultline loads it "
                       + "(`dlopen(RTLD_LOCAL)`, the process keeps \(cell(unwinder["confined_unwinder"])) for `_Unwind_*`), and "
                       + "\(Format.seconds(global / 1e9)) with libunwind bound process-wide (\(Format.fixed(global / confined, digits: 1))× slower).")
            out.append("")
        }
        return out
    }

    private static func charts(_ root: [String: Any]) -> [String] {
        let rows = root["strategies"] as? [String: Any] ?? [:]
        let peers = root["peers"] as? [String: Any] ?? [:]
        func rate(_ object: Any?, _ workload: String) -> Double? {
            guard let object = object as? [String: Any], object["available"] as? Bool == true,
                  let figures = (object["workloads"] as? [String: Any])?[workload] as? [String: Any],
                  figures["available"] as? Bool ?? true else { return nil }
            return figures["calls_per_second"] as? Double
        }
        var out: [String] = []
        // Cost per call: log10 of nanoseconds, since the strategies span eight orders of magnitude.
        var labels: [String] = []
        var values: [String] = []
        let candidates: [(String, Double?)] = [
            ("direct", rate(rows["direct"], "identity")),
            ("guard (batch)", (rows["guard"] as? [String: Any])?["call_batch_ns"].flatMap { $0 as? Double }.map { 1e9 / $0 }),
            ("guard (one call)", (rows["guard"] as? [String: Any])?["p50_ns"].flatMap { $0 as? Double }.map { 1e9 / $0 }),
            ("pool (batch)", rate(rows["pool"], "identity")),
            ("fork server", rate(rows["fork_server"], "identity")),
            ("fork", rate(rows["fork"], "identity")),
            ("pebble (Py)", rate(peers["pebble"], "identity")),
            ("ProcessPoolExecutor (Py)", rate(peers["process_pool_executor"], "identity")),
            ("fork (Py)", rate(peers["python_fork"], "identity")),
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
        for (label, value) in [("pool", rate(rows["pool"], "mixed_25")), ("fork server", rate(rows["fork_server"], "mixed_25")),
                               ("fork", rate(rows["fork"], "mixed_25")), ("pebble (Py)", rate(peers["pebble"], "mixed_25")),
                               ("fork (Py)", rate(peers["python_fork"], "mixed_25"))] {
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

    private static func cell(_ value: Any?) -> String {
        String(describing: value.map { "\($0)" } ?? "").replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
