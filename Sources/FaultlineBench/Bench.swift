import CFaultline
import Faultline
import FaultlineBenchResult
import FaultlineHarness
#if canImport(Glibc)
import Glibc
#endif

/// Where the bench writes its figures: the real standard output, kept apart
/// from anything a callee prints (the CLI's `OutputStream`).
public protocol BenchOutput: AnyObject {
    /// Appends a line (a newline is added).
    func write(_ line: String)
    /// Writes what is buffered.
    func flush()
}

/// `faultline bench`: measures every strategy against the C floors and the
/// Python peers in one run, and judges the targets. Progress goes to stderr;
/// the output carries the table, or with `json` one JSON object (``BenchReport``)
/// and nothing else. The command line itself is the CLI's `BenchCommand`.
public enum Bench {
    /// What one run is asked to do: the options of `faultline bench`, validated by the CLI.
    public struct Options: Sendable {
        /// Print one JSON object instead of the table.
        public var json = false
        /// Time budget of the whole run in seconds (nil: 60, 3 with `quick`, 300 with `long`).
        public var seconds: Double?
        /// A longer run (300 s).
        public var long = false
        /// A tiny run that checks the machinery.
        public var quick = false
        /// The victims library (nil: libFaultlineVictims.so next to this executable).
        public var library: String?
        /// Worker processes of the pool rows and the Python pools.
        public var workers = 2
        /// Size of the large parent in MiB (nil: 1024, 64 with `quick`).
        public var parentMiB: Int?
        /// Skip the Python peers.
        public var noPeers = false
        /// Run as the large-parent probe (a child of the bench).
        public var largeParentProbe = false
        /// Run as the unwinder probe (a child of the bench).
        public var unwinderProbe = false
        /// Measure only these sections (nil: all); targets whose figures were not measured say so.
        public var sections: Set<Section>?

        /// The default run.
        public init() {}
    }

    /// A part of the run that `--only` can select.
    public enum Section: String, CaseIterable, Sendable {
        case sandbox
        case floors, limitFloors = "limit-floors", direct, fork, `guard`, pool, forkServer = "fork-server"
        case signatures, cli, largeParent = "large-parent", unwinder, peers, symbolize
        case crashRate = "crash-rate", triage
    }

    /// Kills the process groups of every child the bench is running (the
    /// large-parent probe, the Python peers). For a SIGINT/SIGTERM handler of the caller.
    public static func killRunningChildren() { BenchChildren.killAll() }

    /// Runs the bench (or one of its probes, which end the process) and writes the result to `output`.
    public static func run(_ options: Options, output: any BenchOutput) throws {
        let executable = Victims.executablePath
        let library = options.library ?? Victims.besideExecutable
        let quick = options.quick
        let workers = options.workers
        let budgetSeconds = options.seconds ?? (quick ? 3 : options.long ? 300 : 60)
        let parentBytes = (options.parentMiB ?? (quick ? 64 : 1024)) << 20
        if options.largeParentProbe {
            let status = LargeParent.probe(library: library, bytes: parentBytes, seconds: budgetSeconds, output: output)
            output.flush()
            Glibc.exit(status)
        }
        if options.unwinderProbe {
            let status = Unwinder.probe(library: library, seconds: min(budgetSeconds / 20, 2), output: output)
            Glibc.exit(status)
        }
        let victims = try Victims(library: library)
        let budget = Budget(seconds: budgetSeconds)
        let started = fl_now_ns()
        var report = BenchReport(run: RunInfo(
            budgetSeconds: budgetSeconds, quick: quick, workers: workers, library: library,
            cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), kernel: Self.kernelRelease(),
            transparentHugePages: Self.transparentHugePages()))
        let only = options.sections
        func wanted(_ section: Section) -> Bool { only?.contains(section) ?? true }
        if wanted(.floors) {
            progress("floors (C): plain call, sigsetjmp, fault + siglongjmp, pipe round trip")
            report.floors = FloorBench.measure(identity: victims.identity.pointer, faulting: victims.faulting.pointer,
                                               budget: budget)
        }
        if wanted(.limitFloors) {
            progress("floors at the limit: faultline-floors, a minimal C process")
            report.limitFloors = LimitFloors.measure(iterations: quick ? 200 : 2000, library: library)
        }
        if wanted(.direct) {
            progress("direct")
            report.strategies.append(StrategyBench.direct(victims, budget: budget))
        }
        // Fork before the guard: the guard's stack overflows leave 8 MiB of stack resident in
        // this process, and every later fork would copy its page tables.
        var forkRow: StrategyFigures?
        if wanted(.fork) {
            progress("fork per call, interleaved with raw fork + waitpid")
            let fork = StrategyBench.fork(victims, budget: budget)
            report.floors.forkWaitpid = fork.pair.raw
            report.forkCost.small = ForkFigures(parentResidentBytes: ProcessTable.residentBytes(),
                                                forkWaitpid: fork.pair.raw, forkStrategy: fork.pair.strategy)
            forkRow = fork.row
        }
        if wanted(.guard) {
            progress("guard")
            report.strategies.append(StrategyBench.guardRow(victims, floors: report.floors, budget: budget))
        }
        if let forkRow { report.strategies.append(forkRow) }
        if wanted(.pool) {
            progress("pool (\(workers) workers)")
            report.strategies.append(PoolBench.poolRow(victims, workers: workers, budget: budget, rss: &report.rss))
        }
        if wanted(.forkServer) {
            progress("fork server")
            let server = PoolBench.forkServerRow(victims, budget: budget)
            report.strategies.append(server)
            let (serverLatency, serverNote) = server.unavailable == nil
                ? (server.measurement("identity")?.latency, nil) : (nil, server.unavailable)
            report.forkCost.small.forkServer = serverLatency
            report.forkCost.small.forkServerNote = serverNote
        }
        report.rss.supervisorPeak = ProcessTable.peakResidentBytes()
        report.rss.supervisorCurrent = ProcessTable.residentBytes()

        if wanted(.signatures) {
            progress("signature calls: guard double(double, double), pool int32(string) and int64(bytes), memcpy")
            report.signatures = SignatureBench.measure(library: library, workers: workers, budget: budget)
        }
        if wanted(.cli) {
            progress("faultline call end to end: --strategy guard per fault, the pool's crash rate (child processes)")
            report.cli = CLIBench.measure(executable: executable, library: library, workers: workers, quick: quick)
        }
        if wanted(.crashRate) {
            progress("the pool's crash rate against its C floor (faultline-floors), alternating rounds")
            report.crashRate = CrashRateBench.measure(library: library, workers: workers, quick: quick)
        }
        if wanted(.triage) {
            progress("faultline triage --replays 0 against faultline call on the same inputs (child processes)")
            report.triage = TriageBench.measure(executable: executable, library: library, workers: workers, quick: quick)
        }
        if wanted(.largeParent) {
            progress("fork with a \(parentBytes >> 20) MiB parent (a child process)")
            LargeParent.measure(executable: executable, library: library, bytes: parentBytes, seconds: budgetSeconds,
                                into: &report.forkCost)
        }
        if wanted(.unwinder) {
            progress("C++ throw/catch with libunwind confined and bound process-wide (child processes)")
            report.unwinder = Unwinder.measure(executable: executable, library: library, seconds: min(budgetSeconds / 20, 2))
        }
        if wanted(.symbolize) {
            progress("source-level names of frames: SourceSymbolizer on a C library with DWARF, cold")
            report.symbolize = SymbolizeBench.measure(rounds: quick ? 3 : 15)
        }
        if wanted(.sandbox) {
            progress("the sandbox: pool calls/s, an allowed system call, a worker's start, with --sandbox pure and without")
            report.sandbox = SandboxBench.measure(library: library, workers: workers, quick: quick, budget: budget)
        }
        if options.noPeers {
            report.peers.unavailable = "not measured: --no-peers"
        } else if !wanted(.peers) {
            report.peers.unavailable = "not measured: not selected by --only"
        } else {
            progress("Python peers")
            report.peers = Peers.measure(library: library, phaseSeconds: budget.seconds(1.5), workers: workers)
        }
        report.run.elapsedSeconds = Double(fl_now_ns() - started) / 1e9
        report.targets = Target.evaluate(report)
        progress("done")

        if options.json {
            output.write(try OrderedJSONEncoder().encode(report))
        } else {
            output.write(BenchTable.render(report))
        }
        output.flush()
    }

    /// One line of progress on stderr, with the seconds since the process started.
    private static func progress(_ text: String) {
        BenchLog.write("bench: [\(showNumber(max(0, Double(fl_now_ns() - Self.processStart) / 1e9))) s] \(text)")
    }

    /// When this process started measuring (for the progress lines).
    private static let processStart = fl_now_ns()

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

/// Lines for humans on standard error (never on stdout, which is for the figures).
enum BenchLog {
    /// Writes `line` and a newline to descriptor 2.
    static func write(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
