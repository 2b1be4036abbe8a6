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
        var line = "{\"input\":\(inputJSON)," + jsonMembers
        if let replay { line += ",\"replay\":{" + replay.jsonMembers + "}" }
        if !extra.isEmpty { line += "," + extra }
        return line + "}"
    }

    /// The members of the JSON object, from `"outcome"` on, without braces.
    var jsonMembers: String {
        var line = "\"outcome\":\"\(kind)\""
        switch self {
        case .returned(let value, let out):
            line += ",\"value\":" + value.json
            if !out.isEmpty { line += ",\"out\":[" + out.map(\.json).joined(separator: ",") + "]" }
        case .signaled(let fault):
            line += ",\"signal\":\"\(fault.signal.name)\",\"signo\":\(fault.signal.rawValue)"
            line += ",\"code\":" + (fault.code.map(String.init) ?? "null")
            line += ",\"address\":" + (fault.address.map { "\"0x\(String($0, radix: 16))\"" } ?? "null")
            line += ",\"backtrace\":[" + fault.backtrace.map { JSONText.quoted($0.description) }.joined(separator: ",") + "]"
            line += ",\"frames\":[" + fault.backtrace.map(JSONText.frame).joined(separator: ",") + "]"
            if fault.truncated { line += ",\"truncated\":true" }
        case .exited(let status):
            line += ",\"status\":\(status)"
        case .timedOut(let after):
            line += ",\"seconds\":\(after.seconds)"
        case .corrupted(let detail):
            line += ",\"detail\":" + JSONText.quoted(detail)
        }
        return line
    }
}

/// Minimal JSON text helpers for the streaming form (also used by the
/// `faultline` command's other JSON output).
package enum JSONText {
    /// A JSON string literal.
    package static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let c where c.value < 0x20: result += "\\u" + String(repeating: "0", count: 4 - String(c.value, radix: 16).count) + String(c.value, radix: 16)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// A frame in the same shape as `Frame`'s Codable form.
    static func frame(_ frame: Frame) -> String {
        var parts = ["\"address\":\(frame.address)"]
        if let symbol = frame.symbol { parts.append("\"symbol\":" + quoted(symbol)) }
        if let offset = frame.offset { parts.append("\"offset\":\(offset)") }
        if let image = frame.image { parts.append("\"image\":" + quoted(image)) }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
