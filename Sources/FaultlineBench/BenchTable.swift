import FaultlineBenchResult
/// The human-readable form of a bench report: aligned tables in plain text.
enum BenchTable {
    /// The whole report as text.
    static func render(_ report: BenchReport) -> String {
        var out: [String] = []
        let run = report.run
        out.append("faultline bench: \(showNumber(run.elapsedSeconds)) s (budget \(showNumber(run.budgetSeconds)) s\(run.quick ? ", quick" : "")), "
            + "\(run.cores) cores, Linux \(run.kernel), THP \(run.transparentHugePages), \(run.workers) workers")
        out.append("library: \(run.library)")
        out.append("")

        out.append("Strategies (latency per call; '/N' = mean over batches of N calls)")
        var rows: [[String]] = [["strategy", "workload", "calls/s", "p50", "p99", "faults"]]
        for row in report.strategies {
            if let reason = row.unavailable {
                rows.append([row.name, "-", reason, "", "", ""])
                continue
            }
            for (workload, cell) in row.workloads {
                switch cell {
                case .measured(let m):
                    let batch = m.batch > 1 ? " /\(m.batch)" : ""
                    rows.append([row.name, workload, showRate(m.callsPerSecond), showNs(m.latency.p50) + batch,
                                 showNs(m.latency.p99) + batch, "\(m.faults)/\(m.calls)"])
                case .skipped(let reason):
                    rows.append([row.name, workload, reason, "", "", ""])
                }
            }
        }
        out += table(rows)
        out.append("")

        out.append("Crash recovery (fault → outcome delivered → capacity restored)")
        rows = [["strategy", "outcome p50", "outcome p99", "restored p50", "restored p99", "how"]]
        for row in report.strategies {
            if let recovery = row.recovery {
                rows.append([row.name, showNs(recovery.outcome.p50), showNs(recovery.outcome.p99), showNs(recovery.restored.p50),
                             showNs(recovery.restored.p99), recovery.method])
            } else {
                rows.append([row.name, "", "", "", "", row.unavailable ?? row.recoveryNote ?? "not measured"])
            }
        }
        out += table(rows)
        let floors = report.floors
        out.append("guard with backtrace addresses: p50 \(showNs(floors.faultLongjmpBacktrace?.p50)), "
            + "p99 \(showNs(floors.faultLongjmpBacktrace?.p99))")
        out.append("")

        out.append("Floors (C)")
        out += table([
            ["floor", "figure"],
            ["plain call", showNs(floors.plainCall)],
            ["sigsetjmp + call", showNs(floors.sigsetjmpCall)],
            ["fl_guard_call (C loop)", showNs(floors.guardCall)],
            ["fault + siglongjmp", "p50 \(showNs(floors.faultLongjmp?.p50)), p99 \(showNs(floors.faultLongjmp?.p99))"],
            ["fault + backtrace + siglongjmp", "p50 \(showNs(floors.faultLongjmpBacktrace?.p50)), p99 \(showNs(floors.faultLongjmpBacktrace?.p99))"],
            ["fork + waitpid", "p50 \(showNs(floors.forkWaitpid?.p50)), p99 \(showNs(floors.forkWaitpid?.p99))"],
            ["pipe round trip to a live process", "p50 \(showNs(floors.pipeRoundTrip?.p50)), p99 \(showNs(floors.pipeRoundTrip?.p99))"],
            ["fault → parent sees the death", "p50 \(showNs(floors.faultDeath?.p50)), p99 \(showNs(floors.faultDeath?.p99))"],
        ])
        out.append("")

        out.append("Floors at the limit (a minimal C process, faultline-floors)")
        if let limit = report.limitFloors, limit.available {
            out += table([["floor", "p50", "p99"]] + limit.figures.map { name, figure in
                [String(name.map { $0 == "_" ? " " : $0 }), showNs(figure?.p50), showNs(figure?.p99)]
            })
            out.append("  fork crash unwind (2 forkers, a child per crash walks with libunwind): \(showRate(limit.forkCrashUnwindPerSecond)) crashes")
        } else {
            out.append("  not measured: \(report.limitFloors?.reason ?? "no faultline-floors run")")
        }
        out.append("")

        let cost = report.forkCost
        out.append("Fork cost by parent size (p50 per call)")
        rows = [["parent", "RSS", "fork+waitpid", "ForkStrategy", "fork server"]]
        func forkRow(_ label: String, _ figures: ForkFigures) -> [String] {
            [label, figures.parentResidentBytes.map { "\($0 >> 20) MiB" } ?? "n/a", showNs(figures.forkWaitpid?.p50),
             showNs(figures.forkStrategy?.p50), figures.forkServer.map { showNs($0.p50) } ?? (figures.forkServerNote ?? "n/a")]
        }
        rows.append(forkRow("small (this process)", cost.small))
        if let large = cost.large {
            rows.append(forkRow("large (\(cost.largeParentBytes >> 20) MiB touched)", large))
        } else {
            rows.append(["large", cost.largeNote ?? "not measured", "", "", ""])
        }
        out += table(rows)
        out.append("")

        let rss = report.rss
        out.append("Peak RSS: supervisor (this process) \(mib(rss.supervisorPeak)), now \(mib(rss.supervisorCurrent)); "
            + (rss.workerPeak != nil
                ? "largest worker \(mib(rss.workerPeak)), \(rss.workerCount) workers \(mib(rss.workersTotal)) in all, "
                    + "helper \(mib(rss.helperPeak))"
                : "workers: \(rss.workerNote ?? "n/a")"))
        out.append("")

        let unwinder = report.unwinder
        out.append("C++ throw/catch (fl_cxx_throw_catch): libunwind loaded RTLD_LOCAL as Faultline does \(showNs(unwinder.confinedThrowNs)) "
            + "(_Unwind_RaiseException from \(unwinder.confinedUnwinder ?? "n/a")); bound process-wide (LD_PRELOAD) "
            + "\(showNs(unwinder.globalThrowNs)) (from \(unwinder.globalUnwinder ?? "n/a")): \(showNumber(unwinder.ratio))× slower"
            + (unwinder.note.map { "; \($0)" } ?? ""))
        out.append("")

        let symbolize = report.symbolize
        out.append("Source-level names (SourceSymbolizer, libdwfl): cold per distinct offset \(showNs(symbolize.coldLookupNs)), "
            + "first look-up of an image \(showNs(symbolize.firstLookupNs)), cached \(showNs(symbolize.warmLookupNs))"
            + (symbolize.note.map { "; \($0)" } ?? ""))
        out.append("")

        let crash = report.crashRate
        if crash.crashes > 0 {
            out.append("Crash rate, \(crash.crashes) crashes per round, rounds alternating: pool (\(crash.workers) workers) "
                + "\(showRate(crash.poolCrashesPerSecond)), C floor (faultline-floors fork_crash_unwind) \(showRate(crash.floorCrashesPerSecond))"
                + ((crash.poolNote ?? crash.floorNote).map { "; \($0)" } ?? ""))
            out.append("")
        }
        let triage = report.triage
        if triage.inputs > 0 {
            out.append("faultline triage --replays 0 --json \(showNs(triage.triageSeconds.map { $0 * 1e9 })), faultline call "
                + "\(showNs(triage.callSeconds.map { $0 * 1e9 })) (\(triage.inputs) inputs, \(triage.faults) faulting, medians)"
                + (triage.note.map { "; \($0)" } ?? ""))
            out.append("")
        }

        let peers = report.peers
        out.append("Python peers (\(peers.python.map { "Python " + $0 } ?? "no python"), same library, \(run.workers) workers)")
        if let reason = peers.unavailable {
            out.append("  " + reason)
        } else {
            rows = [["peer", "workload", "calls/s", "p50", "p99", "faults"]]
            for (peer, workloads) in peers.peers {
                for (workload, cell) in workloads {
                    switch cell {
                    case .measured(let m):
                        rows.append([peer, workload, showRate(m.callsPerSecond), showNs(m.latency.p50), showNs(m.latency.p99),
                                     "\(m.faults)/\(m.calls)"])
                    case .skipped(let reason):
                        rows.append([peer, workload == "*" ? "-" : workload, reason, "", "", ""])
                    }
                }
            }
            out += table(rows)
        }
        out.append("")

        out.append("Targets")
        rows = [["", "target", "measured", "verdict", "detail"]]
        let targets = report.targets
        for target in targets {
            let mark = target.pass.map { $0 ? "PASS" : "FAIL" } ?? "n/a"
            let measured: String
            switch target.unit {
            case "ratio": measured = target.measured.map { "\(showNumber($0))×" } ?? "n/a"
            case "ns": measured = showNs(target.measured)
            default: measured = showRate(target.measured)
            }
            let detail = target.detail + (target.note.map { " [\($0)]" } ?? "")
            rows.append([mark, target.description, measured, target.verdict, detail])
        }
        out += table(rows)
        let profiled = targets.filter { $0.pass == false && $0.profile != nil }
        if !profiled.isEmpty {
            out.append("")
            out.append("Where the cost is (from profiling the failing targets)")
            for target in profiled { out.append("  \(target.name): \(target.profile!)") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// `12 MiB`, or `n/a`.
    static func mib(_ bytes: Int?) -> String {
        guard let bytes else { return "n/a" }
        return "\(showNumber(Double(bytes) / 1_048_576)) MiB"
    }

    /// Left-aligned columns separated by two spaces; the last column is not padded.
    static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() where index < columns - 1 {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return rows.map { row in
            var line = "  "
            for (index, cell) in row.enumerated() {
                line += index < columns - 1 ? cell.benchPadded(to: widths[index]) + "  " : cell
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }
}

extension String {
    /// The string padded with spaces to `width` characters.
    func benchPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
