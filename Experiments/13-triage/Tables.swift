import ExperimentKit
import Foundation
import Faultline

/// A frame's name as the bucket key spells it: its function, else where it is in its image.
func keyName(_ frame: Frame) -> String {
    if let symbol = frame.symbol, !symbol.isEmpty { return SourceSymbolizer.baseName(symbol) }
    if let image = frame.imageName, let offset = frame.imageOffset ?? frame.offset {
        return "\(image)@\(frame.buildID ?? "")+0x\(String(offset, radix: 16))"
    }
    return "?"
}

/// The frames the key is made of, innermost first, each the first frame of the backtrace with that name.
func keyFrames(_ fault: Fault) -> [Frame] {
    Bucket.significantFrames(of: fault).compactMap { name in fault.backtrace.first { keyName($0) == name } }
}

/// `read at 0xc`, `write at 0x100000000000`, `—`.
func accessCell(_ fault: Fault) -> String {
    guard let access = fault.access else { return "—" }
    return access.rawValue + (fault.address.map { " at 0x\(String($0, radix: 16))" } ?? "")
}

func tableCell(_ text: String) -> String {
    text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// The bucket table: one row per group of the pool's run, largest first.
func bucketTable(pool: StrategyRun, inputs: [Int32], truth: [Int32], command: CommandGroups) -> String {
    var lines = ["| # | bucket | inputs | signal | access | severity (heuristic) | message | top frames (the key's) | first input | the bug (ground truth) | `faultline triage`: reproduced |",
                 "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (number, group) in pool.triage.groups.enumerated() {
        let kinds = Set(group.indices.map { truth[$0] }).sorted()
        let bug = kinds.count == 1 ? (bugNames[Int(kinds[0])] ?? "none (the oracle says it returns)")
            : "mixed: " + kinds.map { bugNames[Int($0)] ?? "none" }.joined(separator: ", ")
        let reproduced: String
        if let found = command.groups[group.key] {
            reproduced = "\(found.reproduced)/\(found.replays)" + (found.count == group.count ? "" : " (its count: \(found.count))")
        } else {
            reproduced = command.failure.map { "not run: \($0)" } ?? "not in its output"
        }
        var cells = ["\(number + 1)", "`\(group.key)`", "\(group.count)"]
        if let fault = group.outcome.fault {
            cells += [fault.signal.name, accessCell(fault), fault.severity.description, fault.message ?? "—",
                      keyFrames(fault).map(\.description).joined(separator: "<br>")]
        } else {
            cells += [group.outcome.kind, "—", "—", "—", "—"]
        }
        cells += ["\(inputs[group.indices[0]]) (\(hex(UInt64(UInt32(bitPattern: inputs[group.indices[0]])))))", bug, reproduced]
        lines.append("| " + cells.map(tableCell).joined(separator: " | ") + " |")
    }
    return lines.joined(separator: "\n")
}

/// The key texts of the groups (what the `fl1-` hashes are made of).
func keyTexts(_ outcomes: [Outcome]) -> String {
    var seen: Set<String> = []
    var lines: [String] = []
    for case .signaled(let fault) in outcomes where !seen.contains(fault.bucket) {
        seen.insert(fault.bucket)
        lines.append("\(fault.bucket)  \(Bucket.keyText(for: fault))")
    }
    return lines.joined(separator: "\n")
}

/// One row of the strategy comparison.
struct StrategyLine {
    var strategy: String
    var answered: String
    var failed: String
    var groups: String
    var keys: String
    var seconds: Double?
    var reports: String

    var markdown: String {
        "| " + [strategy, answered, failed, groups, keys, seconds.map(Format.seconds) ?? "—", reports].map(tableCell).joined(separator: " | ") + " |"
    }
}

func strategyTable(_ rows: [StrategyLine], count: Int) -> String {
    (["| strategy | inputs answered | failed | groups | group keys against the pool's | time for \(count) inputs | what a crash is reported as |",
      "|---|---|---|---|---|---|---|"] + rows.map(\.markdown)).joined(separator: "\n")
}

/// The row of a strategy that gives outcomes (fork, guard) beside the pool's.
func comparedLine(_ run: StrategyRun, pool: StrategyRun, reports: String) -> StrategyLine {
    let mismatch = run.mismatches(against: pool)
    let both = run.answered.indices.count { run.answered[$0] && pool.answered[$0] }
    let keys = mismatch.count == 0 ? "identical for all \(both) inputs both answered"
        : "\(mismatch.count) of \(both) differ (first: input #\(mismatch.first!): `\(run.keys[mismatch.first!] ?? "returned")` vs `\(pool.keys[mismatch.first!] ?? "returned")`)"
    let failed = run.triage.total - run.triage.returned
    return StrategyLine(strategy: run.name, answered: "\(run.answeredCount)", failed: "\(failed)", groups: "\(run.triage.groups.count)",
                        keys: keys, seconds: run.seconds, reports: (run.note.map { $0 + "; " } ?? "") + reports)
}

/// The row of `faultline triage --json`, which prints groups, not one line per input.
func commandLine(_ command: CommandGroups, pool: StrategyRun, count: Int) -> StrategyLine {
    if let failure = command.failure {
        return StrategyLine(strategy: "`faultline triage --json` (pool, 2 workers)", answered: "—", failed: "—", groups: "—", keys: "—",
                            seconds: nil, reports: "did not run: \(failure)")
    }
    let same = pool.triage.groups.allSatisfy { command.groups[$0.key]?.count == $0.count } && command.groups.count == pool.triage.groups.count
    let failed = command.groups.values.reduce(0) { $0 + $1.count }
    let replayed = command.groups.values.map { "\($0.reproduced)/\($0.replays)" }
    return StrategyLine(strategy: "`faultline triage --json` (pool, 2 workers)", answered: command.total.map(String.init) ?? "—",
                        failed: "\(failed)", groups: "\(command.groups.count)",
                        keys: same ? "the same buckets with the same counts" : "different: " + command.order.joined(separator: ", "),
                        seconds: command.seconds,
                        reports: "one JSON object per group: bucket, signal, access, severity, message, top 5 frames, first 5 inputs, a reproducer; each group's first input replayed: " + Set(replayed).sorted().joined(separator: ", ") + " (the time includes the replays)")
}

/// The row of pebble: the words it used, with counts, and how its run ended.
func pebbleLine(_ pebble: PebbleRun, pool: StrategyRun, count: Int) -> StrategyLine {
    let name = "pebble \(pebble.version ?? "") ProcessPool(2).map (Python, ctypes)"
    if let missing = pebble.unavailable {
        return StrategyLine(strategy: "pebble", answered: "—", failed: "—", groups: "—", keys: "—", seconds: nil, reports: "not available: \(missing)")
    }
    var words: [String: Int] = [:]
    for text in pebble.failed.values { words[text, default: 0] += 1 }
    let poolFailed = Set(pool.keys.indices.filter { pool.keys[$0] != nil })
    let sameInputs = Set(pebble.failed.keys) == poolFailed
    let signalsAgree = pebble.failed.count { index, text in
        guard let fault = pool.triage.groups.first(where: { $0.indices.contains(index) })?.outcome.fault else { return false }
        return text.hasSuffix("(exitcode -\(fault.signal.rawValue))")
    }
    var ending: String
    if let status = pebble.status {
        ending = pebble.finished ? "finished" : "ended with \(status) before the end" + (pebble.lastError.map { ": \($0)" } ?? "")
    } else {
        ending = "hung: killed by the watchdog after \(Format.seconds(pebble.waited))"
    }
    var keys = "none (pebble gives no key)"
    if pebble.finished {
        keys += "; the inputs it failed are exactly the pool's failed inputs: \(sameInputs ? "yes" : "no"); its exit code is the pool's signal for \(signalsAgree) of \(pebble.failed.count)"
    }
    let said = words.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: "; ")
    return StrategyLine(strategy: name, answered: "\((pebble.returned ?? 0) + pebble.failed.count)", failed: "\(pebble.failed.count)",
                        groups: "\(words.count) (distinct texts)", keys: keys, seconds: pebble.seconds,
                        reports: "its run \(ending); " + (said.isEmpty ? "no failure reported" : said))
}
