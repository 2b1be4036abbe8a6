import Faultline

/// The victims of sandbox_victims.c that try what a `pure` sandbox forbids,
/// each with the system call that must be named in its violation (nil: the
/// callee blocked SIGSYS, so none can be). A negative input tries; others return.
public enum SandboxVictims {
    public struct Entry: Sendable {
        public let symbol: String
        /// The denied call's name, or nil when the violation cannot name it.
        public let syscall: String?
        /// Its arch as reported.
        public let arch: String
    }

    public static let forbidden: [Entry] = [
        Entry(symbol: "fl_sb_open_etc", syscall: "openat", arch: "x86_64"),
        Entry(symbol: "fl_sb_socket", syscall: "socket", arch: "x86_64"),
        Entry(symbol: "fl_sb_connect_tcp", syscall: "socket", arch: "x86_64"),
        Entry(symbol: "fl_sb_sendto_udp", syscall: "socket", arch: "x86_64"),
        Entry(symbol: "fl_sb_fork_exec", syscall: "clone", arch: "x86_64"),
        Entry(symbol: "fl_sb_exec", syscall: "execve", arch: "x86_64"),
        Entry(symbol: "fl_sb_kill_parent", syscall: "kill", arch: "x86_64"),
        Entry(symbol: "fl_sb_ptrace_parent", syscall: "ptrace", arch: "x86_64"),
        Entry(symbol: "fl_sb_mmap_exec", syscall: "mmap", arch: "x86_64"),
        Entry(symbol: "fl_sb_sigsys_handler", syscall: "rt_sigaction", arch: "x86_64"),
        Entry(symbol: "fl_sb_block_sigsys", syscall: nil, arch: ""),
        Entry(symbol: "fl_sb_io_uring", syscall: "io_uring_setup", arch: "x86_64"),
        Entry(symbol: "fl_sb_int80", syscall: "getpid", arch: "x86"),
    ]

    /// Crashing victims whose outcome (signal and bucket) a sandbox must not change.
    public static let crashing = ["raise_a_fault", "fl_null_write", "fl_divide_by_zero", "fl_abort", "fl_stack_overflow",
                                  "fl_illegal_instruction", "fl_breakpoint"]

    /// A pure sandbox with nothing added.
    public static let pure = Sandbox(.pure)
}
