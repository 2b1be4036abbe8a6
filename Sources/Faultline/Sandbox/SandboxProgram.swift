#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import CFaultlineSeccomp

/// A ``Sandbox`` made concrete for C: its seccomp program built (libseccomp,
/// in this process), its rules checked, its paths made absolute.
struct SandboxProgram {
    let sandbox: Sandbox
    /// The BPF program, 8 bytes per instruction.
    let filter: [UInt8]
    /// Allow rules in it.
    let ruleCount: Int
    let readPaths: [String]
    let writePaths: [String]

    /// Builds the program for a pool worker (its channel and the helper's wake-up) or a forked child.
    init(_ sandbox: Sandbox, forPool: Bool) throws(SandboxError) {
        self.sandbox = sandbox
        if let limit = sandbox.cpuLimit, limit < 1 { throw .invalidLimit("the CPU limit must be at least 1 second, got \(limit)") }
        if let limit = sandbox.fileSizeLimit, limit < 0 { throw .invalidLimit("the file size limit must be at least 0 bytes, got \(limit)") }
        if let limit = sandbox.openFilesLimit, limit < 1 { throw .invalidLimit("the open files limit must be at least 1, got \(limit)") }
        if sandbox.learn {
            var program: UnsafeMutableRawPointer?
            var length: UInt32 = 0
            var error = fl_seccomp_error()
            guard fl_seccomp_build_learning(UInt32(FL_SANDBOX_LEARN_HANDOFF_FD), &program, &length, &error) == 0, let program else {
                throw .programFailed(Errno(rawValue: error.error_number))
            }
            defer { free(program) }
            filter = Array(UnsafeRawBufferPointer(start: program, count: Int(length) * 8))
            ruleCount = 0
            readPaths = []
            writePaths = []
            return
        }
        readPaths = try sandbox.allowRead.map(Self.absolute)
        writePaths = try sandbox.allowWrite.map(Self.absolute)
        var flags = forPool ? UInt32(FL_SECCOMP_POOL_WORKER) : 0
        if !readPaths.isEmpty { flags |= UInt32(FL_SECCOMP_FILES_READ) }
        if !writePaths.isEmpty { flags |= UInt32(FL_SECCOMP_FILES_WRITE) }
        if sandbox.network == .none { flags |= UInt32(FL_SECCOMP_NETWORK_NONE) }
        let preset = sandbox.preset == .pure ? UInt32(FL_SECCOMP_PURE) : UInt32(FL_SECCOMP_THREADS)
        var program: UnsafeMutableRawPointer?
        var length: UInt32 = 0
        var rules: UInt32 = 0
        var error = fl_seccomp_error()
        let names = sandbox.rules.map { strdup($0.name) }
        defer { names.forEach { free($0) } }
        let cRules = sandbox.rules.enumerated().map { index, rule in
            var c = fl_seccomp_rule()
            c.name = UnsafePointer(names[index])
            c.condition_count = UInt32(min(rule.conditions.count, 6))
            withUnsafeMutableBytes(of: &c.conditions) { raw in
                let slots = raw.bindMemory(to: fl_seccomp_condition.self)
                for (i, condition) in rule.conditions.prefix(6).enumerated() {
                    slots[i] = fl_seccomp_condition(argument: UInt32(condition.argument), op: Self.op(condition),
                                                    value: condition.value, mask: condition.mask ?? 0)
                }
            }
            return c
        }
        let status = fl_seccomp_build(preset, flags, cRules, cRules.count, &program, &length, &rules, &error)
        guard status == 0, let program else { throw Self.error(error, rules: sandbox.rules) }
        defer { free(program) }
        filter = Array(UnsafeRawBufferPointer(start: program, count: Int(length) * 8))
        ruleCount = Int(rules)
    }

    private static func op(_ condition: SyscallRule.Condition) -> UInt32 {
        if condition.mask != nil { return UInt32(FL_SECCOMP_MASKED_EQ) }
        switch condition.op {
        case .equal: return UInt32(FL_SECCOMP_EQ)
        case .notEqual: return UInt32(FL_SECCOMP_NE)
        case .less: return UInt32(FL_SECCOMP_LT)
        case .lessOrEqual: return UInt32(FL_SECCOMP_LE)
        case .greater: return UInt32(FL_SECCOMP_GT)
        case .greaterOrEqual: return UInt32(FL_SECCOMP_GE)
        }
    }

    private static func error(_ error: fl_seccomp_error, rules: [SyscallRule]) -> SandboxError {
        let rule = error.rule >= 0 && Int(error.rule) < rules.count ? rules[Int(error.rule)] : nil
        let place = rule?.origin ?? "the sandbox"
        switch Int(error.kind) {
        case Int(FL_SECCOMP_ERROR_UNKNOWN): return .unknownSyscall(rule?.name ?? "", where: place)
        case Int(FL_SECCOMP_ERROR_GUARDED): return .guarded(rule?.name ?? "", where: place)
        case Int(FL_SECCOMP_ERROR_NETWORK): return .socketWithoutNetwork(rule?.name ?? "", where: place)
        case Int(FL_SECCOMP_ERROR_RULE): return .rejectedRule(where: place, Errno(error.error_number))
        case Int(FL_SECCOMP_ERROR_TOO_LARGE): return .programFailed(Errno(E2BIG))
        default: return .programFailed(Errno(error.error_number))
        }
    }

    /// An allowed path, absolute (the helper may start elsewhere); one that cannot be resolved is refused here.
    private static func absolute(_ path: String) throws(SandboxError) -> String {
        guard let resolved = realpath(path, nil) else { throw .unopenablePath(path, Errno(errno)) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The C configuration, valid inside `body`.
    func withConfig<R>(_ body: (UnsafePointer<fl_sandbox_config>) throws -> R) rethrows -> R {
        let reads = readPaths.map { strdup($0) }
        let writes = writePaths.map { strdup($0) }
        defer { (reads + writes).forEach { free($0) } }
        let readPointers = reads.map { UnsafePointer($0) }
        let writePointers = writes.map { UnsafePointer($0) }
        return try filter.withUnsafeBytes { program in
            try readPointers.withUnsafeBufferPointer { readBuffer in
                try writePointers.withUnsafeBufferPointer { writeBuffer in
                    var flags: UInt32 = sandbox.learn ? UInt32(FL_SANDBOX_LEARN) : 0
                    if sandbox.network == .none { flags |= UInt32(FL_SANDBOX_NETWORK_NONE) }
                    if sandbox.strict { flags |= UInt32(FL_SANDBOX_STRICT) }
                    if sandbox.cpuLimit != nil { flags |= UInt32(FL_SANDBOX_LIMIT_CPU) }
                    if sandbox.fileSizeLimit != nil { flags |= UInt32(FL_SANDBOX_LIMIT_FSIZE) }
                    if sandbox.openFilesLimit != nil { flags |= UInt32(FL_SANDBOX_LIMIT_NOFILE) }
                    var config = fl_sandbox_config(
                        flags: flags, filter_length: UInt32(filter.count / 8), filter: program.baseAddress,
                        read_paths: readBuffer.baseAddress, read_count: UInt32(reads.count),
                        write_paths: writeBuffer.baseAddress, write_count: UInt32(writes.count),
                        cpu_seconds: UInt64(sandbox.cpuLimit ?? 0), file_size: UInt64(sandbox.fileSizeLimit ?? 0),
                        open_files: UInt64(sandbox.openFilesLimit ?? 0))
                    return try body(&config)
                }
            }
        }
    }

    /// The error a C sandbox status describes: a path that could not be opened, or (strict) what is missing.
    func error(of status: fl_sandbox_status) -> SandboxError {
        let paths = readPaths + writePaths
        if status.failed_path >= 0 && Int(status.failed_path) < paths.count {
            return .unopenablePath(paths[Int(status.failed_path)], Errno(status.error_number))
        }
        if status.error_number != 0 { return .programFailed(Errno(status.error_number)) }
        let enforced = SandboxStatus(status, rules: ruleCount)
        return .notEnforced(missing: enforced.missing(for: sandbox), status: enforced)
    }
}

/// A sandbox prepared in this process for the children it forks (``ForkStrategy``).
final class PreparedSandbox: @unchecked Sendable {
    let pointer: OpaquePointer
    let status: SandboxStatus

    init(_ sandbox: Sandbox) throws(SandboxError) {
        let program = try SandboxProgram(sandbox, forPool: false)
        var cStatus = fl_sandbox_status()
        let made = program.withConfig { fl_sandbox_create($0, &cStatus) }
        guard let made else { throw program.error(of: cStatus) }
        pointer = made
        status = SandboxStatus(cStatus, rules: program.ruleCount)
    }

    deinit { fl_sandbox_destroy(pointer) }
}
