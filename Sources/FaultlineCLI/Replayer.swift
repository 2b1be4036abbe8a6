import Faultline
import FaultlineHarness
#if canImport(Glibc)
import Glibc
#endif

/// Runs a group's first input again, alone, in a fresh process, with the very
/// command `faultline triage` prints as its reproducer.
///
/// Each replay is `faultline call … --strategy fork -- INPUT`, this program
/// started anew, under a deadline: the run's `--timeout` plus
/// ``slack`` seconds, or ``slack`` alone without one. A replay killed at its
/// deadline, or whose output cannot be read, does not count as reproduced.
struct Replayer {
    /// Seconds a replay may take beyond the call's own deadline.
    static let slack = 30.0

    let options: CallOptions
    let times: Int

    /// The running program's absolute path.
    static let executable: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments.first ?? "faultline" }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// The argv of the reproducer of `inputJSON`.
    func command(inputJSON: String) -> [String] {
        var argv = [Self.executable, "call", Self.absolute(options.library), options.symbol]
        if let signature = options.signature { argv += ["--signature", signature] }
        if let initializer = options.initializer { argv += ["--init", initializer] }
        if let timeout = options.timeout { argv += ["--timeout", String(timeout)] }
        argv += ["--strategy", "fork", "--", inputJSON]
        return argv
    }

    /// How many of ``times`` replays gave the group `key` again.
    func reproduced(key: String, inputJSON: String) -> Int {
        let argv = command(inputJSON: inputJSON)
        var same = 0
        for _ in 0..<times {
            guard let run = try? ChildProcess.run(argv[0], Array(argv.dropFirst()),
                                                  timeout: (options.timeout ?? 0) + Self.slack),
                  run.status != nil else { continue }
            let line = run.process.standardOutput.split(separator: "\n").first.map(String.init) ?? ""
            if Self.groupKey(ofLine: line) == key { same += 1 }
        }
        return same
    }

    /// The group key of one `faultline call` line: its bucket, `timeout`,
    /// `exit:<status>` or `corrupted`; nil for a return or an unreadable line.
    static func groupKey(ofLine line: String) -> String? {
        switch member("outcome", in: line) {
        case "\"signaled\"": member("bucket", in: line).map { String($0.dropFirst().dropLast()) }
        case "\"exited\"": member("status", in: line).map { "exit:\($0)" }
        case "\"timed_out\"": "timeout"
        case "\"corrupted\"": "corrupted"
        default: nil
        }
    }

    /// The raw text of a top-level scalar member (`"outcome":"signaled"` gives `"signaled"`).
    private static func member(_ name: String, in line: String) -> String? {
        let key = Array("\"\(name)\":".utf8)
        let bytes = Array(line.utf8)
        guard bytes.count >= key.count,
              let at = (0...(bytes.count - key.count)).first(where: { bytes[$0..<($0 + key.count)].elementsEqual(key) })
        else { return nil }
        let rest = Substring(String(decoding: bytes[(at + key.count)...], as: UTF8.self))
        if rest.first == "\"" {
            guard let end = rest.dropFirst().firstIndex(of: "\"") else { return nil }
            return String(rest[...end])
        }
        return String(rest.prefix { $0 != "," && $0 != "}" })
    }

    /// A library path as the reproducer names it: absolute when it names a file
    /// (the command may run elsewhere), as given when it is a bare name for the loader.
    static func absolute(_ library: String) -> String {
        guard library.contains("/"), let resolved = realpath(library, nil) else { return library }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
