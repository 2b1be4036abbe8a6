#if canImport(Glibc)
import Glibc
#endif

/// A system call a ``Sandbox`` allows beyond its preset, when every
/// condition on its argument registers holds (always, without conditions).
///
/// Text form, one rule per `--allow-syscall` or per line of a policy file:
/// `NAME [COND ...]`, `COND` being `aN OP VALUE` (`OP`: `==`, `!=`, `<`, `<=`,
/// `>`, `>=`) or `aN & MASK == VALUE`, N from 0 to 5, values decimal or `0x`
/// hex, at most one condition per argument; `#` starts a comment. Several
/// rules for one call allow it when any holds:
///
/// ```text
/// # policy.txt
/// getcwd
/// socket a0 == 1          # AF_UNIX only
/// ioctl a1 == 0x5401      # TCGETS
/// mmap a2 & 0x4 == 0      # never PROT_EXEC
/// ```
public struct SyscallRule: Hashable, Sendable, CustomStringConvertible {
    /// A comparison of one argument register (64 bits).
    public struct Condition: Hashable, Sendable {
        /// The comparison.
        public enum Operator: String, Hashable, Sendable, CaseIterable {
            case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        }
        /// The argument, 0 to 5.
        public var argument: Int
        public var op: Operator
        public var value: UInt64
        /// With a mask the condition is `(argument & mask) == value` (`op` is `==`).
        public var mask: UInt64?

        /// Creates a condition.
        public init(argument: Int, _ op: Operator, _ value: UInt64, mask: UInt64? = nil) {
            self.argument = argument
            self.op = op
            self.value = value
            self.mask = mask
        }
    }

    /// The system call's name (as libseccomp spells it: `newfstatat`, `pread64`).
    public var name: String
    /// All must hold.
    public var conditions: [Condition]
    /// Where the rule came from, for messages: `--allow-syscall 'x'`, `policy.txt line 3`.
    public var origin: String

    /// Creates a rule.
    public init(_ name: String, conditions: [Condition] = [], origin: String? = nil) {
        self.name = name
        self.conditions = conditions
        self.origin = origin ?? "--allow-syscall '\(name)'"
    }

    /// Parses one rule's text (`socket a0 == 1`); `origin` names it in errors.
    public init(parsing text: Substring, origin: String) throws(SandboxError) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = words.first else { throw .malformedRule(where: origin, reason: "no system call named") }
        guard first.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw .malformedRule(where: origin, reason: "'\(first)' is not a system call name")
        }
        var conditions: [Condition] = []
        var rest = words.dropFirst()
        while let argumentWord = rest.first {
            guard argumentWord.count == 2, argumentWord.first == "a", let digit = Int(argumentWord.dropFirst()), digit <= 5 else {
                throw .malformedRule(where: origin, reason: "expected an argument a0 to a5, found '\(argumentWord)'")
            }
            rest = rest.dropFirst()
            var mask: UInt64?
            if rest.first == "&" {
                guard rest.count >= 2, let parsed = Self.number(rest[rest.startIndex + 1]) else {
                    throw .malformedRule(where: origin, reason: "expected a mask after '&'")
                }
                mask = parsed
                rest = rest.dropFirst(2)
            }
            guard rest.count >= 2, let op = Condition.Operator(rawValue: String(rest[rest.startIndex])) else {
                throw .malformedRule(where: origin, reason: "expected ==, !=, <, <=, > or >= after \(argumentWord)")
            }
            guard let value = Self.number(rest[rest.startIndex + 1]) else {
                throw .malformedRule(where: origin, reason: "'\(rest[rest.startIndex + 1])' is not a number")
            }
            if mask != nil && op != .equal { throw .malformedRule(where: origin, reason: "a masked condition takes == only") }
            if conditions.contains(where: { $0.argument == digit }) {
                throw .malformedRule(where: origin, reason: "a\(digit) has two conditions")
            }
            conditions.append(Condition(argument: digit, op, value, mask: mask))
            rest = rest.dropFirst(2)
        }
        self.init(String(first), conditions: conditions, origin: origin)
    }

    /// The rules of a policy file's text: one per line, `#` comments and blank lines skipped.
    public static func policy(_ text: String, file: String) throws(SandboxError) -> [SyscallRule] {
        var rules: [SyscallRule] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard content.contains(where: { !$0.isWhitespace }) else { continue }
            rules.append(try SyscallRule(parsing: content, origin: "\(file) line \(index + 1)"))
        }
        return rules
    }

    /// A decimal or `0x` hexadecimal value.
    static func number(_ word: Substring) -> UInt64? {
        if word.hasPrefix("0x") || word.hasPrefix("0X") { return UInt64(word.dropFirst(2), radix: 16) }
        return UInt64(word)
    }

    /// The text form: `socket a0 == 1`.
    public var description: String {
        ([name] + conditions.map { condition in
            let masked = condition.mask.map { " & 0x" + String($0, radix: 16) } ?? ""
            return "a\(condition.argument)\(masked) \(condition.op.rawValue) \(condition.value)"
        }).joined(separator: " ")
    }
}

extension SyscallRule {
    /// The rules of the policy file at `path` (see ``policy(_:file:)``).
    public static func policy(contentsOf path: String) throws(SandboxError) -> [SyscallRule] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadablePolicy(path: path, Errno(errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw .unreadablePolicy(path: path, Errno(errno)) }
            if got == 0 { break }
            bytes += chunk.prefix(got)
            if bytes.count > 1 << 20 { throw .malformedRule(where: path, reason: "a policy file of more than 1 MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformedRule(where: path, reason: "not UTF-8 text")
        }
        return try policy(text, file: path)
    }
}
