#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Faultline

/// How a subject (the supervised child) tells its watchdog what happened.
///
/// The subject writes lines `@tag field field… rest` to stdout and flushes
/// each one with a single unbuffered write(2), so that a subject that dies or hangs has already told
/// everything up to that moment. Other lines (e.g. the victims' own prints)
/// are ignored.
public enum SubjectChannel {
    /// Writes one `@tag fields…` line and flushes it.
    public static func emit(_ tag: String, _ fields: String...) {
        let line = (["@" + tag] + fields).joined(separator: " ") + "\n"
        Output.out(line)
    }

    /// Writes `@metric key value`.
    public static func metric(_ key: String, _ value: Double) {
        emit("metric", key, String(value))
    }

    /// Writes `@call index json` with the exact outcome and the call's wall time.
    public static func call(_ index: Int, _ record: CallRecord) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(record)) ?? Data("{}".utf8)
        emit("call", String(index), String(decoding: data, as: UTF8.self))
    }

    /// Parses the `@` lines of a subject's output.
    public static func lines(_ output: String) -> [SubjectLine] {
        output.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("@") else { return nil }
            let parts = line.dropFirst().split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            return SubjectLine(tag: parts[0], first: parts.count > 1 ? parts[1] : "", rest: parts.count > 2 ? parts[2] : "")
        }
    }
}

/// One `@tag first rest` line.
public struct SubjectLine: Sendable, Equatable {
    /// The tag without `@`.
    public var tag: String
    /// The first field.
    public var first: String
    /// Everything after the first field.
    public var rest: String
}

extension BidirectionalCollection where Element == SubjectLine {
    /// The value of `@metric key value`, if emitted.
    public func metric(_ key: String) -> Double? {
        last { $0.tag == "metric" && $0.first == key }.flatMap { Double($0.rest) }
    }

    /// The `@call` records, by index.
    public func calls() -> [Int: CallRecord] {
        var result: [Int: CallRecord] = [:]
        for line in self where line.tag == "call" {
            if let index = Int(line.first), let record = try? JSONDecoder().decode(CallRecord.self, from: Data(line.rest.utf8)) {
                result[index] = record
            }
        }
        return result
    }

    /// How many lines have this tag.
    public func count(_ tag: String) -> Int { filter { $0.tag == tag }.count }
}
