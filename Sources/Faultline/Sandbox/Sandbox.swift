/// The opt-in sandbox of the process strategies: every worker (pool, fork
/// server) or forked child (``ForkStrategy``) applies it to itself after the
/// library is loaded, the call prepared, init run and libunwind warmed, in
/// this order: rlimits, the pool's network namespace, Landlock, seccomp last.
///
/// ```swift
/// var configuration = WorkerPool.Configuration()
/// configuration.sandbox = Sandbox(.pure, allowRead: ["/data"])
/// let pool = try WorkerPool(library: "./libparse.so", symbol: "parse", configuration: configuration)
/// // a call that opens a socket: .violation(socket(2, 1, 0) [41, x86_64] at parse_header (parser.c:88))
/// ```
///
/// A system call the preset and the rules do not allow ends the call with
/// ``Outcome/violation(_:)``; a path outside ``allowRead`` / ``allowWrite`` is
/// `EACCES` to the callee (a normal return). Best effort: what this kernel
/// enforces is measured when the pool (or strategy) is made and reported
/// (``SandboxStatus``); with ``strict`` less than asked throws instead.
/// See README, "The sandbox", for what it guarantees and what it does not.
public struct Sandbox: Hashable, Sendable {
    /// What a callee may do at all.
    public enum Preset: String, Hashable, Sendable, CaseIterable {
        /// Computation only: memory (no executable mappings), I/O on descriptors
        /// already open, time, futex, getrandom, exit, and what a crash needs.
        case pure
        /// `pure`, and threads (clone with CLONE_THREAD, no namespace flags).
        case threads
    }

    /// The network the workers see.
    public enum Network: String, Hashable, Sendable, CaseIterable {
        /// A network namespace of the pool's own (loopback only, down), Landlock
        /// denying TCP, `socket` and `socketpair` denied: the default.
        case none
        /// The host's network (sockets only where a rule allows them).
        case host
    }

    /// The preset.
    public var preset: Preset
    /// Paths (directories or files) the callee may read beneath.
    public var allowRead: [String]
    /// Paths the callee may read and write beneath (create, remove, truncate).
    public var allowWrite: [String]
    /// System calls allowed beyond the preset (``SyscallRule``; `--allow-syscall`, `--sandbox-policy`).
    public var rules: [SyscallRule]
    /// The network: ``Network/none`` unless asked.
    public var network: Network
    /// RLIMIT_CPU of each worker process, in seconds (SIGXCPU, then SIGKILL one second later).
    /// A pool worker's CPU time adds up over its calls; per call with the fork server or fork.
    public var cpuLimit: Int?
    /// RLIMIT_FSIZE in bytes: a write that would grow a file beyond it raises SIGXFSZ.
    public var fileSizeLimit: Int?
    /// RLIMIT_NOFILE: no descriptor at or above it can be opened.
    public var openFilesLimit: Int?
    /// Refuse to run (``SandboxError/notEnforced(missing:status:)``) with less than asked.
    public var strict: Bool
    /// Learning mode (pool only): NOT a sandbox. Every system call is allowed but
    /// recorded by the helper (seccomp user notification); see
    /// ``WorkerPool/learnedSyscalls``. The other members are ignored.
    public var learn: Bool = false

    /// Learning mode: nothing enforced, every system call recorded.
    public static var learning: Sandbox {
        var sandbox = Sandbox(.pure, network: .host)
        sandbox.learn = true
        return sandbox
    }

    /// Creates a sandbox; see the properties.
    public init(_ preset: Preset = .pure, allowRead: [String] = [], allowWrite: [String] = [], rules: [SyscallRule] = [],
                network: Network = .none, cpuLimit: Int? = nil, fileSizeLimit: Int? = nil, openFilesLimit: Int? = nil,
                strict: Bool = false) {
        self.preset = preset
        self.allowRead = allowRead
        self.allowWrite = allowWrite
        self.rules = rules
        self.network = network
        self.cpuLimit = cpuLimit
        self.fileSizeLimit = fileSizeLimit
        self.openFilesLimit = openFilesLimit
        self.strict = strict
    }
}

/// Why a sandbox cannot be built or enforced: data, one line each.
public enum SandboxError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A rule's text does not parse (`where` says which: `--allow-syscall 'x'`, `policy.txt line 3`).
    case malformedRule(where: String, reason: String)
    /// A rule names no system call of this architecture.
    case unknownSyscall(String, where: String)
    /// A rule names a system call the sandbox always denies (a guard), or one only its presets decide.
    case guarded(String, where: String)
    /// A rule allows `socket` or `socketpair` with network none.
    case socketWithoutNetwork(String, where: String)
    /// libseccomp refused a rule.
    case rejectedRule(where: String, Errno)
    /// A policy file cannot be read.
    case unreadablePolicy(path: String, Errno)
    /// An allowed path cannot be opened.
    case unopenablePath(String, Errno)
    /// A limit or setting out of range.
    case invalidLimit(String)
    /// The program could not be built (or is larger than the kernel takes).
    case programFailed(Errno)
    /// Strict, and this kernel enforces less than asked: what is missing.
    case notEnforced(missing: [String], status: SandboxStatus)

    /// One line.
    public var description: String {
        switch self {
        case .malformedRule(let place, let reason): "\(place): \(reason)"
        case .unknownSyscall(let name, let place): "\(place): unknown system call '\(name)'"
        case .guarded(let name, let place) where ["clone", "clone3", "fork", "vfork"].contains(name):
            "\(place): '\(name)' is decided by the sandbox: no new processes; threads come with the threads preset"
        case .guarded(let name, let place) where name == "rt_sigaction":
            "\(place): 'rt_sigaction' is decided by the sandbox: allowed for every signal but SIGSYS"
        case .guarded(let name, let place): "\(place): '\(name)' is always denied by the sandbox (a guard)"
        case .socketWithoutNetwork(let name, let place): "\(place): '\(name)' is denied with --network none (use --network host)"
        case .rejectedRule(let place, let error): "\(place): libseccomp refused the rule: \(error)"
        case .unreadablePolicy(let path, let error): "cannot read the sandbox policy '\(path)': \(error)"
        case .unopenablePath(let path, let error): "cannot open '\(path)' for the sandbox: \(error)"
        case .invalidLimit(let text): text
        case .programFailed(let error): "cannot build the sandbox's seccomp program: \(error)"
        case .notEnforced(let missing, _):
            "the sandbox cannot be enforced in full here (--sandbox-strict): missing \(missing.joined(separator: ", "))"
        }
    }
}
