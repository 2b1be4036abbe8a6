import ArgumentParser
import CFaultline
import Faultline
import FaultlineHarness
#if canImport(Glibc)
import Glibc
#endif

/// `faultline bench [--json] [--seconds N | --long | --quick] [--library PATH] [--workers N]`
///
/// Measures every strategy against the C floors and the Python peers in one
/// run, and judges the targets. Progress goes to stderr; stdout carries the
/// table, or with `--json` one JSON object and nothing else.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the strategies, the C floors and the Python peers; judge the targets.",
        discussion: """
        Per strategy (direct, guard, fork, pool, fork_server): calls per second and per-call latency \
        p50/p99 on fl_identity and on fl_mixed with 5% and 25% of the inputs faulting (SIGSEGV, \
        SIGFPE, SIGILL, SIGABRT, stack overflow, SIGBUS, exit(7)); crash recovery; peak RSS; fork \
        cost with a small and a large (1 GiB) parent. Floors in C: plain call, sigsetjmp + call, \
        fault + siglongjmp, fork + waitpid, pipe round trip. Python peers when python3 is present: \
        pebble's ProcessPool (if importable), ProcessPoolExecutor (non-faulting calls), fork per call. C++ throw/catch with libunwind loaded as Faultline loads it (RTLD_LOCAL) and bound process-wide.

        A default run takes about a minute. Figures are medians of one run on this machine; \
        compare ratios, not absolute numbers, across machines.
        """
    )

    @Flag(help: "Print one JSON object with every figure on stdout, and nothing else there.")
    var json = false

    @Option(help: "Time budget of the whole run in seconds (default 60; about that long in all).")
    var seconds: Double?

    @Flag(help: "A longer run (300 s) for steadier figures.")
    var long = false

    @Flag(help: "A tiny run (a few seconds, a 64 MiB 'large' parent) that checks the machinery, not the speed.")
    var quick = false

    @Option(help: "The victims library (default: libFaultlineVictims.so next to this executable).")
    var library: String?

    @Option(help: "Worker processes of the pool rows and the Python pools.")
    var workers: Int = 2

    @Option(name: .customLong("parent-mib"), help: "Size of the large parent in MiB (default 1024; 64 with --quick).")
    var parentMiB: Int?

    @Flag(name: .customLong("no-peers"), help: "Skip the Python peers.")
    var noPeers = false

    @Flag(name: .customLong("large-parent-probe"), help: .hidden)
    var largeParentProbe = false

    @Flag(name: .customLong("unwinder-probe"), help: .hidden)
    var unwinderProbe = false

    func validate() throws {
        if let seconds, !(seconds > 0 && seconds <= 86_400) {
            throw ValidationError("--seconds must be between 0 and 86400, got \(seconds)")
        }
        if workers < 1 || workers > 256 { throw ValidationError("--workers must be between 1 and 256, got \(workers)") }
        if let parentMiB, parentMiB < 1 || parentMiB > 65_536 {
            throw ValidationError("--parent-mib must be between 1 and 65536, got \(parentMiB)")
        }
        if [long, quick, seconds != nil].filter({ $0 }).count > 1 {
            throw ValidationError("use at most one of --seconds, --long and --quick")
        }
    }

    func run() throws {
        let executable = Self.executablePath()
        let library = self.library ?? (Self.folder(of: executable) + "/libFaultlineVictims.so")
        let budgetSeconds = seconds ?? (quick ? 3 : long ? 300 : 60)
        let parentBytes = (parentMiB ?? (quick ? 64 : 1024)) << 20
        // Our figures go to the real stdout; anything printed in this process
        // (a callee under the guard, a library constructor) goes to stderr.
        let output = OutputStream.claimStandardOutput()
        if largeParentProbe {
            let status = LargeParent.probe(library: library, bytes: parentBytes, seconds: budgetSeconds, output: output)
            output.flush()
            Glibc.exit(status)
        }
        if unwinderProbe {
            let status = Unwinder.probe(library: library, seconds: min(budgetSeconds / 20, 2), output: output)
            Glibc.exit(status)
        }
        let victims = try Victims(library: library)
        BenchChildren.killOnStop()
        let budget = Budget(seconds: budgetSeconds)
        let started = fl_now_ns()
        var report = BenchReport(run: RunInfo(
            budgetSeconds: budgetSeconds, quick: quick, workers: workers, library: library,
            cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), kernel: Self.kernelRelease(),
            transparentHugePages: Self.transparentHugePages()))

        progress("floors (C): plain call, sigsetjmp, fault + siglongjmp, pipe round trip")
        report.floors = FloorBench.measure(identity: victims.identity.pointer, faulting: victims.faulting.pointer,
                                           budget: budget)
        progress("direct")
        report.strategies.append(StrategyBench.direct(victims, budget: budget))
        // Fork before the guard: the guard's stack overflows leave 8 MiB of stack resident in
        // this process, and every later fork would copy its page tables.
        progress("fork per call, interleaved with raw fork + waitpid")
        let fork = StrategyBench.fork(victims, budget: budget)
        report.floors.forkWaitpid = fork.pair.raw
        report.forkCost.small = ForkFigures(parentResidentBytes: ProcessTable.residentBytes(),
                                            forkWaitpid: fork.pair.raw, forkStrategy: fork.pair.strategy)
        progress("guard")
        report.strategies.append(StrategyBench.guardRow(victims, floors: report.floors, budget: budget))
        report.strategies.append(fork.row)
        progress("pool (\(workers) workers)")
        report.strategies.append(PoolBench.poolRow(victims, workers: workers, budget: budget, rss: &report.rss))
        progress("fork server")
        let server = PoolBench.forkServerRow(victims, budget: budget)
        report.strategies.append(server)
        let (serverLatency, serverNote) = server.unavailable == nil
            ? (server.measurement("identity")?.latency, nil) : (nil, server.unavailable)
        report.forkCost.small.forkServer = serverLatency
        report.forkCost.small.forkServerNote = serverNote
        report.rss.supervisorPeak = ProcessTable.peakResidentBytes()
        report.rss.supervisorCurrent = ProcessTable.residentBytes()

        progress("fork with a \(parentBytes >> 20) MiB parent (a child process)")
        LargeParent.measure(executable: executable, library: library, bytes: parentBytes, seconds: budgetSeconds,
                            into: &report.forkCost)
        progress("C++ throw/catch with libunwind confined and bound process-wide (child processes)")
        report.unwinder = Unwinder.measure(executable: executable, library: library, seconds: min(budgetSeconds / 20, 2))
        if noPeers {
            report.peers.unavailable = "not measured: --no-peers"
        } else {
            progress("Python peers")
            report.peers = Peers.measure(library: library, phaseSeconds: budget.seconds(1.5), workers: workers)
        }
        report.run.elapsedSeconds = Double(fl_now_ns() - started) / 1e9
        progress("done")

        if json {
            output.write(report.json.text)
        } else {
            output.write(BenchTable.render(report))
        }
        output.flush()
    }

    /// One line of progress on stderr, with the seconds since the process started.
    private func progress(_ text: String) {
        StandardError.write("bench: [\(showNumber(max(0, Double(fl_now_ns() - Self.processStart) / 1e9))) s] \(text)")
    }

    /// When this process started measuring (for the progress lines).
    private static let processStart = fl_now_ns()

    /// This executable, resolved through /proc/self/exe.
    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The folder part of a path.
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    /// `uname -r`.
    static func kernelRelease() -> String {
        var name = utsname()
        guard uname(&name) == 0 else { return "unknown" }
        return withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// The selected word of /sys/kernel/mm/transparent_hugepage/enabled (`always`, `madvise`, `never`).
    static func transparentHugePages() -> String {
        guard let file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r") else { return "unknown" }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return "unknown" }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]") else { return "unknown" }
        return String(text[text.index(after: open)..<close])
    }
}
