import CFaultline

extension Outcome {
    /// Translates the C report into a typed outcome, resolving backtrace
    /// addresses to names (never done inside a handler).
    init(report: fl_report, symbolize: Bool = true) throws(InconsistentReport) {
        try self.init(report: report, namedFrames: nil, symbolize: symbolize)
    }

    /// Translates a report whose frames were already named elsewhere (the pool's
    /// helper names them, since the library is mapped there and not necessarily
    /// here; ``Symbolizer`` decodes what it sends).
    init(report: fl_report, namedFrames: [Frame]?, symbolize: Bool = false) throws(InconsistentReport) {
        switch fl_kind(rawValue: UInt32(bitPattern: report.kind)) {
        case FL_KIND_RETURNED:
            self = .returned(report.value)
        case FL_KIND_EXITED:
            self = .exited(status: report.value)
        case FL_KIND_TIMED_OUT:
            self = .timedOut(.nanoseconds(report.elapsed_ns))
        case FL_KIND_CORRUPTED:
            self = .corrupted(detail: Self.corruptionDetail(report))
        case FL_KIND_SIGNALED:
            let detailed = report.flags & UInt32(FL_REPORT_DETAILED) != 0
            var addresses: [UInt64] = []
            if detailed {
                withUnsafeBytes(of: report.frames) { raw in
                    let frames = raw.bindMemory(to: UInt64.self)
                    addresses = Array(frames.prefix(Int(min(report.frame_count, UInt32(FL_MAX_FRAMES)))))
                }
            }
            self = .signaled(Fault(
                signal: Signal(report.signo),
                code: detailed ? report.code : nil,
                address: detailed && report.code > 0 ? report.address : nil,
                backtrace: namedFrames
                    ?? (symbolize ? Symbolizer.frames(for: addresses) : addresses.map { Frame(address: $0) }),
                truncated: report.flags & UInt32(FL_REPORT_TRUNCATED) != 0))
        default:
            throw InconsistentReport(kind: report.kind)
        }
    }
}

extension Outcome {
    /// The sentence for a CORRUPTED report: what was found, and what the call
    /// returned when that much is known.
    static func corruptionDetail(_ report: fl_report) -> String {
        let returned = report.flags & UInt32(FL_REPORT_VALUE_KNOWN) != 0 ? "the call returned \(report.value), then " : ""
        let signal = report.signo > 0 ? " (the process died of \(Signal(report.signo).name))" : ""
        switch Int(report.code) {
        case Int(FL_CORRUPTION_SHARED_OVERWRITTEN):
            return returned + "Faultline found the memory it shares with the worker overwritten"
        case Int(FL_CORRUPTION_PRIVATE_OVERWRITTEN):
            return returned + "Faultline found its own memory in the worker overwritten"
        case Int(FL_CORRUPTION_RECORDS_OVERWRITTEN):
            return "the process died during the call and Faultline's records of the call were overwritten" + signal
        case Int(FL_CORRUPTION_HELPER_KILLED):
            return "the call killed Faultline's helper process (its parent); how the call itself ended is unknown"
        case Int(FL_CORRUPTION_DIED_AFTER_RETURN):
            return returned + "its process died before Faultline could record it" + signal
        default:
            return "Faultline's record of the call was destroyed (code \(report.code))"
        }
    }
}

/// Faultline's C half handed back a report of no known kind: a bug in
/// Faultline, never an outcome of the callee. Thrown instead of guessing one.
public struct InconsistentReport: Error, Hashable, Sendable, CustomStringConvertible {
    /// The raw `fl_kind` found in the report.
    public var kind: Int32

    /// One line naming the kind.
    public var description: String { "internal error: a call report of unknown kind \(kind)" }
}
