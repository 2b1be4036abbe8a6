#if canImport(Glibc)
import Glibc
#endif
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
                address: detailed ? Fault.meaningfulAddress(report.address, code: report.code) : nil,
                access: detailed ? Fault.access(report.access) : nil,
                message: detailed ? Fault.message(of: report) : nil,
                stackPointer: detailed && report.sp != 0 ? report.sp : nil,
                backtrace: namedFrames
                    ?? (symbolize ? Symbolizer.frames(for: addresses, notes: Fault.notedImages(of: report))
                                  : addresses.map { Frame(address: $0) }),
                truncated: report.flags & UInt32(FL_REPORT_TRUNCATED) != 0,
                cutAtCall: report.flags & UInt32(FL_REPORT_CUT_AT_CALL) != 0))
        case FL_KIND_CORRUPTED:
            self = .corrupted(detail: Self.corruptionDetail(report, returned: String(report.value)))
        default:
            throw InconsistentReport(kind: report.kind)
        }
    }
}

extension Outcome {
    /// The sentence for a pool's CORRUPTED report (its `code` is an FL_CORRUPTION_*): what was found, and what the call
    /// returned when that much is known.
    static func poolCorruptionDetail(_ report: fl_report) -> String {
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
        default:
            return "Faultline's record of the call was destroyed (code \(report.code))"
        }
    }

    /// The detail of a `FL_KIND_CORRUPTED` report, in one line: what the call
    /// did (when it is known that it returned, `returned` is the value as
    /// JSON), what Faultline found destroyed, and how the process then ended.
    ///
    /// `the call returned 5, then Faultline found its result page overwritten`
    static func corruptionDetail(_ report: fl_report, returned: String?) -> String {
        let flags = report.flags
        let corruptBits = UInt32(FL_CORRUPT_RETURNED | FL_CORRUPT_PAGE | FL_CORRUPT_PRIVATE | FL_CORRUPT_CHECK | FL_CORRUPT_SIGNALED | FL_CORRUPT_EXITED | FL_CORRUPT_FAULT_REPORT)
        if flags & corruptBits == 0 { return poolCorruptionDetail(report) }
        func has(_ flag: Int) -> Bool { flags & UInt32(flag) != 0 }
        var found: [String] = []
        if has(FL_CORRUPT_PAGE) { found.append("its result page") }
        if has(FL_CORRUPT_PRIVATE) { found.append("its private memory in the child") }
        let overwritten = found.isEmpty ? nil : found.joined(separator: " and ") + " overwritten"
        var ending: String?
        if has(FL_CORRUPT_SIGNALED) {
            ending = "the process was killed by \(Signal(report.signo).name)"
        } else if has(FL_CORRUPT_EXITED) {
            ending = "the process exited with status \(report.code)"
        }
        var parts: [String] = []
        if has(FL_CORRUPT_RETURNED) {
            parts.append("the call returned \(returned ?? String(report.value))")
            if let overwritten { parts.append("then Faultline found \(overwritten)") }
            if let ending { parts.append("then \(ending)") }
        } else if has(FL_CORRUPT_FAULT_REPORT) {
            parts.append("a fault report for \(Signal(report.signo).name) was found")
            parts.append("but \(ending ?? "the process did not die of it")")
        } else {
            if let overwritten { parts.append("Faultline found \(overwritten)") }
            if has(FL_CORRUPT_CHECK) { parts.append("its result record failed its check") }
            if let ending { parts.append(ending) }
            parts.append("so whether the call returned is unknown")
        }
        return parts.joined(separator: ", ")
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

extension InitFailure {
    /// The failure an `FL_KIND_INIT_FAILED` report describes (how the
    /// initializer ended is in its `FL_INIT_*` flag); nil for any other kind.
    init?(report: fl_report, initializer: String) {
        guard report.kind == Int32(FL_KIND_INIT_FAILED.rawValue) else { return nil }
        let flags = report.flags
        func has(_ flag: Int) -> Bool { flags & UInt32(flag) != 0 }
        let reason: Reason
        if has(FL_INIT_SIGNALED) {
            let detailed = has(FL_REPORT_DETAILED)
            reason = .signaled(Signal(report.signo), address: detailed && report.code > 0 ? report.address : nil)
        } else if has(FL_INIT_EXITED) {
            reason = .exited(status: report.value)
        } else if has(FL_INIT_TIMED_OUT) {
            reason = .timedOut(.nanoseconds(report.elapsed_ns))
        } else {
            reason = .returned(report.value)
        }
        self.init(initializer: initializer, reason: reason)
    }
}

extension Fault {
    /// `si_code` of a fault the kernel raised without an address it could report
    /// (a non-canonical pointer on x86-64).
    static let kernelCode: Int32 = 0x80

    /// The address a report carries, when it means something: never for a sent
    /// signal (`si_code` ≤ 0: `si_addr` then holds the sender's pid) nor for `SI_KERNEL`.
    static func meaningfulAddress(_ address: UInt64, code: Int32) -> UInt64? {
        code > 0 && code != kernelCode ? address : nil
    }

    /// The images the crashed process noted (libraries its callee loaded).
    static func notedImages(of report: fl_report) -> [Symbolizer.NotedImage] {
        let count = Int(min(report.image_note_count, UInt32(FL_IMAGE_NOTES)))
        guard count > 0 else { return [] }
        return withUnsafeBytes(of: report.image_notes) { raw in
            raw.bindMemory(to: fl_image_note.self).prefix(count).compactMap { note in
                var note = note
                let path = withUnsafeBytes(of: &note.path) { bytes in
                    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard !path.isEmpty, note.low < note.high else { return nil }
                let idLength = Int(min(note.build_id_length, 32))
                let buildID = idLength == 0 ? nil : withUnsafeBytes(of: note.build_id) { Array($0.prefix(idLength)) }
                return Symbolizer.NotedImage(low: note.low, high: note.high,
                                             location: ImageLocation(path: path, bias: note.bias, buildID: buildID))
            }
        }
    }

    /// The access kind of an `fl_access`.
    static func access(_ raw: UInt32) -> Access? {
        switch fl_access(rawValue: raw) {
        case FL_ACCESS_READ: .read
        case FL_ACCESS_WRITE: .write
        case FL_ACCESS_EXEC: .exec
        default: nil
        }
    }

    /// The report's message, as a person reads it: glibc's text as is, an
    /// uncaught C++ exception's type (`typeinfo:` + its mangled name) demangled.
    static func message(of report: fl_report) -> String? {
        let length = Int(min(report.message_length, UInt32(FL_MESSAGE_MAX)))
        guard length > 0 else { return nil }
        let text = withUnsafeBytes(of: report.message) { raw in
            String(decoding: raw.prefix(length), as: UTF8.self)
        }
        let typePrefix = "typeinfo:"
        guard text.hasPrefix(typePrefix) else { return withoutProgramName(text) }
        let mangled = String(text.dropFirst(typePrefix.count))
        let named = Symbolizer.demangle("_ZTS" + mangled)
        let prefix = "typeinfo name for "
        return "uncaught exception of type " + (named.hasPrefix(prefix) ? String(named.dropFirst(prefix.count)) : mangled)
    }

    /// An assert's line starts with the name of the process that failed it:
    /// Faultline's (`faultline-helper: parser.c:88: …`), never the callee's, so it goes.
    static func withoutProgramName(_ text: String) -> String {
        for name in ["faultline-helper", ProgramName.current] where !name.isEmpty && text.hasPrefix(name + ": ") {
            return String(text.dropFirst(name.count + 2))
        }
        return text
    }
}

/// The short name of this program, as glibc's messages spell it.
enum ProgramName {
    static let current: String = {
        guard let path = CommandLine.arguments.first else { return "" }
        return path.split(separator: "/").last.map(String.init) ?? path
    }()
}
