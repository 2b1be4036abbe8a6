/// A system call the sandbox denied: the call ended there (see ``Sandbox``).
///
/// `violation: socket(2, 1, 0) [41, x86_64] at parse_header (parser.c:88)`
///
/// ``syscall`` is nil when the process died of SIGSYS without a report: the
/// callee had blocked SIGSYS, and the kernel killed it at its denied call
/// (which it does not say). Never `signaled`, never lost.
public struct Violation: Hashable, Sendable, CustomStringConvertible {
    /// The denied call, as the worker's SIGSYS handler saw it.
    public struct Syscall: Hashable, Sendable, CustomStringConvertible {
        /// Its name for ``arch`` (libseccomp's tables), nil for a number they do not know.
        public var name: String?
        /// Its number for ``arch``.
        public var number: Int32
        /// `x86_64`, `x86` (i386's `int 0x80`), `x32`, `aarch64`, or the AUDIT_ARCH value in hex.
        public var arch: String
        /// The six argument registers, whatever the call takes.
        public var args: [UInt64]

        /// Creates a description of a call.
        public init(name: String?, number: Int32, arch: String, args: [UInt64]) {
            self.name = name
            self.number = number
            self.arch = arch
            self.args = args
        }

        /// `socket(2, 1, 0) [41, x86_64]`: the arguments the call takes (all six when
        /// its arity is not known), small ones in decimal, addresses in hex.
        public var description: String {
            let shown = args.prefix(name.flatMap { SyscallArity.of($0) } ?? args.count)
            let text = shown.map { $0 < 1 << 20 ? String($0) : "0x" + String($0, radix: 16) }.joined(separator: ", ")
            return "\(name ?? "syscall#\(number)")(\(text)) [\(number), \(arch)]"
        }
    }

    /// The denied call, or nil when the process died of SIGSYS without a report.
    public var syscall: Syscall?
    /// The address of the instruction after the system call.
    public var pc: UInt64?
    /// The stack at the call, innermost first, cut at the call as a crash's is.
    public var backtrace: [Frame]
    /// True when the walk reached the call and the backtrace was cut there.
    public var cutAtCall: Bool

    /// Creates a violation.
    public init(syscall: Syscall?, pc: UInt64? = nil, backtrace: [Frame] = [], cutAtCall: Bool = false) {
        self.syscall = syscall
        self.pc = pc
        self.backtrace = backtrace
        self.cutAtCall = cutAtCall
    }

    /// The frame a person looks at: the first outside the C runtime (whose
    /// system call wrapper made the call), else the first.
    public var culprit: Frame? {
        backtrace.first { !$0.inlined && !Bucket.isRuntime($0) } ?? backtrace.first
    }

    /// `socket(2, 1, 0) [41, x86_64] at parse_header (parser.c:88)`.
    public var description: String {
        var text = syscall?.description
            ?? "a denied system call made with SIGSYS blocked (glibc blocks every signal while it starts a thread or a process)"
        if let culprit {
            let place = culprit.symbol.map { symbol in culprit.sourceLocation.map { "\(symbol) (\($0))" } ?? symbol }
            text += " at " + (place ?? culprit.description)
        }
        return text
    }

    /// The group key of ``Triage``: `violation:`, the call's name (`#number`
    /// without one, `unknown` without a report), `:`, and a 64-bit FNV-1a hash
    /// of the top significant frames (those of a crash bucket; empty without frames).
    public var bucket: String {
        let call = syscall.map { $0.name ?? "#\($0.number)" } ?? "unknown"
        let frames = Bucket.significantFrames(of: backtrace, stackOverflow: false)
        guard !frames.isEmpty else { return "violation:\(call):" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in frames.joined(separator: "|").utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "violation:\(call):" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The name of an AUDIT_ARCH_* value (si_arch), with x32's number bit.
    static func archName(_ arch: UInt32, number: Int32) -> String {
        switch arch {
        case 0xc000_003e: number & 0x4000_0000 != 0 ? "x32" : "x86_64"
        case 0x4000_0003: "x86"
        case 0xc000_00b7: "aarch64"
        case 0x4000_0028: "arm"
        case 0xc000_00f3: "riscv64"
        default: "0x" + String(arch, radix: 16)
        }
    }
}

/// How many arguments the common system calls take (x86-64 and aarch64
/// agree on these), so that a violation shows `socket(2, 1, 0)`, not six registers.
enum SyscallArity {
    static func of(_ name: String) -> Int? { table[name] }

    private static let table: [String: Int] = {
        let groups: [(Int, String)] = [
            (0, "getpid gettid getppid getuid geteuid getgid getegid fork vfork sched_yield pause sync setsid munlockall inotify_init rt_sigreturn"),
            (1, "close exit exit_group brk dup umask chdir fchdir rmdir unlink alarm uname time setuid setgid times getpgid getsid pipe unshare personality epoll_create epoll_create1 eventfd fsync fdatasync syncfs chroot acct sysinfo shmdt set_tid_address io_destroy userfaultfd"),
            (2, "kill munmap mlock munlock dup2 pipe2 listen shutdown access stat lstat fstat rename mkdir link symlink chmod fchmod truncate ftruncate gettimeofday settimeofday getrlimit setrlimit getrusage setpgid sigaltstack clock_gettime clock_getres nanosleep flock creat umount2 setns memfd_create io_setup timerfd_create eventfd2 inotify_rm_watch tkill getcwd setreuid setregid getgroups setgroups capget capset fanotify_init membarrier pidfd_open pkey_alloc set_robust_list"),
            (3, "read write open lseek mprotect madvise ioctl readv writev mincore dup3 socket connect accept bind getsockname getpeername execve fcntl getdents64 readlink chown fchown lchown mkdirat unlinkat fchmodat faccessat tgkill sched_getaffinity sched_setaffinity getrandom mknod seccomp msync futimesat inotify_add_watch setresuid setresgid getresuid getresgid shmget shmat msgget semget lsetxattr statfs fstatfs getpriority setpriority init_module delete_module keyctl io_uring_setup pidfd_getfd landlock_create_ruleset landlock_restrict_self"),
            (4, "pread64 pwrite64 openat newfstatat rt_sigaction rt_sigprocmask socketpair accept4 sendfile wait4 mknodat renameat readlinkat fchownat utimensat fallocate timerfd_settime epoll_ctl add_key request_key process_madvise clock_nanosleep fadvise64 faccessat2 landlock_add_rule ptrace tee rt_sigqueueinfo openat2 pidfd_send_signal"),
            (5, "mremap prctl linkat fchownat renameat2 statx waitid perf_event_open kexec_load getsockopt setsockopt mount execveat clone io_getevents name_to_handle_at"),
            (6, "mmap sendto recvfrom futex splice sync_file_range process_vm_readv process_vm_writev pselect6 ppoll epoll_pwait io_uring_enter io_uring_register mbind move_pages copy_file_range"),
        ]
        var table: [String: Int] = [:]
        for (arity, names) in groups { for name in names.split(separator: " ") { table[String(name)] = arity } }
        table["sendmsg"] = 3; table["recvmsg"] = 3; table["poll"] = 3; table["select"] = 5
        table["clone3"] = 2; table["bpf"] = 3; table["sched_getaffinity"] = 3; table["rseq"] = 4
        return table
    }()
}
