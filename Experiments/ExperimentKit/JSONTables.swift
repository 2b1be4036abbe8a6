import Foundation

/// Renders any JSON document as Markdown tables, without knowing its schema:
/// used for the "Performance" section, which shows whatever `faultline bench --json` holds.
///
/// Rules: each top-level key is a heading; scalars (and arrays of scalars)
/// of an object go in one `key | value` table, nested objects flattened with
/// dotted keys; sibling objects that share at least a third of their keys become one
/// matrix (a column per object, a row per leaf); arrays of objects become a
/// table with a column per key.
public enum JSONTables {
    /// Markdown for `data`, with headings starting at `level`; nil when it is not JSON.
    public static func markdown(_ data: Data, level: Int = 3) -> String? {
        guard let root = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        var out: [String] = []
        if let object = root as? [String: Any] {
            for key in orderedKeys(of: data, object) {
                out.append(String(repeating: "#", count: level) + " " + key)
                out.append("")
                render(object[key]!, level: level + 1, into: &out)
            }
        } else {
            render(root, level: level, into: &out)
        }
        return out.joined(separator: "\n")
    }

    private static func render(_ value: Any, level: Int, into out: inout [String]) {
        if let object = value as? [String: Any] {
            renderObject(object, level: level, into: &out)
        } else if let array = value as? [Any], !array.isEmpty, array.allSatisfy({ $0 is [String: Any] }) {
            renderRows(array.compactMap { $0 as? [String: Any] }, into: &out)
        } else {
            out.append(cell(value))
            out.append("")
        }
    }

    private static func renderObject(_ object: [String: Any], level: Int, into out: inout [String]) {
        let keys = object.keys.sorted()
        let children = keys.filter { object[$0] is [String: Any] }
        let rowArrays = keys.filter { key in (object[key] as? [Any]).map { !$0.isEmpty && $0.allSatisfy { $0 is [String: Any] } } ?? false }
        var scalars: [(String, Any)] = keys.filter { !children.contains($0) && !rowArrays.contains($0) }.map { ($0, object[$0]!) }

        // Sibling objects that look alike form a matrix; the others are flattened into the scalar table.
        var matrix: [String] = []
        if children.count >= 2 {
            let leafSets = children.map { Set(flatten(object[$0] as! [String: Any]).map(\.0)) }
            let common = leafSets.dropFirst().reduce(leafSets[0]) { $0.intersection($1) }
            if common.count * 3 >= (leafSets.map(\.count).max() ?? 0) { matrix = children }
        }
        for child in children where !matrix.contains(child) {
            scalars += flatten(object[child] as! [String: Any]).map { ("\(child).\($0.0)", $0.1) }
        }
        if !scalars.isEmpty {
            out += ["| key | value |", "|---|---|"]
            out += scalars.map { "| \($0.0) | \(cell($0.1)) |" }
            out.append("")
        }
        if !matrix.isEmpty {
            let flattened = matrix.map { Dictionary(flatten(object[$0] as! [String: Any]), uniquingKeysWith: { first, _ in first }) }
            var rows: [String] = []
            for columns in flattened { for key in columns.keys.sorted() where !rows.contains(key) { rows.append(key) } }
            rows.sort()
            out.append("| | " + matrix.joined(separator: " | ") + " |")
            out.append("|---|" + String(repeating: "---|", count: matrix.count))
            for row in rows {
                out.append("| \(row) | " + flattened.map { $0[row].map(cell) ?? "—" }.joined(separator: " | ") + " |")
            }
            out.append("")
        }
        for key in rowArrays {
            out.append(String(repeating: "#", count: min(level, 6)) + " " + key)
            out.append("")
            renderRows((object[key] as! [Any]).compactMap { $0 as? [String: Any] }, into: &out)
        }
    }

    private static func renderRows(_ rows: [[String: Any]], into out: inout [String]) {
        var columns: [String] = []
        for row in rows { for key in row.keys.sorted() where !columns.contains(key) { columns.append(key) } }
        out.append("| " + columns.joined(separator: " | ") + " |")
        out.append("|" + String(repeating: "---|", count: columns.count))
        for row in rows { out.append("| " + columns.map { row[$0].map(cell) ?? "—" }.joined(separator: " | ") + " |") }
        out.append("")
    }

    /// Leaves of an object with dotted paths; arrays stay whole.
    private static func flatten(_ object: [String: Any]) -> [(String, Any)] {
        object.keys.sorted().flatMap { key -> [(String, Any)] in
            if let nested = object[key] as? [String: Any] { return flatten(nested).map { ("\(key).\($0.0)", $0.1) } }
            return [(key, object[key]!)]
        }
    }

    /// One table cell: numbers readable, null as a dash, text without pipes or newlines.
    static func cell(_ value: Any) -> String {
        switch value {
        case is NSNull: return "—"
        case let number as NSNumber where String(cString: number.objCType) == "c": return number.boolValue ? "yes" : "no"
        case let number as NSNumber: return self.number(number.doubleValue)
        case let text as String: return text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        case let array as [Any]: return array.map(cell).joined(separator: ", ")
        default:
            let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])) ?? Data()
            return cell(String(decoding: data, as: UTF8.self))
        }
    }

    private static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        if abs(value) >= 1000 { return String(Int64(value.rounded())) }
        if abs(value) >= 1 { return Format.fixed(value, digits: 2) }
        return Format.fixed(value, digits: 4)
    }

    /// Top-level keys in document order when they can be found, else sorted.
    private static func orderedKeys(of data: Data, _ object: [String: Any]) -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        return object.keys.sorted { a, b in
            let ra = text.range(of: "\"\(a)\":")?.lowerBound, rb = text.range(of: "\"\(b)\":")?.lowerBound
            switch (ra, rb) {
            case let (x?, y?): return x < y
            default: return a < b
            }
        }
    }
}
