import FaultlineBenchResult
import CFaultline
import Faultline
import FaultlineHarness
#if canImport(Glibc)
import Glibc
#endif

/// Fork cost with a large parent. The bench does not grow itself: it starts
/// `faultline bench --large-parent-probe`, which maps and touches N bytes of
/// ordinary 4 KiB pages (MADV_NOHUGEPAGE: a heap of small pages, the case
/// where fork has the most page tables to copy), measures raw fork+waitpid,
/// ForkStrategy and the fork server there, and prints `key value` lines.
/// The probe runs under a deadline and is killed with its process group.
enum LargeParent {
    /// Spawns the probe and reads its figures. Never throws: a failure becomes `ForkCost.largeNote`.
    static func measure(executable: String, library: String, bytes: Int, seconds: Double, into cost: inout ForkCost) {
        cost.largeParentBytes = bytes
        let arguments = ["bench", "--large-parent-probe", "--parent-mib", String(bytes >> 20),
                         "--library", library, "--seconds", String(seconds)]
        // Touching memory takes about 0.3 s per GiB; each fork of a large parent tens of ms.
        let deadline = seconds * 3 + Double(bytes >> 30) * 5 + 30
        let result: (process: ChildProcess, status: ExitStatus?)
        do {
            result = try BenchChildren.run(executable, arguments, timeout: deadline)
        } catch {
            cost.largeNote = "not available: cannot start the probe: \(error)"
            return
        }
        guard let status = result.status else {
            cost.largeNote = "not available: the probe passed its deadline of \(Int(deadline)) s and was killed"
            return
        }
        let (values, notes) = BenchChildren.keyValues(result.process.standardOutput)
        guard status == .exitCode(0), values["fork_waitpid_p50_ns"] != nil else {
            let lastError = result.process.standardError.split(separator: "\n").last.map(String.init) ?? ""
            cost.largeNote = "not available: the probe ended with \(status): \(lastError)"
            return
        }
        func summary(_ prefix: String) -> LatencySummary? {
            guard let p50 = values[prefix + "_p50_ns"], let p99 = values[prefix + "_p99_ns"] else { return nil }
            return LatencySummary(count: Int(values[prefix + "_samples"] ?? 0), p50: p50, p99: p99,
                                  mean: values[prefix + "_mean_ns"] ?? p50, max: values[prefix + "_max_ns"] ?? p99)
        }
        cost.large = ForkFigures(parentResidentBytes: values["parent_rss_bytes"].map { Int($0) },
                                 forkWaitpid: summary("fork_waitpid"), forkStrategy: summary("fork"),
                                 forkServer: summary("fork_server"), forkServerNote: notes["fork_server_note"])
    }

    /// The probe itself (`--large-parent-probe`): allocate and touch, measure, print. Returns the exit status.
    static func probe(library: String, bytes: Int, seconds: Double, output: any BenchOutput) -> Int32 {
        guard let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED else {
            BenchLog.write("probe: mmap of \(bytes) bytes failed: \(String(cString: strerror(errno)))")
            return 1
        }
        _ = madvise(memory, bytes, MADV_NOHUGEPAGE)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let base = memory.assumingMemoryBound(to: UInt8.self)
        var offset = 0
        while offset < bytes {
            base[offset] = 1
            offset += page
        }
        let victims: Victims
        do {
            victims = try Victims(library: library)
        } catch {
            BenchLog.write("probe: \(error)")
            return 1
        }
        let budget = Budget(seconds: seconds)
        var lines: [String] = ["parent_rss_bytes \(ProcessTable.residentBytes() ?? 0)"]
        func add(_ prefix: String, _ summary: LatencySummary?) {
            guard let summary else { return }
            lines += ["\(prefix)_p50_ns \(summary.p50)", "\(prefix)_p99_ns \(summary.p99)",
                      "\(prefix)_mean_ns \(summary.mean)", "\(prefix)_max_ns \(summary.max)",
                      "\(prefix)_samples \(summary.count)"]
        }
        let pair = StrategyBench.forkPair(ForkStrategy(victims.identity), seconds: budget.seconds(4), chunk: 5)
        add("fork_waitpid", pair.raw)
        add("fork", pair.strategy)
        let (server, note) = PoolBench.forkServerLatency(library: library, seconds: budget.seconds(2))
        add("fork_server", server)
        if let note { lines.append("fork_server_note \(note)") }
        // Keep the memory resident until every figure is taken.
        if base[bytes / 2] != 1 { lines.append("memory_note the touched memory changed") }
        output.write(lines.joined(separator: "\n"))
        munmap(memory, bytes)
        return 0
    }
}
