import ExperimentKit
import Faultline

/// The bucket `faultline triage` put the input `[argument]` in, if any.
private func commandBucket(_ command: CommandGroups?, argument: UInt64) -> String? {
    command?.inputs.first { $0.value.contains("[\(argument)]") }?.key
}

/// The outcome of call `index` under `strategy`, if it has one.
private func outcome(_ outcomes: [String: [Outcome?]], _ strategy: String, _ index: Int) -> Outcome? {
    guard let row = outcomes[strategy], index < row.count else { return nil }
    return row[index]
}

/// How a strategy's outcome reads beside the pool's.
private func compared(_ outcome: Outcome?, pool: Outcome?) -> String {
    guard let outcome else { return "no answer" }
    if let fault = outcome.fault {
        return fault.bucket == pool?.fault?.bucket ? "same bucket" : "`\(fault.bucket)`"
    }
    return outcome == pool ? "same: " + outcome.description : outcome.description
}

/// One row per real-library call.
func libraryTable(_ outcomes: [String: [Outcome?]], command: [String: CommandGroups]) -> String {
    var lines = ["| call | pool | bucket (pool) | fork | guard | `faultline triage` | severity (heuristic) | top frames (the key's) |",
                 "|---|---|---|---|---|---|---|---|"]
    for (index, call) in libraryCalls.enumerated() {
        let pool = outcome(outcomes, "pool", index)
        var cells = [call.label]
        if let fault = pool?.fault {
            cells += ["\(fault.signal.name), \(accessCell(fault))", "`\(fault.bucket)`"]
        } else {
            cells += [pool?.description ?? "no answer", "—"]
        }
        cells += [compared(outcome(outcomes, "fork", index), pool: pool), compared(outcome(outcomes, "guard", index), pool: pool)]
        let set = command[call.set]
        if let failure = set?.failure {
            cells.append("not run: \(failure)")
        } else if let bucket = commandBucket(set, argument: call.argument) {
            cells.append(bucket == pool?.fault?.bucket ? "same bucket, reproduced \(set!.groups[bucket]!.reproduced)/\(set!.groups[bucket]!.replays)" : "`\(bucket)`")
        } else {
            cells.append(pool?.fault == nil ? "in no group (returned)" : "in no group")
        }
        cells += [pool?.fault?.severity.description ?? "—", pool?.fault.map { keyFrames($0).map(\.description).joined(separator: "<br>") } ?? "—"]
        lines.append("| " + cells.map(tableCell).joined(separator: " | ") + " |")
    }
    return lines.joined(separator: "\n")
}

/// For one set (`zlib`, `libc`): its bad calls' pool buckets, and whether fork, guard and the command agree on each.
private func agreement(_ set: String, _ outcomes: [String: [Outcome?]], _ command: [String: CommandGroups]) -> (buckets: Set<String>, agree: Bool) {
    var buckets: Set<String> = []
    var agree = true
    for (index, call) in libraryCalls.enumerated() where call.set == set && call.argument != 0 {
        guard let key = outcome(outcomes, "pool", index)?.fault?.bucket else {
            buckets.insert("no fault")
            agree = false
            continue
        }
        buckets.insert(key)
        for strategy in ["fork", "guard"] where outcome(outcomes, strategy, index)?.fault?.bucket != key { agree = false }
        if commandBucket(command[set], argument: call.argument) != key { agree = false }
    }
    return (buckets, agree)
}

func measureLibraries(_ result: inout ExperimentResult, _ outcomes: [String: [Outcome?]], _ command: [String: CommandGroups]) {
    for set in ["zlib", "libc"] {
        let (buckets, agree) = agreement(set, outcomes, command)
        result.measure("\(set)_buckets", Double(buckets.count), "count", "\(set): distinct buckets of the two bad pointers (pool)")
        result.measure("\(set)_keys_agree", agree ? 1 : 0, "count", "\(set): fork, guard and faultline triage give the pool's bucket for each bad pointer (1) or not (0)")
    }
    if let control = libraryCalls.firstIndex(where: { $0.set == "zlib" && $0.argument == 0 }), let value = outcome(outcomes, "pool", control)?.value?.integer {
        result.measure("zlib_control_returned", Double(value), "count", "zlib into the shim's own buffer: uncompress() returned (0 is Z_OK)")
    }
}

func librarySummary(_ outcomes: [String: [Outcome?]]) -> [String] {
    ["zlib", "libc"].map { set in
        let bad = libraryCalls.indices.filter { libraryCalls[$0].set == set && libraryCalls[$0].argument != 0 }
        let faults = bad.compactMap { outcome(outcomes, "pool", $0)?.fault }
        let buckets = Set(faults.map(\.bucket))
        let top = faults.first.flatMap { keyFrames($0).first?.description } ?? "—"
        return "\(set): \(bad.count) bad pointers gave \(faults.count) faults in \(buckets.count) bucket\(buckets.count == 1 ? "" : "s") (\(buckets.sorted().joined(separator: ", "))); top frame \(top)"
    }
}
