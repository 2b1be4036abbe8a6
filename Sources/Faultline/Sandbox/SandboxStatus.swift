import CFaultline

/// What a sandbox enforces on this machine: measured once, when the pool or
/// the strategy is made, by a probe process that applies the whole sandbox to
/// itself (every worker then applies the same, or exits before any call).
public struct SandboxStatus: Hashable, Sendable {
    /// The kernel's Landlock ABI (0: no Landlock).
    public var landlockABI: Int
    /// Landlock restricts the filesystem to the allowed paths.
    public var filesystem: Bool
    /// Landlock denies TCP bind and connect (ABI 4, network none).
    public var tcp: Bool
    /// Landlock scopes abstract UNIX sockets (ABI 6, network none).
    public var abstractUnixSockets: Bool
    /// The seccomp program is installed.
    public var seccomp: Bool
    /// How many allow rules the program has (the preset's, Faultline's own, the user's).
    public var seccompRules: Int
    /// The workers run in a user and network namespace of the pool's own.
    public var networkNamespace: Bool
    /// The rlimits took hold (core dumps off, and those asked for).
    public var limits: Bool

    /// Creates a status.
    public init(landlockABI: Int, filesystem: Bool, tcp: Bool, abstractUnixSockets: Bool, seccomp: Bool, seccompRules: Int,
                networkNamespace: Bool, limits: Bool) {
        self.landlockABI = landlockABI
        self.filesystem = filesystem
        self.tcp = tcp
        self.abstractUnixSockets = abstractUnixSockets
        self.seccomp = seccomp
        self.seccompRules = seccompRules
        self.networkNamespace = networkNamespace
        self.limits = limits
    }

    init(_ status: fl_sandbox_status, rules: Int) {
        func has(_ bit: Int) -> Bool { status.enforced & UInt32(bit) != 0 }
        self.init(landlockABI: Int(status.landlock_abi), filesystem: has(FL_ENFORCED_LANDLOCK),
                  tcp: has(FL_ENFORCED_LANDLOCK_TCP), abstractUnixSockets: has(FL_ENFORCED_LANDLOCK_SCOPE),
                  seccomp: has(FL_ENFORCED_SECCOMP), seccompRules: rules, networkNamespace: has(FL_ENFORCED_NETNS),
                  limits: has(FL_ENFORCED_LIMITS))
    }

    /// What `sandbox` asks for and this status lacks, named (empty: all enforced).
    public func missing(for sandbox: Sandbox) -> [String] {
        var missing: [String] = []
        if !seccomp { missing.append("seccomp") }
        if !filesystem { missing.append(landlockABI == 0 ? "Landlock (not in this kernel)" : "Landlock") }
        if sandbox.network == .none && !networkNamespace { missing.append("a network namespace") }
        if !limits { missing.append("rlimits") }
        return missing
    }
}
