// 12-python-and-dask: the Python package measured. dask12.py (next to this
// file) runs in one supervised python3 process with the package of this
// checkout on PYTHONPATH, the `faultline` beside this binary and the victims
// library; it measures calls/s and crashes/s through faultline.call,
// FaultlineExecutor.map, faultline.dask.map (a LocalCluster of 2 worker
// processes), the plain CLI and pebble, then what a SIGKILLed Dask worker
// costs. On a 2-core machine the point is overhead and fault tolerance, not
// speed-up.
#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Foundation
import Faultline
import FaultlineHarness

/// `$FAULTLINE_DASK_SCRIPT`, or dask12.py beside this source file.
let script: String = {
    if let path = getenv("FAULTLINE_DASK_SCRIPT").map({ String(cString: $0) }), !path.isEmpty { return path }
    let source = #filePath
    return String(source[..<(source.lastIndex(of: "/") ?? source.startIndex)]) + "/dask12.py"
}()

/// The repository root: three levels above this source file (Experiments/12-…/main.swift).
let repository: String = {
    var parts = script.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

func findOnPath(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
}

/// The ways of calling measured, in table order: (name in dask12.py, key in the measurements).
let ways: [(name: String, key: String)] = [
    ("faultline call (CLI)", "cli"),
    ("faultline.call", "call"),
    ("FaultlineExecutor.map", "executor"),
    ("faultline.dask.map", "dask"),
    ("pebble ProcessPool", "pebble"),
]
let mixes = ["mixed_5", "mixed_25", "all_faulting"]

/// One `@row WAY {json}` line: the way has spaces, so it is everything before the last " {".
struct Row {
    var way: String
    var mix: String
    var fields: [String: Any]
}

func rows(_ lines: [SubjectLine]) -> [Row] {
    lines.filter { $0.tag == "row" }.compactMap { line in
        let text = line.first + " " + line.rest
        guard let brace = text.range(of: " {", options: .backwards) else { return nil }
        let json = String(text[text.index(after: brace.lowerBound)...])
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
              let mix = object["mix"] as? String else { return nil }
        return Row(way: String(text[..<brace.lowerBound]), mix: mix, fields: object)
    }
}

func killedRuns(_ lines: [SubjectLine]) -> [String: [String: Any]] {
    var runs: [String: [String: Any]] = [:]
    for line in lines where line.tag == "killed" {
        let json = line.first + (line.rest.isEmpty ? "" : " " + line.rest)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { continue }
        for (key, value) in object {
            if let run = value as? [String: Any] { runs[key] = run } else if let reason = value as? String { runs[key] = ["reason": reason] }
        }
    }
    return runs
}

Experiment(
    id: "12", name: "python-and-dask",
    title: "the Python package (faultline.call, FaultlineExecutor, faultline.dask on a 2-worker LocalCluster) beside the CLI and pebble: calls/s, crashes/s, and a Dask worker killed mid-run"
) { result, options, supervisor in
    guard let python = findOnPath("python3") else {
        result.skipped = "python3 is not installed here: the Python package was not measured"
        result.summary = [result.skipped!]
        return
    }
    guard Files.exists(script) else {
        result.skipped = "dask12.py not found at \(script) (set FAULTLINE_DASK_SCRIPT)"
        result.summary = [result.skipped!]
        return
    }
    let executable = Victims.executableFolder + "/faultline"
    guard access(executable, X_OK) == 0 else {
        result.skipped = "no faultline executable beside this binary (\(executable)): build the faultline product"
        result.summary = [result.skipped!]
        return
    }
    let environment = [
        "PYTHONPATH": repository + "/python/src",
        "FAULTLINE_EXECUTABLE": executable,
        "FAULTLINE_VICTIMS": Victims.library,
        "PYTHONDONTWRITEBYTECODE": "1",
    ]
    // The whole script is bounded: 30 budgets, never less than 90 s (it takes about 30 s at --budget 3).
    let limit = max(90, options.budget * 30)
    let child = try supervisor.start(program: python, [script, "--budget", String(options.budget)], environment: environment)
    let status = child.wait(limit)
    let lines = child.lines
    var summary: [String] = []
    if let version = lines.first(where: { $0.tag == "python" }) { summary.append("Python \(version.first)") }
    for line in lines where line.tag == "version" { summary.append("\(line.first) \(line.rest)") }
    summary.append("This machine has \(Environment.current().cores) online cores, and every way below uses 2 workers: the point is overhead and fault tolerance, not speed-up.")
    if status == nil {
        summary.append("dask12.py did not finish within \(Format.seconds(limit)): killed by the watchdog")
        child.kill()
    } else if status != .exitCode(0) {
        let tail = child.standardError.split(separator: "\n").suffix(3).joined(separator: " / ")
        summary.append("dask12.py ended with \(status!): \(tail)")
    }
    // Whatever the script started (Dask scheduler, nannies, workers, faultline runs) must be gone by now.
    Clock.sleep(0.5)
    let left = supervisor.survivors()
    result.leftBehind += left
    result.measure("processes_left", Double(left.count), "count", "processes still alive once dask12.py had exited")

    // calls/s and crashes/s.
    let measured = rows(lines)
    var table = ["| way (2 workers) | mixed_5 calls/s | mixed_5 crashes/s | mixed_25 calls/s | mixed_25 crashes/s | all faulting: crashes/s | every outcome exact |",
                 "|---|---|---|---|---|---|---|"]
    for way in ways {
        let mine = measured.filter { $0.way == way.name }
        if let reason = mine.compactMap({ $0.fields["unavailable"] as? String }).first {
            summary.append("\(way.name): unavailable — \(reason)")
            table.append("| \(way.name) | \(reason) | | | | | |")
            continue
        }
        guard !mine.isEmpty else {
            summary.append("\(way.name): unavailable — no figures (the script did not get that far)")
            table.append("| \(way.name) | no figures | | | | | |")
            continue
        }
        var cells: [String] = []
        var exact = true
        for mix in mixes {
            let row = mine.first { $0.mix == mix }
            let calls = row?.fields["calls_per_s"] as? Double
            let crashes = row?.fields["crashes_per_s"] as? Double
            exact = exact && (row?.fields["exact"] as? Bool ?? false)
            if let calls { result.measure("\(way.key)_\(mix)_calls_per_s", calls, "count", "\(way.name), \(mix): calls per second") }
            if let crashes { result.measure("\(way.key)_\(mix)_crashes_per_s", crashes, "count", "\(way.name), \(mix): crashes per second") }
            if mix == "all_faulting" {
                cells.append(crashes.map { Format.fixed($0, digits: 0) } ?? "—")
            } else {
                cells += [calls.map { Format.fixed($0, digits: 0) } ?? "—", crashes.map { Format.fixed($0, digits: 0) } ?? "—"]
            }
        }
        result.measure("\(way.key)_exact", exact ? 1 : 0, "count", "\(way.name): every outcome exact and in order (1 yes)")
        table.append("| \(way.name) | " + cells.joined(separator: " | ") + " | \(exact ? "yes" : "no") |")
        let inputs = mine.first { $0.mix == "mixed_25" }?.fields["inputs"] as? Int ?? 0
        summary.append("\(way.name): " + mixes.map { mix in
            let row = mine.first { $0.mix == mix }
            let calls = (row?.fields["calls_per_s"] as? Double).map { Format.fixed($0, digits: 0) } ?? "—"
            return mix == "all_faulting" ? "all faulting \((row?.fields["crashes_per_s"] as? Double).map { Format.fixed($0, digits: 0) } ?? "—") crashes/s" : "\(mix) \(calls) calls/s"
        }.joined(separator: ", ") + " (\(inputs) inputs per mix)" + (exact ? "" : "; NOT every outcome exact"))
    }
    result.blocks.append(TextBlock(caption: "calls and crashes per second with 2 workers, on the bench's mixes (fl_mixed, 5 % and 25 % faulting) and on an all-faulting input", text: table.joined(separator: "\n")))

    // A Dask worker killed mid-run.
    let runs = killedRuns(lines)
    if let reason = runs["unavailable"]?["reason"] as? String {
        summary.append("a killed Dask worker: unavailable — \(reason)")
        result.blocks.append(TextBlock(caption: "a Dask worker SIGKILLed mid-run", text: "| run | |\n|---|---|\n| killed worker | \(reason) |"))
    } else if let calm = runs["undisturbed"], let hit = runs["killed"] {
        var killTable = ["| run of slow shards (fl_slow) | shards | seconds | every outcome exactly once |", "|---|---|---|---|"]
        for (label, run) in [("undisturbed", calm), ("one Dask worker SIGKILLed mid-run", hit)] {
            if let error = run["error"] as? String {
                killTable.append("| \(label) | | failed: \(error) | no |")
                continue
            }
            let seconds = run["seconds"] as? Double ?? .nan
            let once = run["every_outcome_once"] as? Bool ?? false
            killTable.append("| \(label) | \(run["shards"] as? Int ?? 0) | \(Format.seconds(seconds)) | \(once ? "yes" : "no") |")
        }
        result.blocks.append(TextBlock(caption: "a Dask worker SIGKILLed mid-run", text: killTable.joined(separator: "\n")))
        if let a = calm["seconds"] as? Double, let b = hit["seconds"] as? Double {
            result.measure("dask_undisturbed_seconds", a, "s", "slow shards, undisturbed: wall time")
            result.measure("dask_killed_seconds", b, "s", "slow shards, one Dask worker SIGKILLed: wall time")
            result.measure("dask_kill_cost_seconds", b - a, "s", "what the killed worker cost (the shard that ran again, and the worker's replacement)")
            result.measure("dask_shard_seconds", calm["shard_seconds"] as? Double ?? .nan, "s", "sleep time of one shard")
            let onceCalm = calm["every_outcome_once"] as? Bool ?? false
            let onceHit = hit["every_outcome_once"] as? Bool ?? false
            let killed = hit["killed"] as? Bool ?? false
            result.measure("dask_undisturbed_every_outcome_once", onceCalm ? 1 : 0, "count", "undisturbed run: every outcome exactly once (1 yes)")
            result.measure("dask_killed_every_outcome_once", onceHit ? 1 : 0, "count", "killed-worker run: every outcome exactly once (1 yes)")
            result.measure("dask_worker_killed", killed ? 1 : 0, "count", "a Dask worker was SIGKILLed mid-shard (1 yes)")
            summary.append("a Dask worker SIGKILLed mid-run: \(calm["shards"] as? Int ?? 0) slow shards took \(Format.seconds(a)) undisturbed and \(Format.seconds(b)) with the kill (+\(Format.seconds(b - a)); one shard sleeps \(Format.seconds(calm["shard_seconds"] as? Double ?? .nan))); every outcome exactly once: \(onceHit ? "yes" : "no")" + (killed ? "" : " (no worker was seen busy: none was killed)"))
        } else {
            summary.append("a Dask worker SIGKILLed mid-run: " + [calm["error"], hit["error"]].compactMap { $0 as? String }.joined(separator: "; "))
        }
    } else if !runs.isEmpty || status != nil {
        summary.append("a Dask worker SIGKILLed mid-run: no figures (the script did not get that far)")
    }
    summary.append("processes left once the script had exited: \(left.count)")
    result.summary = summary
    result.notes.append("On a 2-core machine 2 workers are all there is: these figures are what each layer (Python, the CLI's pipes, Dask's scheduler and its shards) costs on top of the supervised pool, and what survives a crash or a lost worker, not a speed-up.")
    result.notes.append("faultline.dask.map runs one Dask task per shard on 2 Dask worker processes (1 thread each), each shard through faultline.call with 1 call worker; the killed-worker runs use fl_slow (20–30 ms per input) in shards of 12 inputs, and the kill is a SIGKILL to a Dask worker seen busy, 0.15 s after.")
    result.notes.append("pebble: ctypes in a ProcessPool(2), one schedule() per input; a crash (or exit(7)) is a ProcessExpired and the pool replaces the worker. Because each replacement costs tens of milliseconds, pebble runs on the first eighth of each mix (a sixth of the all-faulting input); the rates are per second all the same.")
}.main()
