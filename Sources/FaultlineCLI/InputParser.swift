import Faultline
#if canImport(Glibc)
import Glibc
#endif

/// A malformed input: where it was and what is wrong with it, quoting at
/// most ``InputProblem/quoteLimit`` characters of it (an input may be a
/// megabyte long; the message stays one short line).
struct InputProblem: Error, CustomStringConvertible {
    /// Where an input came from.
    enum Place {
        /// The n-th input argument (1-based).
        case argument(Int)
        /// Line n of standard input (1-based).
        case line(Int)
    }

    /// How many characters of a bad input a message quotes at most.
    static let quoteLimit = 80

    /// Where the input was.
    var place: Place
    /// What is wrong, without the input itself (e.g. `invalid JSON at '+8': expected a JSON value`).
    var problem: String
    /// The input's text (only its beginning is ever shown).
    var text: Substring

    /// `line 7 of standard input: malformed input '12x': expected …`.
    var description: String {
        let location = switch place {
        case .argument(let n): "input \(n)"
        case .line(let n): "line \(n) of standard input"
        }
        return "\(location): malformed input \(Self.quote(text)): \(problem)"
    }

    /// `'text'`, cut to the quote limit with `…` and the total length when longer.
    static func quote(_ text: Substring) -> String {
        let shown = text.prefix(quoteLimit)
        let printable = String(shown.unicodeScalars.map { $0.value < 0x20 || $0 == "\u{7f}" ? "?" : Character($0) })
        return shown.count < text.count ? "'\(printable)…' (\(text.utf8.count) bytes)" : "'\(printable)'"
    }
}

/// How one input is read from its text: the same rules for an argument and
/// for a line of standard input.
struct InputFormat<Input: Sendable>: Sendable {
    /// Parses one input's text (already known not to be blank), or says what is wrong with it.
    let parse: @Sendable (Substring) -> Result<Input, InputProblemKind>

    /// What is wrong with an input, before its place is known.
    struct InputProblemKind: Error {
        var problem: String
    }

    /// Parses every argument; the first bad one is an error naming it.
    func parseArguments(_ words: [String]) throws(InputProblem) -> [Input] {
        var inputs: [Input] = []
        inputs.reserveCapacity(words.count)
        for (index, word) in words.enumerated() {
            let text = Substring(word).trimmingSpaces()
            switch text.isEmpty ? .failure(InputProblemKind(problem: "the input is empty")) : parse(text) {
            case .success(let input): inputs.append(input)
            case .failure(let kind): throw InputProblem(place: .argument(index + 1), problem: kind.problem, text: Substring(word))
            }
        }
        return inputs
    }
}

extension InputFormat where Input == Int32 {
    /// `int32(int32)`: the inputs of ``Signature/default``, read by the one
    /// parser of every signature (``Signature/parseInput(_:)``), so that
    /// `--signature 'int32(int32)'` and no signature accept and refuse the
    /// same texts: a JSON integer (optional `-`, digits, no `+`, no leading
    /// zero; `-0` is 0) from -2147483648 to 2147483647, or a one-element JSON
    /// array of one; spaces around it allowed.
    static var int32: InputFormat<Int32> {
        let values = InputFormat<[Value]>.signature(.default)
        return InputFormat { text in
            switch values.parse(text) {
            case .success(let parsed):
                guard case .int32(let value) = parsed.first else { preconditionFailure("int32(int32) reads one int32") }
                return .success(value)
            case .failure(let problem):
                return .failure(InputFormat<Int32>.InputProblemKind(problem: problem.problem))
            }
        }
    }
}

extension Substring {
    /// The text without leading and trailing spaces, tabs and carriage returns.
    func trimmingSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}

extension Result {
    /// True for `.failure`.
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
