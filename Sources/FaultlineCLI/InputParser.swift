import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Reads and checks every input before any call is made, so that a malformed
/// input stops the command before a worker starts.
enum InputParser {
    /// Parses the command-line inputs, or one integer per line of standard input.
    static func parse(arguments: [String], standardInput: Bool) throws -> [Int32] {
        if !standardInput {
            let words = arguments.first == "--" ? Array(arguments.dropFirst()) : arguments
            return try words.map(parse)
        }
        var values: [Int32] = []
        var lineNumber = 0
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            let word = line.trimmingCharacters()
            if word.isEmpty { continue }
            do { values.append(try parse(word)) } catch {
                throw ValidationError("malformed input '\(word)' on line \(lineNumber) of standard input: expected a decimal integer")
            }
        }
        return values
    }

    /// One decimal integer that fits in 32 bits.
    static func parse(_ word: String) throws -> Int32 {
        guard let value = Int32(word) else {
            if word.hasPrefix("-"), Int(word) == nil, !word.dropFirst().allSatisfy(\.isNumber) {
                throw ValidationError("unknown option '\(word)'")
            }
            throw ValidationError("malformed input '\(word)': expected a decimal integer from \(Int32.min) to \(Int32.max)")
        }
        return value
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and carriage returns.
    func trimmingCharacters() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
