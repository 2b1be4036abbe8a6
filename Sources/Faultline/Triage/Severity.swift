/// A heuristic guess at what a crash means, in the vocabulary of CASR's
/// crash classes: a class (`DestAv`, `StackOverflow`, `HeapError`, …) and
/// how likely an attacker could turn it into more than a crash.
///
/// Heuristic: it is read from the signal, the access kind, the fault address,
/// the stack pointer and the C runtime's message, not from an analysis of the
/// program. A write through a wild pointer that happens to land on a mapped
/// page is no crash at all, and silent heap corruption is invisible without a
/// sanitizer.
public struct Severity: Hashable, Sendable, Codable, CustomStringConvertible {
    /// How likely a crash of this class is to be exploitable (CASR's three levels).
    public enum Exploitability: String, Hashable, Sendable, Codable {
        case exploitable = "EXPLOITABLE"
        case probablyExploitable = "PROBABLY_EXPLOITABLE"
        case notExploitable = "NOT_EXPLOITABLE"
    }

    /// The class: `SourceAv`, `SourceAvNearNull`, `DestAv`, `DestAvNearNull`,
    /// `SegFaultOnPc`, `SegFaultOnPcNearNull`, `AccessViolation`, `StackOverflow`,
    /// `HeapError`, `StackGuard`, `SafeFunctionCheck`, `AbortSignal`, `FPE`,
    /// `BadInstruction`, `Trap`, `SentSignal`.
    public var crashClass: String
    /// The class's exploitability.
    public var exploitability: Exploitability

    /// Creates a severity.
    public init(crashClass: String, exploitability: Exploitability) {
        self.crashClass = crashClass
        self.exploitability = exploitability
    }

    enum CodingKeys: String, CodingKey {
        case crashClass = "class"
        case exploitability
    }

    /// `DestAvNearNull (PROBABLY_EXPLOITABLE)`.
    public var description: String { "\(crashClass) (\(exploitability.rawValue))" }

    /// Addresses below this are "near null" (CASR's 64 KiB): a field of a null pointer.
    static let nearNull: UInt64 = 64 * 1024
}

extension Fault {
    /// The heuristic severity of this crash (see ``Severity``).
    public var severity: Severity {
        func severity(_ name: String, _ level: Severity.Exploitability) -> Severity {
            Severity(crashClass: name, exploitability: level)
        }
        switch signal.rawValue {
        case SIGSEGV, SIGBUS:
            if isStackOverflow { return severity("StackOverflow", .notExploitable) }
            guard let code, code > 0 else { return severity("SentSignal", .notExploitable) }
            guard let address else { return severity("AccessViolation", .probablyExploitable) } // SI_KERNEL: a wild pointer
            let nearNull = address < Severity.nearNull
            if access == .exec || address == backtrace.first?.address {
                return nearNull ? severity("SegFaultOnPcNearNull", .probablyExploitable) : severity("SegFaultOnPc", .exploitable)
            }
            switch access {
            case .write: return nearNull ? severity("DestAvNearNull", .probablyExploitable) : severity("DestAv", .exploitable)
            case .read: return severity(nearNull ? "SourceAvNearNull" : "SourceAv", .notExploitable)
            default: return nearNull ? severity("AccessViolationNearNull", .notExploitable) : severity("AccessViolation", .probablyExploitable)
            }
        case SIGABRT:
            let text = message ?? ""
            if text.contains("stack smashing") { return severity("StackGuard", .probablyExploitable) }
            if text.contains("buffer overflow detected") { return severity("SafeFunctionCheck", .notExploitable) }
            if Self.heapWords.contains(where: text.contains) { return severity("HeapError", .probablyExploitable) }
            return severity("AbortSignal", .notExploitable)
        case SIGFPE: return severity("FPE", .notExploitable)
        case SIGILL: return severity("BadInstruction", .probablyExploitable)
        case SIGTRAP: return severity("Trap", .notExploitable)
        default: return severity("SentSignal", .notExploitable)
        }
    }

    /// Words of glibc's malloc checks (`free(): invalid pointer`, `double free
    /// detected in tcache 2`, `malloc(): corrupted top size`, `munmap_chunk(): …`).
    private static let heapWords = ["free(", "malloc", "double free", "corrupted", "chunk", "tcache", "realloc("]

    /// A fault on the stack's guard: the address lies just below (or at) the
    /// stack pointer, where the next frame would have gone.
    public var isStackOverflow: Bool {
        guard signal.rawValue == SIGSEGV || signal.rawValue == SIGBUS, let address, let stackPointer,
              let code, code > 0 else { return false }
        let low = stackPointer >= 1 << 20 ? stackPointer - (1 << 20) : 0
        return address >= low && address < stackPointer &+ 4096
    }
}

#if canImport(Glibc)
import Glibc
#endif
