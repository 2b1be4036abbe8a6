import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Faultline

/// The sandbox flags of `faultline call` and `faultline triage`.
struct SandboxOptions: ParsableArguments {
    @Option(name: .customLong("sandbox"), help: ArgumentHelp("Run every worker (pool, fork) in a sandbox: pure (computation only) or threads (pure and threads). A denied system call ends the call with \"outcome\":\"violation\".", valueName: "preset"))
    var preset: Sandbox.Preset?

    @Option(name: .customLong("allow-read"), help: ArgumentHelp("With --sandbox: the callee may read beneath PATH (repeatable); elsewhere, opening is EACCES.", valueName: "path"))
    var allowRead: [String] = []

    @Option(name: .customLong("allow-write"), help: ArgumentHelp("With --sandbox: the callee may read and write beneath PATH (repeatable).", valueName: "path"))
    var allowWrite: [String] = []

    @Option(name: .customLong("allow-syscall"), help: ArgumentHelp("With --sandbox: also allow this system call, with optional conditions, e.g. 'getcwd' or 'socket a0 == 1' (repeatable).", valueName: "rule"))
    var allowSyscall: [String] = []

    @Option(name: .customLong("sandbox-policy"), help: ArgumentHelp("With --sandbox: a file of rules, one per line as --allow-syscall takes them, # comments.", valueName: "file"))
    var policy: String?

    @Option(help: ArgumentHelp("With --sandbox: none (default: a network namespace of the pool's own, no sockets) or host.", valueName: "network"))
    var network: Sandbox.Network?

    @Option(help: ArgumentHelp("With --sandbox: RLIMIT_CPU of every worker process, in seconds (SIGXCPU).", valueName: "seconds"))
    var cpuLimit: Int?

    @Option(help: ArgumentHelp("With --sandbox: RLIMIT_FSIZE, in bytes (SIGXFSZ).", valueName: "bytes"))
    var fileSizeLimit: Int?

    @Option(help: ArgumentHelp("With --sandbox: RLIMIT_NOFILE.", valueName: "n"))
    var openFilesLimit: Int?

    @Flag(name: .customLong("sandbox-learn"), help: "Learning mode (pool only; NOT a sandbox): every system call is allowed and recorded; stderr lists them (name, count, first input).")
    var learn = false

    @Option(name: .customLong("sandbox-learn-file"), help: ArgumentHelp("With --sandbox-learn: write the calls made as a --sandbox-policy file.", valueName: "file"))
    var learnFile: String?

    @Flag(help: "With --sandbox: exit 2 instead of running with less than asked (see the \"sandbox\" member of the first line).")
    var sandboxStrict = false

    /// Flags that mean nothing without --sandbox, with whether each was given.
    private var dependentFlags: [(String, Bool)] {
        [("--allow-read", !allowRead.isEmpty), ("--allow-write", !allowWrite.isEmpty), ("--allow-syscall", !allowSyscall.isEmpty),
         ("--sandbox-policy", policy != nil), ("--network", network != nil), ("--cpu-limit", cpuLimit != nil),
         ("--file-size-limit", fileSizeLimit != nil), ("--open-files-limit", openFilesLimit != nil),
         ("--sandbox-strict", sandboxStrict)]
    }

    /// Checks the flags against the strategy.
    func validate(strategy: CallOptions.StrategyName) throws {
        if learnFile != nil && !learn { throw ValidationError("--sandbox-learn-file needs --sandbox-learn") }
        if learn && preset != nil { throw ValidationError("--sandbox-learn runs without a sandbox: leave out --sandbox") }
        if learn && strategy != .pool { throw ValidationError("--sandbox-learn needs --strategy pool") }
        if preset == nil, let flag = dependentFlags.first(where: { $0.1 })?.0 {
            throw ValidationError("\(flag) needs --sandbox PRESET (pure or threads)")
        }
        guard preset != nil else { return }
        if strategy == .guard {
            throw ValidationError("--sandbox needs --strategy pool or fork: the guard runs the callee in this process, which cannot be sandboxed")
        }
        if let cpuLimit, cpuLimit < 1 { throw ValidationError("--cpu-limit must be at least 1 second, got \(cpuLimit)") }
        if let fileSizeLimit, fileSizeLimit < 0 { throw ValidationError("--file-size-limit must be at least 0, got \(fileSizeLimit)") }
        if let openFilesLimit, openFilesLimit < 1 { throw ValidationError("--open-files-limit must be at least 1, got \(openFilesLimit)") }
    }

    /// The sandbox the flags describe (rules parsed, the policy file read), or nil without --sandbox.
    func sandbox() throws -> Sandbox? {
        if learn { return .learning }
        guard let preset else { return nil }
        var rules: [SyscallRule] = []
        do {
            for text in allowSyscall { rules.append(try SyscallRule(parsing: Substring(text), origin: "--allow-syscall '\(text)'")) }
            if let policy { rules += try SyscallRule.policy(contentsOf: policy) }
        } catch { throw ValidationError(error.description) }
        return Sandbox(preset, allowRead: allowRead, allowWrite: allowWrite, rules: rules, network: network ?? .none,
                       cpuLimit: cpuLimit, fileSizeLimit: fileSizeLimit, openFilesLimit: openFilesLimit, strict: sandboxStrict)
    }

    /// The flags again, for a command that reproduces the run (`faultline triage`).
    var arguments: [String] {
        guard let preset else { return [] }
        var argv = ["--sandbox", preset.rawValue]
        for path in allowRead { argv += ["--allow-read", Replayer.absolute(path)] }
        for path in allowWrite { argv += ["--allow-write", Replayer.absolute(path)] }
        for rule in allowSyscall { argv += ["--allow-syscall", rule] }
        if let policy { argv += ["--sandbox-policy", Replayer.absolute(policy)] }
        if let network { argv += ["--network", network.rawValue] }
        if let cpuLimit { argv += ["--cpu-limit", String(cpuLimit)] }
        if let fileSizeLimit { argv += ["--file-size-limit", String(fileSizeLimit)] }
        if let openFilesLimit { argv += ["--open-files-limit", String(openFilesLimit)] }
        if sandboxStrict { argv.append("--sandbox-strict") }
        return argv
    }
}

extension Sandbox.Preset: ExpressibleByArgument {}
extension Sandbox.Network: ExpressibleByArgument {}

extension SandboxOptions {
    /// Learning mode, after the run: the calls on stderr, and the policy file if asked.
    func reportLearned(_ announcement: SandboxAnnouncement) {
        guard learn, var learned = announcement.learned?() else { return }
        // Run-wide input indices (the pool's are within a chunk).
        for index in learned.indices {
            if let first = announcement.firstInputs[learned[index].name] { learned[index].firstInput = first }
        }
        let made = learned.filter { $0.firstInput != nil }
        StandardError.write("faultline: learned \(made.count) system calls (NOT sandboxed):")
        for call in made.sorted(by: { ($0.firstInput!, $0.name) < ($1.firstInput!, $1.name) }) {
            StandardError.write("faultline:   \(call.name) \(call.count) first input \(call.firstInput!)")
        }
        guard let learnFile else { return }
        let text = LearnedSyscall.policy(learned)
        if FileManagerless.write(text, to: learnFile) != 0 {
            StandardError.write("faultline: cannot write '\(learnFile)'")
        } else {
            StandardError.write("faultline: wrote the policy \(learnFile) (use: --sandbox pure --sandbox-policy \(learnFile))")
        }
    }
}

/// Writes a file with Glibc only.
enum FileManagerless {
    static func write(_ text: String, to path: String) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count ? 0 : EIO
    }
}

/// What a run says about its sandbox: one line on stderr, and the `"sandbox"`
/// member of the first JSON line.
enum SandboxReport {
    /// `"sandbox":{…}` (without braces around it).
    static func jsonMember(_ sandbox: Sandbox, _ status: SandboxStatus) -> String {
        func list(_ paths: [String]) -> String { "[" + paths.map(JSONText.quoted).joined(separator: ",") + "]" }
        func number(_ value: Int?) -> String { value.map(String.init) ?? "null" }
        var members = ["\"preset\":\"\(sandbox.preset.rawValue)\"", "\"network\":\"\(sandbox.network.rawValue)\""]
        members.append("\"seccomp\":{\"enforced\":\(status.seccomp),\"rules\":\(status.seccompRules),\"default\":\"violation\"}")
        members.append("\"landlock\":{\"abi\":\(status.landlockABI),\"enforced\":\(status.filesystem),\"filesystem\":\(status.filesystem)"
                       + ",\"tcp\":\(status.tcp),\"abstract_unix_sockets\":\(status.abstractUnixSockets)"
                       + ",\"read\":" + list(sandbox.allowRead) + ",\"write\":" + list(sandbox.allowWrite) + "}")
        members.append("\"namespaces\":" + (status.networkNamespace ? "[\"user\",\"net\"]" : "[]"))
        members.append("\"limits\":{\"enforced\":\(status.limits),\"core\":0,\"cpu\":\(number(sandbox.cpuLimit))"
                       + ",\"file_size\":\(number(sandbox.fileSizeLimit)),\"open_files\":\(number(sandbox.openFilesLimit))}")
        let missing = status.missing(for: sandbox)
        members.append("\"strict\":\(sandbox.strict)")
        members.append("\"missing\":" + list(missing))
        return "\"sandbox\":{" + members.joined(separator: ",") + "}"
    }

    /// `sandbox pure: seccomp (58 rules), Landlock ABI 7 (files: none; TCP denied), network namespace, rlimits (no core)`.
    static func summary(_ sandbox: Sandbox, _ status: SandboxStatus) -> String {
        var parts: [String] = []
        parts.append(status.seccomp ? "seccomp (\(status.seccompRules) rules; a denied call is a violation)" : "NO seccomp")
        if status.filesystem {
            var files: [String] = []
            if !sandbox.allowRead.isEmpty { files.append("read " + sandbox.allowRead.joined(separator: " ")) }
            if !sandbox.allowWrite.isEmpty { files.append("write " + sandbox.allowWrite.joined(separator: " ")) }
            let tcp = status.tcp ? "; TCP denied" : ""
            parts.append("Landlock ABI \(status.landlockABI) (files: \(files.isEmpty ? "none" : files.joined(separator: ", "))\(tcp))")
        } else {
            parts.append(status.landlockABI == 0 ? "NO Landlock (not in this kernel)" : "NO Landlock")
        }
        if sandbox.network == .none {
            parts.append(status.networkNamespace ? "network namespace (no network)" : "NO network namespace")
        } else {
            parts.append("host network")
        }
        var limits = ["no core"]
        if let cpu = sandbox.cpuLimit { limits.append("cpu \(cpu) s") }
        if let size = sandbox.fileSizeLimit { limits.append("file size \(size) B") }
        if let files = sandbox.openFilesLimit { limits.append("open files \(files)") }
        parts.append(status.limits ? "rlimits (\(limits.joined(separator: ", ")))" : "NO rlimits")
        return "sandbox \(sandbox.preset.rawValue): " + parts.joined(separator: ", ")
    }
}
