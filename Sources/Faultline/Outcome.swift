/// What happened to one call of a native function: the whole, exact answer.
///
/// Crashes are values here, not errors. The `Codable` form is the one the
/// `faultline call` command prints, one JSON object per input:
/// `{"outcome":"returned","value":4}`,
/// `{"outcome":"signaled","signal":"SIGSEGV","signo":11,"address":"0x0","backtrace":[…]}`,
/// `{"outcome":"exited","status":100}`, `{"outcome":"timed_out","seconds":1.0}`,
/// `{"outcome":"corrupted","detail":"…"}`.
///
/// ```swift
/// switch outcome {
/// case .returned(let value, let out): print(value, out)   // value: Value, out: [Value]
/// case .signaled(let fault): print(fault)                 // SIGSEGV at 0x0 in parse
/// case .exited(let status): print("exit(\(status))")
/// case .timedOut(let after): print("killed after \(after)")
/// case .corrupted(let detail): print("no trustworthy record:", detail)
/// }
/// ```
public enum Outcome: Hashable, Sendable, CustomStringConvertible {
    /// The function returned `value` (``Value/void`` for a `void` function);
    /// `out` holds its output buffers, one per `out_string`/`out_bytes`
    /// parameter of its signature, in order (empty when it has none).
    case returned(Value, out: [Value])
    /// A signal ended the call; the fault says which, where, and from where.
    case signaled(Fault)
    /// The function ended its process with `exit(status)`, including `exit(0)`,
    /// which is not a successful return.
    case exited(status: Int32)
    /// A deadline was set and passed; the call was killed after this long.
    case timedOut(Duration)
    /// Faultline's own record of the call was destroyed (for example the
    /// callee wrote over the memory that carries results), so no outcome can
    /// be vouched for; `detail` says what was found. Never a guess.
    case corrupted(detail: String)

    /// `.returned(.int32(value), out: [])`: the outcome of an `int f(int)` that returned.
    public static func returned(_ value: Int32) -> Outcome { .returned(.int32(value), out: []) }

    /// The returned value, if the call returned an `int32`.
    public var returnedValue: Int32? {
        if case .returned(.int32(let value), _) = self { return value }
        return nil
    }

    /// The returned value of any type, if the call returned.
    public var value: Value? {
        if case .returned(let value, _) = self { return value }
        return nil
    }

    /// The fault, if a signal ended the call.
    public var fault: Fault? {
        if case .signaled(let fault) = self { return fault }
        return nil
    }

    /// The signal, if one ended the call.
    public var signal: Signal? { fault?.signal }

    /// `"returned"`, `"signaled"`, `"exited"`, `"timed_out"` or `"corrupted"`: the `outcome` key of the JSON form.
    public var kind: String {
        switch self {
        case .returned: "returned"
        case .signaled: "signaled"
        case .exited: "exited"
        case .timedOut: "timed_out"
        case .corrupted: "corrupted"
        }
    }

    /// A one-line, human-readable summary, e.g. `signaled SIGSEGV at 0x0 in raise_a_fault`.
    public var description: String {
        switch self {
        case .returned(let value, let out):
            "returned \(value.json)" + (out.isEmpty ? "" : " out \(out.map(\.json).joined(separator: ", "))")
        case .signaled(let fault): "signaled \(fault)"
        case .exited(let status): "exited with status \(status)"
        case .timedOut(let after): "timed out after \(after.seconds) s"
        case .corrupted(let detail): "corrupted: \(detail)"
        }
    }
}

/// A signal that ended a call, with what could be learned where it arrived.
public struct Fault: Hashable, Sendable, CustomStringConvertible {
    /// What the faulting instruction did at ``address``.
    public enum Access: String, Hashable, Sendable, Codable {
        /// A load.
        case read
        /// A store.
        case write
        /// An instruction fetch: the program jumped to `address`.
        case exec
    }

    /// The signal that ended the call.
    public var signal: Signal
    /// `si_code` (e.g. `SEGV_MAPERR`), when the signal was seen by a handler.
    public var code: Int32?
    /// The faulting address (`si_addr`), when the kernel gave one that means
    /// something: nil for a sent signal (`si_code` ≤ 0, e.g. `abort()`) and
    /// for `SI_KERNEL` (a non-canonical pointer, whose address the CPU does not report).
    public var address: UInt64?
    /// Whether the faulting instruction read, wrote or jumped to ``address``
    /// (from the page fault's error code, x86-64); nil when unknown.
    public var access: Access?
    /// What the C runtime said before it aborted: glibc's text for a heap
    /// error (`free(): double free detected in tcache 2`), `*** stack smashing
    /// detected ***: terminated`, a failed `assert`, or `uncaught exception of
    /// type std::runtime_error` for C++; nil when there was none.
    public var message: String?
    /// The stack pointer at the fault, when a handler saw it.
    public var stackPointer: UInt64?
    /// The stack at the fault, innermost frame first, cut at the call: it ends
    /// with the callee's entry (no frame of Faultline's or of the caller); empty
    /// when no handler saw it (e.g. SIGKILL, or a fault the kernel forced
    /// because the signal was blocked).
    public var backtrace: [Frame]
    /// True when a second fault interrupted the stack walk.
    public var truncated: Bool
    /// True when the walk reached the call and the backtrace was cut there.
    /// False when it did not (a fault in another thread, a recursion deeper
    /// than the walk): then the backtrace is the whole walk.
    public var cutAtCall: Bool

    /// Creates a fault description.
    public init(signal: Signal, code: Int32? = nil, address: UInt64? = nil, access: Access? = nil, message: String? = nil,
                stackPointer: UInt64? = nil, backtrace: [Frame] = [], truncated: Bool = false, cutAtCall: Bool = false) {
        self.signal = signal
        self.code = code
        self.address = address
        self.access = access
        self.message = message
        self.stackPointer = stackPointer
        self.backtrace = backtrace
        self.truncated = truncated
        self.cutAtCall = cutAtCall
    }

    /// `SIGSEGV at 0x0 in raise_a_fault`, or `… in parse_header (parser.c:88)` with DWARF.
    public var description: String {
        var text = signal.name
        if let address { text += " at 0x\(String(address, radix: 16))" }
        if let first = backtrace.first(where: { $0.symbol != nil }) ?? backtrace.first {
            let place = first.symbol.map { symbol in first.sourceLocation.map { "\(symbol) (\($0))" } ?? symbol }
            text += " in \(place ?? first.description)"
        }
        if let message { text += ": \(message)" }
        return text
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
