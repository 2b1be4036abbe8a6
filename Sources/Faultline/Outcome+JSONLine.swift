import Synchronization

/// The streaming form of the `faultline call` contract: one JSON object per
/// input with `input` first, written without an encoder so that a million
/// outcomes print quickly. `JSONDecoder().decode(Outcome.self, …)` reads it
/// back (the `input` key is ignored), and the tests check that it agrees with
/// the `Codable` form.
extension Outcome {
    /// `{"input":4,"outcome":"returned","value":4}` and the like, without a newline.
    public func jsonLine(input: Int32) -> String {
        jsonLine(inputJSON: String(input))
    }

    /// The same with the input already in its JSON form (`[1.5,"abc"]` for a
    /// call with a signature), and optionally the outcome of the input's
    /// replay alone in a fresh process (`"replay":{…}`, without `input`) and
    /// extra members (`extra`, e.g. `"memory_limit":1048576`, without braces).
    public func jsonLine(inputJSON: String, replay: Outcome? = nil, extra: String = "") -> String {
        var bytes: [UInt8] = []
        appendJSONLine(to: &bytes, inputJSON: inputJSON, replay: replay, extra: extra)
        return String(decoding: bytes.dropLast(), as: UTF8.self) // without the newline
    }

    /// Appends ``jsonLine(inputJSON:replay:extra:)`` and a newline to `bytes`,
    /// without building the line as a string first (the CLI's output buffer).
    package func appendJSONLine(to bytes: inout [UInt8], inputJSON: String, replay: Outcome? = nil, extra: String = "") {
        bytes.append(contentsOf: "{\"input\":".utf8)
        bytes.append(contentsOf: inputJSON.utf8)
        bytes.append(UInt8(ascii: ","))
        if case .signaled(let fault) = self {
            bytes.append(contentsOf: "\"outcome\":\"signaled\"".utf8)
            bytes.append(contentsOf: JSONText.faultMembers(fault).utf8)
        } else {
            bytes.append(contentsOf: jsonMembers.utf8)
        }
        if let replay { bytes.append(contentsOf: (",\"replay\":{" + replay.jsonMembers + "}").utf8) }
        if !extra.isEmpty {
            bytes.append(UInt8(ascii: ","))
            bytes.append(contentsOf: extra.utf8)
        }
        bytes.append(contentsOf: "}\n".utf8)
    }

    /// The members of the JSON object, from `"outcome"` on, without braces.
    var jsonMembers: String {
        var line = "\"outcome\":\"\(kind)\""
        switch self {
        case .returned(let value, let out):
            line += ",\"value\":" + value.json
            if !out.isEmpty { line += ",\"out\":[" + out.map(\.json).joined(separator: ",") + "]" }
        case .signaled(let fault):
            line += JSONText.faultMembers(fault)
        case .exited(let status):
            line += ",\"status\":\(status)"
        case .timedOut(let after):
            line += ",\"seconds\":\(after.seconds)"
        case .corrupted(let detail):
            line += ",\"detail\":" + JSONText.quoted(detail)
        case .violation(let violation):
            line += JSONText.violationMembers(violation)
        }
        return line
    }
}

/// Minimal JSON text helpers for the streaming form (also used by the
/// `faultline` command's other JSON output).
package enum JSONText {
    /// A JSON string literal: `"`, `\\`, and the control characters escaped,
    /// everything else (UTF-8 included) as is.
    package static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 2)
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The members of a `signaled` outcome after `"outcome"` (from `,"signal"`
    /// on), made once per distinct fault: a crash loop prints the same fault,
    /// frames and names over and over (at most 1024 kept).
    static func faultMembers(_ fault: Fault) -> String {
        // Looked up by the numbers only (cheap to hash), then compared whole:
        // a fault with the same addresses and other names is not the same text.
        // A crash loop repeats the last fault: compared whole first (its frames are
        // usually the Symbolizer's very array, which compares by identity), no hashing.
        if let last = faultCache.withLock({ $0.last }), last.fault == fault { return last.members }
        let key = FaultKey(fault)
        if let known = faultCache.withLock({ $0.entries[key] }), known.fault == fault {
            faultCache.withLock { $0.last = known }
            return known.members
        }
        var line = ",\"signal\":\"\(fault.signal.name)\",\"signo\":\(fault.signal.rawValue)"
        line += ",\"code\":" + (fault.code.map(String.init) ?? "null")
        line += ",\"address\":" + (fault.address.map { "\"0x\(String($0, radix: 16))\"" } ?? "null")
        line += ",\"backtrace\":[" + fault.backtrace.map { quoted($0.description) }.joined(separator: ",") + "]"
        line += ",\"frames\":[" + fault.backtrace.map(frame).joined(separator: ",") + "]"
        if fault.truncated { line += ",\"truncated\":true" }
        line += ",\"access\":" + access(fault.access)
        if let message = fault.message { line += ",\"message\":" + quoted(message) }
        if let stackPointer = fault.stackPointer { line += ",\"stack_pointer\":\(stackPointer)" }
        line += ",\"severity\":" + severity(fault.severity)
        line += ",\"bucket\":\"\(fault.bucket)\""
        if fault.cutAtCall { line += ",\"cut_at_call\":true" }
        faultCache.withLock { cache in
            if cache.entries.count >= 1024 { cache.entries.removeAll(keepingCapacity: true) }
            cache.entries[key] = (fault, line)
            cache.last = (fault, line)
        }
        return line
    }

    /// The members of a `violation` outcome after `"outcome"`: `syscall` (or
    /// null), `pc`, `backtrace`, `frames`, `bucket`, `cut_at_call`.
    static func violationMembers(_ violation: Violation) -> String {
        var line = ",\"syscall\":"
        if let call = violation.syscall {
            line += "{\"name\":" + (call.name.map(quoted) ?? "null") + ",\"number\":\(call.number),\"arch\":" + quoted(call.arch)
            line += ",\"args\":[" + call.args.map { String($0) }.joined(separator: ",") + "]}"
        } else {
            line += "null"
        }
        if let pc = violation.pc { line += ",\"pc\":\"0x\(String(pc, radix: 16))\"" }
        line += ",\"backtrace\":[" + violation.backtrace.map { quoted($0.description) }.joined(separator: ",") + "]"
        line += ",\"frames\":[" + violation.backtrace.map(frame).joined(separator: ",") + "]"
        line += ",\"bucket\":" + quoted(violation.bucket)
        if violation.cutAtCall { line += ",\"cut_at_call\":true" }
        return line
    }

    /// A fault's numbers: signal, code, address, frame addresses.
    private struct FaultKey: Hashable {
        var numbers: [UInt64]
        init(_ fault: Fault) {
            numbers = [UInt64(fault.signal.rawValue), fault.code.map { UInt64(UInt32(bitPattern: $0)) } ?? .max,
                       fault.address ?? .max, fault.truncated ? 1 : 0, fault.stackPointer ?? .max,
                       UInt64(fault.message?.utf8.count ?? 0)] + fault.backtrace.map(\.address)
        }
    }

    /// Made fault texts by their numbers, and the last one made or found.
    private struct FaultCache {
        var entries: [FaultKey: (fault: Fault, members: String)] = [:]
        var last: (fault: Fault, members: String)?
    }

    private static let faultCache = Mutex(FaultCache())

    /// An access kind as JSON: `"write"`, or `null` when unknown.
    package static func access(_ access: Fault.Access?) -> String {
        access.map { "\"\($0.rawValue)\"" } ?? "null"
    }

    /// A severity in the same shape as its Codable form: `{"class":…,"exploitability":…}`.
    package static func severity(_ severity: Severity) -> String {
        "{\"class\":\"\(severity.crashClass)\",\"exploitability\":\"\(severity.exploitability.rawValue)\"}"
    }

    /// A frame in the same shape as `Frame`'s Codable form.
    package static func frame(_ frame: Frame) -> String {
        var parts = ["\"address\":\(frame.address)"]
        if let symbol = frame.symbol { parts.append("\"symbol\":" + quoted(symbol)) }
        if let offset = frame.offset { parts.append("\"offset\":\(offset)") }
        if let image = frame.image { parts.append("\"image\":" + quoted(image)) }
        if let buildID = frame.buildID { parts.append("\"build_id\":" + quoted(buildID)) }
        if let imageOffset = frame.imageOffset { parts.append("\"image_offset\":\(imageOffset)") }
        if let file = frame.file { parts.append("\"file\":" + quoted(file)) }
        if let line = frame.line { parts.append("\"line\":\(line)") }
        if let column = frame.column { parts.append("\"column\":\(column)") }
        if frame.inlined { parts.append("\"inlined\":true") }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
