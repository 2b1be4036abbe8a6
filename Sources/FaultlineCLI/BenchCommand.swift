import ArgumentParser
import FaultlineBench

/// `faultline bench [--json] [--seconds N | --long | --quick] [--library PATH] [--workers N]`
///
/// The command line of the bench; the measuring is `FaultlineBench`'s ``Bench``.
/// Progress goes to stderr; stdout carries the table, or with `--json` one
/// JSON object and nothing else.
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

    @Option(name: .customLong("only"), parsing: .upToNextOption,
            help: "Measure only these sections: \(Bench.Section.allCases.map(\.rawValue).joined(separator: ", ")). Targets without figures say 'not measured'.")
    var only: [String] = []

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
        for name in only where Bench.Section(rawValue: name) == nil {
            throw ValidationError("--only: unknown section '\(name.prefix(40))'; sections: \(Bench.Section.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if [long, quick, seconds != nil].filter({ $0 }).count > 1 {
            throw ValidationError("use at most one of --seconds, --long and --quick")
        }
    }

    func run() throws {
        var options = Bench.Options()
        options.json = json
        options.seconds = seconds
        options.long = long
        options.quick = quick
        options.library = library
        options.workers = workers
        options.parentMiB = parentMiB
        options.noPeers = noPeers
        options.largeParentProbe = largeParentProbe
        options.unwinderProbe = unwinderProbe
        options.sections = only.isEmpty ? nil : Set(only.compactMap(Bench.Section.init(rawValue:)))
        // Our figures go to the real stdout; anything printed in this process
        // (a callee under the guard, a library constructor) goes to stderr.
        let output = OutputStream.claimStandardOutput()
        if !largeParentProbe && !unwinderProbe {
            // SIGINT/SIGTERM kill the probe and peer children's process groups before the bench exits.
            SignalWatcher.onStop { Bench.killRunningChildren() }
            SignalWatcher.start()
        }
        try Bench.run(options, output: output)
    }
}

extension OutputStream: BenchOutput {}
