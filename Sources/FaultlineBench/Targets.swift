import FaultlineBenchResult
/// The performance targets (``Target``), judged on the figures of one run.
extension Target {
    /// Every target, judged on `report`.
    static func evaluate(_ report: BenchReport) -> [Target] {
        var targets: [Target] = []
        let floors = report.floors

        let guardCall = report.strategy("guard")?.measurement("identity")?.latency.p50
        let guardBatch = report.strategy("guard")?.extraNumber("call_batch_ns")
        targets.append(Target(
            name: "guard_call_vs_plain", description: "guard non-faulting call ≤ 3× plain call",
            measured: benchRatio(guardBatch, floors.plainCall), unit: "ratio", limit: 3, atMost: true,
            detail: "GuardStrategy.call([Int32]) on 4096 inputs, per call \(showNs(guardBatch)) / plain call \(showNs(floors.plainCall)); "
                + "one GuardStrategy.call at a time p50 \(showNs(guardCall)) = \(showNumber(benchRatio(guardCall, floors.plainCall)))× "
                + "(a Swift call and an Outcome per call); "
                + "fl_guard_call alone (C loop) \(showNs(floors.guardCall)) = \(showNumber(benchRatio(floors.guardCall, floors.plainCall)))×, "
                + "sigsetjmp+call \(showNs(floors.sigsetjmpCall)) = \(showNumber(benchRatio(floors.sigsetjmpCall, floors.plainCall)))×"))

        targets.append(Target(
            name: "guard_recovery", description: "guard recovery ≤ 3 µs without backtrace",
            measured: floors.faultLongjmp?.p50, unit: "ns", limit: 3_000, atMost: true,
            detail: "p50 of SIGSEGV caught + siglongjmp (fl_guard_call on fl_null_write), p99 \(showNs(floors.faultLongjmp?.p99))"))
        targets.append(Target(
            name: "guard_recovery_backtrace", description: "guard recovery ≤ 8 µs with backtrace addresses",
            measured: floors.faultLongjmpBacktrace?.p50, unit: "ns", limit: 8_000, atMost: true,
            detail: "the same with FL_CAPTURE_BACKTRACE (libunwind walk, no symbolization), p99 \(showNs(floors.faultLongjmpBacktrace?.p99))"))

        let pool = report.strategy("pool")
        let poolNote = pool?.unavailable ?? (pool == nil ? "not available: no pool row" : nil)
        let workersNote = report.run.workers == 2 ? nil : "measured with \(report.run.workers) workers, not 2"
        let poolRate = pool?.measurement("identity")?.callsPerSecond
        targets.append(Target(
            name: "pool_calls_per_second", description: "pool cheap callee ≥ 1,000,000 calls/s with 2 workers",
            measured: poolRate, unit: "calls/s", limit: 1_000_000, atMost: false,
            detail: "WorkerPool.run on batches of fl_identity, \(report.run.workers) workers",
            note: poolNote ?? workersNote))
        let timelineNote = poolNote ?? pool?.recoveryNote
            ?? (pool?.extraNumber("fault_to_outcome_p50_ns") == nil ? "not available: no crash timeline" : nil)
        let roundTrip = "call to outcome in the caller's hands p50 \(showNs(pool?.recovery?.outcome.p50)), call to "
            + "capacity restored p50 \(showNs(pool?.recovery?.restored.p50)); a child of this process faulting, seen by its "
            + "parent \(showNs(floors.faultDeath?.p50)); helper RSS \(report.rss.helperPeak.map { "\($0 >> 20) MiB" } ?? "n/a")"
        targets.append(Target(
            name: "pool_outcome_latency",
            description: "pool p50 from a worker's fault to the supervisor holding its outcome with backtrace addresses ≤ 100 µs",
            measured: pool?.extraNumber("fault_to_outcome_p50_ns"), unit: "ns", limit: 100_000, atMost: true,
            detail: "the pool's own timeline of each crash, steady crashing (WorkerPool.call(-1) on fl_mixed), \(report.run.workers) "
                + "workers: fault -> report written (backtrace walked) p50 \(showNs(pool?.extraNumber("fault_to_report_p50_ns"))), "
                + "-> outcome held p50 \(showNs(pool?.extraNumber("fault_to_outcome_p50_ns"))), "
                + "p99 \(showNs(pool?.extraNumber("fault_to_outcome_p99_ns"))); \(roundTrip)",
            note: timelineNote ?? workersNote))
        targets.append(Target(
            name: "pool_capacity_restored", description: "pool p50 from a worker's fault until a replacement takes calls ≤ 200 µs",
            measured: pool?.extraNumber("fault_to_restored_p50_ns"), unit: "ns", limit: 200_000, atMost: true,
            detail: "the same timeline: fault -> the pool back at full strength (a standby worker promoted, or a new one "
                + "registered) p50 \(showNs(pool?.extraNumber("fault_to_restored_p50_ns"))), "
                + "p99 \(showNs(pool?.extraNumber("fault_to_restored_p99_ns")))",
            note: timelineNote ?? workersNote))
        for percent in Workload.mixedPercentages {
            let workload = "mixed_\(percent)"
            let ours = pool?.measurement(workload)?.callsPerSecond
            let theirs = report.peers.measurement("pebble", workload)?.callsPerSecond
            var note = poolNote
            if note == nil && theirs == nil {
                note = report.peers.unavailable ?? "not available: pebble was not measured (run scripts/setup --peers)"
            }
            targets.append(Target(
                name: "pool_vs_pebble_\(workload)", description: "pool ≥ 120× pebble's calls/s on the \(percent)% faulting workload",
                measured: benchRatio(ours, theirs), unit: "ratio", limit: 120, atMost: false,
                detail: "pool \(showRate(ours)) / pebble ProcessPool \(showRate(theirs)), both \(report.run.workers) workers, fl_mixed",
                note: note))
        }

        let small = report.forkCost.small
        targets.append(Target(
            name: "fork_vs_floor", description: "fork per call ≤ 1.2× the raw C fork+waitpid floor",
            measured: benchRatio(small.forkStrategy?.p50, small.forkWaitpid?.p50), unit: "ratio", limit: 1.2, atMost: true,
            detail: "ForkStrategy p50 \(showNs(small.forkStrategy?.p50)) / fork+waitpid p50 \(showNs(small.forkWaitpid?.p50)), "
                + "pipe round trip to a live process \(showNs(floors.pipeRoundTrip?.p50))"))
        let cFloor = report.limitFloors?.forkCallExitWaitpid?.p50
        targets.append(Target(
            name: "fork_server_vs_c_floor", description: "fork server p50 per call ≤ 1.5× a minimal C process's fork+call+exit+waitpid",
            measured: benchRatio(small.forkServer?.p50, cFloor), unit: "ratio", limit: 1.5, atMost: true,
            detail: "ForkServerStrategy p50 \(showNs(small.forkServer?.p50)) / faultline-floors fork_call_exit_waitpid p50 \(showNs(cFloor)); "
                + "ForkStrategy from this process \(showNs(small.forkStrategy?.p50))",
            note: report.limitFloors.flatMap { $0.available ? nil : "not available: \($0.reason ?? "faultline-floors failed")" }
                ?? (report.limitFloors == nil ? "not available: no faultline-floors run" : nil)))
        let large = report.forkCost.large
        let size = report.forkCost.largeParentBytes >> 20
        let sizeNote = size >= 1024 ? nil : "the large parent had only \(size) MiB, not 1 GiB"
        targets.append(Target(
            name: "fork_large_parent", description: "fork per call with a 1 GiB parent ≤ 1.5× the small-parent figure",
            measured: benchRatio(large?.forkStrategy?.p50, small.forkStrategy?.p50), unit: "ratio", limit: 1.5, atMost: true,
            detail: "ForkStrategy p50 in a \(size) MiB parent \(showNs(large?.forkStrategy?.p50)) / small parent \(showNs(small.forkStrategy?.p50)); "
                + "raw fork+waitpid there \(showNs(large?.forkWaitpid?.p50))",
            note: report.forkCost.largeNote ?? sizeNote))
        targets.append(Target(
            name: "fork_server_large_parent",
            description: "fork per call via the fork server with a 1 GiB parent ≤ 1.5× the small-parent fork figure",
            measured: benchRatio(large?.forkServer?.p50, small.forkStrategy?.p50), unit: "ratio", limit: 1.5, atMost: true,
            detail: "ForkServerStrategy p50 in a \(size) MiB parent \(showNs(large?.forkServer?.p50)) / "
                + "ForkStrategy p50 in the small parent \(showNs(small.forkStrategy?.p50)); against the fork server "
                + "in the small parent \(showNs(small.forkServer?.p50)): "
                + "\(showNumber(benchRatio(large?.forkServer?.p50, small.forkServer?.p50)))×",
            note: report.forkCost.largeNote ?? large?.forkServerNote ?? sizeNote))
        targets += signatureTargets(report)
        targets += cliTargets(report)
        targets += crashTargets(report)
        targets.append(symbolizeTarget(report))
        targets += sandboxTargets(report)
        for index in targets.indices { targets[index].profile = profiles[targets[index].name] }
        return targets
    }

    /// The targets of calls through the signature path, each against a baseline of the same run.
    static func signatureTargets(_ report: BenchReport) -> [Target] {
        let figures = report.signatures
        let workersNote = figures.workers == 2 ? nil : "measured with \(figures.workers) workers, not 2"
        let mibPerSecond = { (rate: Double?) in rate.map { "\(showNumber($0 / 1_048_576)) MiB/s" } ?? "n/a" }
        return [
            Target(name: "signature_guard_overhead", description: "guarded double(double, double) through the signature path ≤ 10× a plain C call",
                   measured: benchRatio(figures.guardCallNs, figures.plainCallNs), unit: "ratio", limit: 10, atMost: true,
                   detail: "GuardStrategy.call(argumentLists:) of fl_cli_add_d on 4096 lists, per call \(showNs(figures.guardCallNs)) / "
                       + "plain C call through a function pointer \(showNs(figures.plainCallNs)); one call(arguments:) at a time "
                       + "\(showNs(figures.guardSingleCallNs)) (a [Value] and an Outcome per call)",
                   note: figures.guardNote),
            Target(name: "pool_string_calls_per_second", description: "pool int32(string) on 100-byte strings ≥ 1,000,000 calls/s with 2 workers",
                   measured: figures.poolStringCallsPerSecond, unit: "calls/s", limit: 1_000_000, atMost: false,
                   detail: "WorkerPool.run(arguments:) of fl_sig_strlen in runs of 50,000 inputs, \(figures.workers) workers",
                   note: figures.poolStringNote ?? workersNote),
            Target(name: "pool_bytes_throughput", description: "pool int64(bytes) on 1 MiB buffers ≥ 0.25× memcpy of the same bytes",
                   measured: benchRatio(figures.poolBytesPerSecond, figures.memcpyBytesPerSecond), unit: "ratio", limit: 0.25, atMost: false,
                   detail: "WorkerPool.run(arguments:) of fl_sig_sum_bytes (reads every byte, 16 per SSE2 step) in runs of 16 buffers \(mibPerSecond(figures.poolBytesPerSecond)) / "
                       + "memcpy of 1 MiB in one process \(mibPerSecond(figures.memcpyBytesPerSecond)), \(figures.workers) workers",
                   note: figures.poolBytesNote ?? workersNote),
        ]
    }

    /// `faultline call` end to end against the library, both measured in the same run.
    static func cliTargets(_ report: BenchReport) -> [Target] {
        let cli = report.cli
        let recovery = report.floors.faultLongjmpBacktrace?.p50
        let notMeasured = cli.inputs.isEmpty ? "not measured: the cli section did not run" : nil
        return [
            Target(name: "cli_guard_fault_cost",
                   description: "faultline call --strategy guard per fault, end to end with JSON and names, ≤ 3× the library's guarded recovery with backtrace",
                   measured: benchRatio(cli.guardFaultNs, recovery), unit: "ratio", limit: 3, atMost: true,
                   detail: "all-faulting stdin (fl_mixed -1), runs of \(cli.inputs.first ?? 0) and \(cli.inputs.dropFirst().first ?? 0) "
                       + "inputs (the difference cancels the start-up): \(showNs(cli.guardFaultNs)) per fault / fl_guard_call "
                       + "with FL_CAPTURE_BACKTRACE \(showNs(recovery))",
                   note: notMeasured ?? cli.guardNote),
            Target(name: "cli_pool_crash_rate",
                   description: "faultline call (pool) crashes per second ≥ 0.8× WorkerPool's on the same all-faulting input",
                   measured: benchRatio(cli.poolCrashesPerSecond, cli.libraryCrashesPerSecond), unit: "ratio", limit: 0.8, atMost: false,
                   detail: "fl_mixed -1, \(cli.workers) workers, runs of \(cli.inputs.dropFirst(2).first ?? 0) and "
                       + "\(cli.inputs.dropFirst(3).first ?? 0) inputs: faultline call \(showRate(cli.poolCrashesPerSecond)) / "
                       + "WorkerPool.run \(showRate(cli.libraryCrashesPerSecond))",
                   note: notMeasured ?? cli.poolNote),
        ]
    }

    /// The pool's crash rate against its C floor, and triage against call: each against a baseline of the same run.
    static func crashTargets(_ report: BenchReport) -> [Target] {
        let crash = report.crashRate
        let crashNote = crash.crashes == 0 ? "not measured: the crash-rate section did not run"
            : crash.poolNote ?? crash.floorNote ?? (crash.workers == 2 ? nil : "measured with \(crash.workers) workers, not 2")
        let rounds = { (values: [Double]) in "[" + values.map(showRate).joined(separator: ", ") + "]" }
        let triage = report.triage
        let triageNote = triage.inputs == 0 ? "not measured: the triage section did not run" : triage.note
        return [
            Target(name: "pool_crash_rate_vs_c_floor",
                   description: "pool crashes per second ≥ 0.9× a plain C fork-per-crash floor that walks with libunwind",
                   measured: benchRatio(crash.poolCrashesPerSecond, crash.floorCrashesPerSecond), unit: "ratio", limit: 0.9,
                   atMost: false,
                   detail: "WorkerPool.run of \(crash.crashes) fl_mixed(-1) (SIGSEGV, backtraces on), \(crash.workers) workers, until "
                       + "every worker is replaced: median \(showRate(crash.poolCrashesPerSecond)) \(rounds(crash.poolRounds)) / "
                       + "faultline-floors fork_crash_unwind (the same libraries loaded, a child per crash faults, unw_backtrace "
                       + "on an alternate stack, _exit; 2 forkers) median \(showRate(crash.floorCrashesPerSecond)) "
                       + "\(rounds(crash.floorRounds)), rounds alternating",
                   note: crashNote),
            Target(name: "triage_overhead",
                   description: "faultline triage --replays 0 --json ≤ 1.3× faultline call on the same inputs",
                   measured: benchRatio(triage.triageSeconds, triage.callSeconds), unit: "ratio", limit: 1.3, atMost: true,
                   detail: "\(triage.inputs) inputs on stdin, \(triage.faults) faulting in 3 bugs of fl_mixed (SIGSEGV, SIGFPE, SIGILL; "
                       + "\(triage.groups) groups found), \(triage.workers) workers, child processes, runs alternating: triage median "
                       + "\(showNs(triage.triageSeconds.map { $0 * 1e9 })) / call median \(showNs(triage.callSeconds.map { $0 * 1e9 }))",
                   note: triageNote),
        ]
    }

    /// A crash frame named at the source level the first time (name, file:line, inlined frames).
    static func symbolizeTarget(_ report: BenchReport) -> Target {
        let figures = report.symbolize
        return Target(
            name: "symbolize_frame_cost",
            description: "a cold name + file:line look-up per distinct (build-id, offset) in a library with DWARF ≤ 50 µs",
            measured: figures.coldLookupNs, unit: "ns", limit: 50_000, atMost: true,
            detail: "SourceSymbolizer.resolve on \(figures.offsets) distinct offsets of a 64-function C library (cc -O2 -g), "
                + "every cache cleared before each of \(figures.rounds) rounds, the image's opening included: mean per look-up "
                + "\(showNs(figures.coldLookupNs)) (median of the rounds); the first look-up of a round alone "
                + "\(showNs(figures.firstLookupNs)); again from the cache \(showNs(figures.warmLookupNs)); "
                + "\(figures.namedWithLine)/\(figures.offsets) with a name and a line",
            note: figures.note ?? (figures.offsets == 0 ? "not measured: the symbolize section did not run" : nil))
    }

    /// What profiling found for the targets that failed when they were last profiled
    /// (perf, perf trace and strace on a 2-core VM, 2026-11). Shown only while a target fails.
    static let profiles: [String: String] = [
        "guard_call_vs_plain": "perf: sigsetjmp + __sigjmp_save cost about 4 ns (glibc saves and mangles 8 registers "
            + "and checks the shadow stack), fl_guard_call's thread-local bookkeeping about 2 ns, and GuardStrategy.call "
            + "adds about 8 ns in Swift: zeroing the 440-byte fl_report on every call, a store-forwarding stall when "
            + "reading the returned Outcome, a cross-module call. sigsetjmp + call alone is already about 2.6x a plain "
            + "call, so 3x needs a lighter jump buffer (3 words, __builtin_setjmp style) and a fast path that does not "
            + "zero the report.",
        "guard_recovery_backtrace": "strace: the libunwind of Debian blocks and restores the signal mask around "
            + "dl_iterate_phdr for every frame: 16 to 18 rt_sigprocmask system calls per 7-frame walk, about 0.35 us each "
            + "on this VM, most of the ~7 us the walk adds. unw_set_caching_policy(UNW_CACHE_PER_THREAD) does not remove "
            + "them; a frame-pointer walk (the callee's frames, validated against the stack bounds) would.",
        "pool_outcome_latency": "Timeline (2 cores, steady crashing): the handler's backtrace walk in a worker that "
            + "has never faulted costs 50-60 us even after the worker's warm-up walk, mostly libunwind's first look-up "
            + "of the callee's own frames (its unwind tables' pages are mapped in this process for the first time); the "
            + "notice then wakes the supervisor in 30-50 us when the other core is busy forking the next standby. "
            + "Without a backtrace the outcome is held about 40 us after the fault.",
        "pool_capacity_restored": "Restoring is a standby's promotion, at the moment the outcome is held; it waits "
            + "for a fork only when crashes come faster than the helper forks (about 1,800 per second here).",
        "pool_vs_pebble_mixed_5": "pebble's rate is bounded by its own ~100 ms cycle per worker death (its p99), so "
            + "120x asks for ~38k calls/s at 5% and ~8.5k/s at 25%: 1,850-2,100 fresh processes per second on 2 cores. "
            + "Quiet, 2026-12: 138-149x and 125-137x (pool 44-48k and 9-10k calls/s); the same build falls below "
            + "120x when other jobs share the 2 cores (a crash costs the pool ~0.6 ms of CPU, see "
            + "pool_crash_rate_vs_c_floor). Done: faultline-helper without the Swift runtime, the worker stack in "
            + "huge pages (5 -> 1.35 ms per overflow), the fault path rehearsed in the helper, channels reused, "
            + "_Fork() in the helper.",
        "pool_vs_pebble_mixed_25": "As pool_vs_pebble_mixed_5: bounded by the cost of a fresh process per crash.",
        "pool_crash_rate_vs_c_floor": "Quiet, the floor makes 5,000-5,800 crashes/s here and the pool 3,000-3,400 "
            + "(0.55-0.6x); under load (other builds, load 4-7) the floor, two serial fork-fault-reap chains, falls "
            + "further than the pool, which pipelines (0.9-1.4x then). Both are CPU-bound (/proc/stat: 97-99% busy, "
            + "82-86% of it in the kernel): per crash, all processes, 8,000 crashes, 2026-12: pool 0.60-0.65 ms, "
            + "floor 0.37-0.42 ms. perf splits the pool's like the floor's for the fork (~0.14 against ~0.15 ms) "
            + "and the exit (~0.13 against ~0.14 ms); the rest is what the floor does not do: ~56 page faults "
            + "against ~40 (the channel's pages, the worker's warm-up walk, the helper's copy-on-write), 8 context "
            + "switches and ~130 system calls against 2 and ~56 (the crash notice, CRASHED, SPAWNED with its socket "
            + "and pidfd, EXITED, RELEASE, the next batch, the worker's set-up), and the supervisor ~0.06 ms. "
            + "Measured and kept: _Fork() where no loaded object can have registered a fork handler (73 -> 58 page "
            + "faults, ~8% less CPU). Measured and dropped: shards, helpers forking workers side by side (the same "
            + "rate: the helper's fork was never the bound, the CPU is); no warm-up in workers (~3% less CPU, but "
            + "pool_outcome_latency goes from ~55 to 100-110 us, over its limit); a per-thread libunwind cache (the "
            + "same ~60 sigprocmask per crash, they come from its dl_iterate_phdr wrapper). 0.9x needs ~0.4 ms per "
            + "crash for everything: a worker that continues its dead predecessor's batch without the supervisor, "
            + "one message per crash, and no warm-up walk, i.e. a different latency target.",
        "fork_large_parent": "expected: fork copies the parent's page tables (262,144 PTEs for 1 GiB of 4 KiB pages), "
            + "about 30 ms per GiB here; this is why the fork server exists (see fork_server_large_parent).",
    ]
}
