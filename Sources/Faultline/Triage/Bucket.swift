/// Crash buckets: one key per bug, `fl1-` and 16 hex digits.
///
/// The key is a hash (64-bit FNV-1a) of a short text: the signal, the class of
/// its code (`1` for `SEGV_MAPERR`, `sent`, `kernel`, or `overflow` for a
/// stack overflow, whatever code the stack's guard gave), the access kind,
/// for an abort what aborted (the expression of a failed `assert`, the type of
/// an uncaught C++ exception, else the severity class: `HeapError` for
/// glibc's malloc checks, `StackGuard`, `SafeFunctionCheck`, `AbortSignal`), so
/// that an assertion and a double free in one function differ, and the top
/// three *significant* frames:
///
/// 1. frames of the C and C++ runtimes (libc, libstdc++, libgcc, libc++,
///    the dynamic loader) are dropped — `abort`, `raise`, `__assert_fail`,
///    `malloc`/`free`, `__*_chk` and `strlen` say how the program died, not
///    where the bug is (a trace made only of them is kept as it is);
/// 2. recursion is collapsed (a frame or a cycle of up to 4 frames that
///    repeats counts once); for a stack overflow the key is the recursion
///    itself, its functions in sorted order, so that where in the cycle the
///    stack ran out does not matter;
/// 3. inlined frames are left out (they exist only where DWARF was found, so
///    installing debug files must not change a key);
/// 4. each frame is named by its function (compiler suffixes such as
///    `.cold` or `.isra.0` removed) where known, else by
///    `image@build-id+offset` (the image's file name).
///
/// Never part of the key: the fault address, an absolute pc, line numbers, the
/// worker count or the strategy. So the same bug has the same key across runs
/// (ASLR), strategies, worker counts and machines with the same build of the
/// library; a rebuild that renames or inlines differently may change it. Two
/// bugs in the same function with the same signal and access (and, for an
/// abort, the same cause) share a key.
/// The `fl1` prefix names this algorithm: a change to it gets a new prefix.
public enum Bucket {
    /// The algorithm's version, the keys' prefix.
    public static let version = "fl1"

    /// How many significant frames make a key.
    public static let keyFrames = 3

    /// The bucket of a fault.
    public static func key(for fault: Fault) -> String {
        let text = keyText(for: fault)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return version + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The text the key hashes, e.g. `SIGSEGV|1|write|parse_header|read_file|main_loop`.
    public static func keyText(for fault: Fault) -> String {
        let overflow = fault.isStackOverflow
        let codeClass: String
        if overflow { codeClass = "overflow" }
        else if let code = fault.code { codeClass = code <= 0 ? "sent" : code == Fault.kernelCode ? "kernel" : String(code) }
        else { codeClass = "none" }
        let access = overflow ? "-" : (fault.access?.rawValue ?? "-")
        return ([fault.signal.name, codeClass, access] + abortCause(of: fault) + significantFrames(of: fault)).joined(separator: "|")
    }

    /// For an abort, what aborted: `assert:EXPR`, `exception:TYPE`, or the
    /// severity class (never the file, line or program name a message holds).
    static func abortCause(of fault: Fault) -> [String] {
        guard fault.signal == .abort else { return [] }
        let message = fault.message ?? ""
        if let start = message.firstRange(of: "Assertion `"),
           let end = message[start.upperBound...].ranges(of: "' failed").last {
            return ["assert:" + message[start.upperBound..<end.lowerBound]]
        }
        let exception = "uncaught exception of type "
        if message.hasPrefix(exception) { return ["exception:" + message.dropFirst(exception.count)] }
        return [fault.severity.crashClass]
    }

    /// The names of the frames the key is made of, innermost first (at most ``keyFrames``).
    public static func significantFrames(of fault: Fault) -> [String] {
        significantFrames(of: fault.backtrace, stackOverflow: fault.isStackOverflow)
    }

    /// The same for a backtrace (a crash's, or a ``Violation``'s, never an overflow).
    public static func significantFrames(of backtrace: [Frame], stackOverflow: Bool) -> [String] {
        // Inlined frames exist only where DWARF was found: left out, so that installing
        // debug files does not change a key.
        let all = backtrace.filter { !$0.inlined }.map { (name: name(of: $0), runtime: isRuntime($0)) }
        let kept = all.filter { !$0.runtime }.map(\.name)
        let names = kept.isEmpty ? all.map(\.name) : kept
        if stackOverflow {
            var seen: [String: Int] = [:]
            for name in names { seen[name, default: 0] += 1 }
            let cycle = seen.filter { $0.value > 1 }.keys.sorted()
            if !cycle.isEmpty { return Array(cycle.prefix(keyFrames)) }
        }
        return Array(collapsed(names).prefix(keyFrames))
    }

    /// A frame's name in a key: its function, else where it is in its image.
    static func name(of frame: Frame) -> String {
        if let symbol = frame.symbol, !symbol.isEmpty { return SourceSymbolizer.baseName(symbol) }
        if let image = frame.imageName, let offset = frame.imageOffset ?? frame.offset {
            return "\(image)@\(frame.buildID ?? "")+0x\(String(offset, radix: 16))"
        }
        return "?"
    }

    /// Whether a frame belongs to the C and C++ runtimes or the dynamic loader
    /// (such frames say how a program died, not where the bug is).
    public static func isRuntime(_ frame: Frame) -> Bool {
        guard let image = frame.imageName else { return false }
        return runtimeImages.contains { image.hasPrefix($0) }
    }

    private static let runtimeImages = ["libc.so", "libc-", "libstdc++.so", "libgcc_s.so", "libc++.so", "libc++abi.so",
                                        "ld-linux", "libpthread.so", "libm.so"]

    /// Names with each repetition removed: a frame repeated in a row, or a
    /// cycle of 2 to 4 frames repeated, counts once.
    static func collapsed(_ names: [String]) -> [String] {
        var result = names
        var changed = true
        while changed {
            changed = false
            for period in 1...4 {
                var i = 0
                while i + 2 * period <= result.count {
                    if result[i..<(i + period)] == result[(i + period)..<(i + 2 * period)] {
                        result.removeSubrange((i + period)..<(i + 2 * period))
                        changed = true
                    } else {
                        i += 1
                    }
                }
            }
        }
        return result
    }
}

extension Fault {
    /// This crash's bucket, `fl1-` and 16 hex digits (see ``Bucket``).
    public var bucket: String { Bucket.key(for: self) }
}
