// 13-triage: crash reports a person can act on. 10,000 generated records go
// through a small C++ parser with six bugs (libFaultlineBugs.so) under the
// pool, fork per call and the in-process guard (in a child of its own), and
// `Triage` groups the failures by bucket; `faultline triage --json` runs the
// same inputs and replays each group's first input; pebble runs them too and
// says what it can. Then real libraries nobody here wrote: zlib's
// uncompress() and libc's strlen() on two bad pointers each.
#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Foundation
import Faultline
import FaultlineHarness

Experiment(
    id: "13", name: "triage",
    title: "10,000 generated records through a small C++ parser with six bugs: failures grouped by bucket under the pool, fork per call and the guard, replayed by `faultline triage`, beside what pebble reports; then zlib and libc on bad pointers",
    flags: [NumericFlag("inputs", default: 10_000, help: "how many generated records", range: 100...1_000_000)],
    defaultBudget: 5,
    subjects: ["guard": guardSubject]
) { result, options, supervisor in
    guard Files.exists(bugsLibrary) else {
        result.skipped = "libFaultlineBugs.so not found at \(bugsLibrary) (build it, or set FAULTLINE_BUGS)"
        result.summary = [result.skipped!]
        return
    }
    let count = Int(options["inputs"])
    let inputs = recordInputs(count: count)
    var summary: [String] = []
    let deadline = max(options.budget * 12, 60)

    // The ground truth: which bug each input reaches, from the library's own oracle (it never crashes).
    let truth = Array(try DirectStrategy(try NativeFunction(library: bugsLibrary, symbol: "parse_record_defect")).call(inputs))
        .map { $0.returnedValue ?? -1 }
    let expected = truth.count { $0 != 0 }
    result.measure("inputs", Double(count), "count", "generated records")
    result.measure("faults_expected", Double(expected), "count", "inputs that reach a bug, by the library's oracle")
    for (bug, name) in bugNames.sorted(by: { $0.key < $1.key }) {
        result.measure("expected_bug\(bug)", Double(truth.count { $0 == Int32(bug) }), "count", "inputs that reach bug \(bug) (\(name))")
    }

    // The pool: 2 workers, a deadline of 30 s per call.
    var pool = StrategyRun(name: "pool (WorkerPool, 2 workers)", count: count)
    do {
        let workers = try WorkerPool(library: bugsLibrary, symbol: "parse_record", configuration: .init(workers: 2, timeout: .seconds(30)))
        defer { workers.shutdown() }
        let began = Clock.now()
        pool.record(try workers.run(inputs))
        pool.seconds = Clock.now() - began
        pool.note = "\(workers.statistics.workersStarted) workers started"
    } catch {
        pool.note = "failed: \(error)"
    }

    // Fork per call, from this process, a deadline of 30 s per call.
    var fork = StrategyRun(name: "fork per call (ForkStrategy)", count: count)
    do {
        let forked = ForkStrategy(try NativeFunction(library: bugsLibrary, symbol: "parse_record"), timeout: .seconds(30))
        let began = Clock.now()
        for (index, input) in inputs.enumerated() { fork.record(try forked.call(input), index: index) }
        fork.seconds = Clock.now() - began
    } catch {
        fork.note = "failed after \(fork.answeredCount) inputs: \(error)"
    }

    // The guard, in a child of its own: whatever a bug does to that process stays there.
    var guarded = StrategyRun(name: "in-process guard (GuardStrategy), in a child process", count: count)
    let guardChild = try supervisor.start(subject: "guard", ["records", String(count)])
    let guardStatus = guardChild.wait(deadline)
    let guardLines = guardChild.lines
    let reached = guardLines.last { $0.tag == "chunk" }.flatMap { Int($0.first) } ?? 0
    let guardCalls = guardLines.calls()
    for index in 0..<reached {
        guarded.record(guardCalls[index]?.outcome ?? .returned(0), index: index)
    }
    guarded.seconds = guardLines.metric("seconds")
    if guardStatus != .exitCode(0) || reached < count {
        guarded.note = "the guard's process " + (guardStatus.map { "ended with \($0)" } ?? "hung (killed by the watchdog)")
            + " in inputs \(reached)..<\(min(reached + 500, count)); \(reached) answered"
    }
    guardChild.kill()

    // `faultline triage --json` on the same inputs: its groups and its replays.
    let command = runTriageCommand(supervisor, [bugsLibrary, "parse_record", "--workers", "2"], inputs: inputs.map(String.init), deadline: deadline)

    // pebble.
    let pebble = try runPebble(supervisor, inputs: inputs, deadline: max(options.budget * 15, 75))

    // Real libraries: zlib through the shim, libc's strlen directly.
    var libraryOutcomes: [String: [Outcome?]] = [:]
    do {
        let calls = libraryCalls
        var poolRow: [Outcome?] = [], forkRow: [Outcome?] = []
        for call in calls {
            let signature = try Signature(parsing: call.signature)
            let workers = try WorkerPool(library: call.library, symbol: call.symbol, signature: signature, configuration: .init(workers: 1, timeout: .seconds(30)))
            poolRow.append(try workers.run(arguments: [[.uint64(call.argument)]])[0])
            workers.shutdown()
            let function = try NativeFunction(library: call.library, symbol: call.symbol, signature: signature)
            forkRow.append(try ForkStrategy(function, timeout: .seconds(30)).call(arguments: [.uint64(call.argument)]))
        }
        libraryOutcomes["pool"] = poolRow
        libraryOutcomes["fork"] = forkRow
    } catch {
        summary.append("real libraries: failed: \(error)")
    }
    let libraryGuard = try supervisor.start(subject: "guard", ["library"])
    let libraryGuardStatus = libraryGuard.wait(deadline)
    let libraryGuardCalls = libraryGuard.lines.calls()
    libraryOutcomes["guard"] = libraryCalls.indices.map { libraryGuardCalls[$0]?.outcome }
    libraryGuard.kill()
    var libraryCommand: [String: CommandGroups] = [:]
    for set in ["zlib", "libc"] {
        let calls = libraryCalls.filter { $0.set == set }
        libraryCommand[set] = runTriageCommand(supervisor, [calls[0].library, calls[0].symbol, "--signature", calls[0].signature],
                                               inputs: calls.map { "[\($0.argument)]" }, deadline: deadline)
    }

    // Tables.
    result.blocks.append(TextBlock(caption: "the buckets of the pool's run, largest first (\(count) generated records; top frames: those the key is made of, runtime frames left out; reproduced: `faultline triage --json` on the same inputs, each group's first input run again alone in a fresh process 3 times)",
                                   text: bucketTable(pool: pool, inputs: inputs, truth: truth, command: command)))
    var rows = [StrategyLine(strategy: pool.name, answered: "\(pool.answeredCount)", failed: "\(pool.triage.total - pool.triage.returned)",
                             groups: "\(pool.triage.groups.count)", keys: "(the reference)", seconds: pool.seconds,
                             reports: (pool.note.map { $0 + "; " } ?? "") + "an Outcome per input: signal, access, address, message, named frames with file:line; Triage groups them")]
    rows.append(comparedLine(fork, pool: pool, reports: "the same Outcome, from a fresh process per call"))
    rows.append(comparedLine(guarded, pool: pool, reports: "the same Outcome, caught in the calling process"))
    rows.append(commandLine(command, pool: pool, count: count))
    rows.append(pebbleLine(pebble, pool: pool, count: count))
    result.blocks.append(TextBlock(caption: "the same \(count) inputs under each way of calling", text: strategyTable(rows, count: count)))
    result.blocks.append(TextBlock(caption: "real libraries nobody here wrote, on bad pointers: each call under the pool, fork per call, the guard (in a child) and `faultline triage`",
                                   text: libraryTable(libraryOutcomes, command: libraryCommand)))
    let allOutcomes = pool.triage.groups.map(\.outcome) + ["pool", "fork", "guard"].flatMap { (libraryOutcomes[$0] ?? []).compactMap { $0 } }
    result.blocks.append(TextBlock(caption: "what each key hashes (`Bucket.keyText(for:)`: signal, code class, access, the top significant frames), for every bucket above under every strategy", text: keyTexts(allOutcomes)))

    // Figures the test and the summary read.
    for (key, run) in [("pool", pool), ("fork", fork), ("guard", guarded)] {
        result.measure("groups_\(key)", Double(run.triage.groups.count), "count", "\(run.name): groups")
        result.measure("answered_\(key)", Double(run.answeredCount), "count", "\(run.name): inputs answered")
        if let seconds = run.seconds { result.measure("seconds_\(key)", seconds, "s", "\(run.name): time for the inputs") }
        if key != "pool" { result.measure("key_mismatches_\(key)", Double(run.mismatches(against: pool).count), "count", "\(run.name): inputs whose key differs from the pool's") }
    }
    if command.failure == nil {
        result.measure("groups_cli", Double(command.groups.count), "count", "faultline triage: groups")
        result.measure("seconds_cli", command.seconds, "s", "faultline triage: wall time, replays included")
    }
    if pebble.unavailable == nil {
        result.measure("pebble_failed", Double(pebble.failed.count), "count", "pebble: inputs it reported failed")
        result.measure("pebble_finished", pebble.finished ? 1 : 0, "count", "pebble: its map ran to the end (1) or not (0)")
        if let seconds = pebble.seconds { result.measure("seconds_pebble", seconds, "s", "pebble: time for the inputs") }
    }
    // Each bug in one bucket of its own.
    var bucketsOfBug: [Int32: Set<String>] = [:]
    for index in inputs.indices where truth[index] != 0 { bucketsOfBug[truth[index], default: []].insert(pool.keys[index] ?? "returned") }
    let pure = bucketsOfBug.values.allSatisfy { $0.count == 1 } && Set(bucketsOfBug.values.compactMap(\.first)).count == bucketsOfBug.count
    result.measure("bugs_reached", Double(bucketsOfBug.count), "count", "bugs the inputs reached (oracle)")
    result.measure("bug_buckets", Double(Set(bucketsOfBug.values.flatMap { $0 }).count), "count", "distinct buckets of those inputs in the pool's run")
    result.measure("one_bucket_per_bug", pure ? 1 : 0, "count", "every bug in exactly one bucket, and no bucket shared (1) or not (0)")
    measureLibraries(&result, libraryOutcomes, libraryCommand)

    summary.insert(contentsOf: [
        "\(count) generated records: \(expected) reach one of the six bugs (the library's oracle); the pool found \(pool.triage.total - pool.triage.returned) failures in \(pool.triage.groups.count) buckets" + (pure ? ", one bucket per bug" : ", NOT one bucket per bug"),
        "fork per call: \(fork.triage.groups.count) buckets, keys differ from the pool's for \(fork.mismatches(against: pool).count) inputs; guard: \(guarded.answeredCount) inputs answered, \(guarded.triage.groups.count) buckets, keys differ for \(guarded.mismatches(against: pool).count)" + (guarded.note.map { " (\($0))" } ?? ""),
        "time for \(count) inputs: " + [("pool", pool.seconds), ("fork", fork.seconds), ("guard", guarded.seconds), ("faultline triage (with replays)", command.failure == nil ? command.seconds : nil), ("pebble", pebble.seconds)]
            .map { "\($0.0) \($0.1.map(Format.seconds) ?? "—")" }.joined(separator: ", "),
        { let line = pebbleLine(pebble, pool: pool, count: count); return line.strategy + ": " + line.reports }(),
    ], at: 0)
    if libraryGuardStatus != .exitCode(0) { summary.append("the guard's child for the real libraries ended with \(libraryGuardStatus.map { "\($0)" } ?? "no status (killed by the watchdog)")") }
    result.summary = summary + librarySummary(libraryOutcomes)
    result.notes.append("The records come from a fixed generator (splitmix64, seed 13, the low 32 bits of each draw), so every run sees the same \(count) inputs. The ground truth is parse_record_defect, which applies the same conditions as the parser without running the bugs.")
    result.notes.append("Severity is the heuristic CASR-style class Faultline derives from the signal, access, address, stack pointer and the C runtime's message. pebble's words are its own: the exception it raised per input and the exit code it carried.")
}.main()
