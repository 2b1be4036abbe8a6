import Faultline

/// What `faultline triage` prints: one block (or JSON object) per group, then the totals.
struct TriageReport {
    /// Inputs a group shows: its first and up to 4 more.
    static let shownInputs = 5
    /// Frames a group shows.
    static let shownFrames = 5

    let triage: Triage
    /// The JSON form of the inputs a group shows, by input index.
    let inputs: [Int: String]
    let replayer: Replayer

    /// One group with what its block needs.
    private struct Entry {
        var group: Triage.Group
        var inputs: [String]
        var reproduce: [String]
        var reproduced: Int
    }

    private var entries: [Entry] {
        triage.groups.map { group in
            let shown = group.indices.prefix(Self.shownInputs).map { inputs[$0] ?? "null" }
            let first = shown.first ?? "null"
            return Entry(group: group, inputs: shown, reproduce: replayer.command(inputJSON: first),
                         reproduced: replayer.times > 0 ? replayer.reproduced(key: group.key, inputJSON: first) : 0)
        }
    }

    /// `--json`: one object per group, then `{"total":N,"returned":R,"groups":K}`.
    func jsonLines() -> [String] {
        entries.map { entry in
            let group = entry.group
            var members = ["\"bucket\":" + JSONText.quoted(group.key), "\"count\":\(group.count)",
                           "\"outcome\":\"\(group.outcome.kind)\""]
            if let fault = group.outcome.fault {
                members += ["\"signal\":\"\(fault.signal.name)\"",
                            "\"access\":" + JSONText.access(fault.access),
                            "\"severity\":" + JSONText.severity(fault.severity),
                            "\"message\":" + (fault.message.map(JSONText.quoted) ?? "null"),
                            "\"frames\":[" + fault.backtrace.prefix(Self.shownFrames).map(JSONText.frame).joined(separator: ",") + "]"]
            }
            if case .exited(let status) = group.outcome { members.append("\"status\":\(status)") }
            if let violation = group.outcome.violation {
                let call = violation.syscall.map { call in
                    "{\"name\":" + (call.name.map(JSONText.quoted) ?? "null") + ",\"number\":\(call.number),\"arch\":\"\(call.arch)\"}"
                }
                members += ["\"syscall\":" + (call ?? "null"),
                            "\"frames\":[" + violation.backtrace.prefix(Self.shownFrames).map(JSONText.frame).joined(separator: ",") + "]"]
            }
            members += ["\"inputs\":[" + entry.inputs.joined(separator: ",") + "]",
                        "\"reproduce\":[" + entry.reproduce.map(JSONText.quoted).joined(separator: ",") + "]",
                        "\"reproduced\":\(entry.reproduced)", "\"replays\":\(replayer.times)"]
            return "{" + members.joined(separator: ",") + "}"
        } + ["{\"total\":\(triage.total),\"returned\":\(triage.returned),\"groups\":\(triage.groups.count)}"]
    }

    /// A group's top frames for a person: where it died, then — past the C and
    /// C++ runtime's frames that say how (`raise`, `abort`, `__assert_fail`,
    /// `free`, …), named in one line — the frames of the code that did it.
    static func frameLines(_ backtrace: [Frame]) -> [String] {
        func line(_ frame: Frame, first: Bool) -> String {
            (first ? "    at " : "       ") + frame.description + (frame.inlined ? " [inlined]" : "")
        }
        guard let first = backtrace.first else { return [] }
        var lines = [line(first, first: true)]
        var next = 1
        if Bucket.isRuntime(first), let own = backtrace.firstIndex(where: { !Bucket.isRuntime($0) }), own > 1 {
            let skipped = backtrace[1..<own].map { $0.symbol.map(SourceSymbolizer.baseName) ?? $0.imageName ?? "?" }
            lines.append("       … \(skipped.count) runtime frame\(skipped.count == 1 ? "" : "s"): " + skipped.joined(separator: ", "))
            next = own
        }
        // Recursion: a frame, or a cycle of up to 4 frames, repeated in a row is shown once, with its count.
        let rest = Array(backtrace[next...])
        func same(_ a: Frame, _ b: Frame) -> Bool { a.description == b.description && a.inlined == b.inlined }
        var runs: [(frames: ArraySlice<Frame>, count: Int)] = []
        var at = 0
        while at < rest.count {
            var best = (period: 1, count: 1)
            for period in 1...4 where at + 2 * period <= rest.count {
                var count = 1
                while at + (count + 1) * period <= rest.count,
                      (0..<period).allSatisfy({ same(rest[at + $0], rest[at + count * period + $0]) }) {
                    count += 1
                }
                if count > 1 && period * count > best.period * best.count { best = (period, count) }
            }
            runs.append((rest[at..<(at + best.period)], best.count))
            at += best.period * best.count
        }
        var shown = 0, used = 0
        for run in runs where shown + run.frames.count <= shownFrames - 1 {
            for (index, frame) in run.frames.enumerated() {
                let last = index == run.frames.count - 1 && run.count > 1
                let repeated = run.frames.count == 1 ? "  × \(run.count)" : "  (these \(run.frames.count) × \(run.count))"
                lines.append(line(frame, first: false) + (last ? repeated : ""))
            }
            shown += run.frames.count
            used += run.frames.count * run.count
        }
        if rest.count - used > 0 { lines.append("       … \(rest.count - used) more") }
        return lines
    }

    /// The blocks for a person.
    func textLines() -> [String] {
        var lines: [String] = []
        for (number, entry) in entries.enumerated() {
            let group = entry.group
            let share = triage.total > 0 ? Double(group.count) * 100 / Double(triage.total) : 0
            lines.append("#\(number + 1)  \(group.count) input\(group.count == 1 ? "" : "s") (\(Self.percent(share)))  \(group.key)")
            lines.append("    " + Self.headline(group.outcome))
            if let message = group.outcome.fault?.message { lines.append("    message: \(message)") }
            if let backtrace = group.outcome.fault?.backtrace ?? group.outcome.violation?.backtrace {
                lines += Self.frameLines(backtrace)
            }
            let more = group.count > entry.inputs.count ? " … (\(group.count - entry.inputs.count) more)" : ""
            lines.append("    inputs: " + entry.inputs.joined(separator: ", ") + more)
            lines.append("    reproduce: " + entry.reproduce.map(Self.shellQuoted).joined(separator: " "))
            if replayer.times > 0 {
                let verdict = entry.reproduced == replayer.times ? "reproduced" : entry.reproduced == 0 ? "not reproduced" : "flaky"
                lines.append("    \(verdict) \(entry.reproduced)/\(replayer.times)")
            }
            lines.append("")
        }
        let failed = triage.total - triage.returned
        lines.append("\(triage.total) inputs: \(triage.returned) returned, \(failed) failed in \(triage.groups.count) group\(triage.groups.count == 1 ? "" : "s")")
        return lines
    }

    /// `SIGSEGV, write at 0x0, DestAvNearNull (PROBABLY_EXPLOITABLE)`, or the outcome's own words.
    private static func headline(_ outcome: Outcome) -> String {
        guard let fault = outcome.fault else { return outcome.description }
        var text = fault.signal.name
        if let access = fault.access { text += ", \(access.rawValue)" }
        text += fault.address.map { " at 0x\(String($0, radix: 16))" } ?? (fault.access == nil ? "" : " (address unknown)")
        return text + ", " + fault.severity.description + " [heuristic]"
    }

    private static func percent(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) %"
    }

    /// A word as a POSIX shell reads it back.
    static func shellQuoted(_ word: String) -> String {
        let safe = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:+,@".contains($0) }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension String {
    /// `replacingOccurrences` without Foundation.
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
