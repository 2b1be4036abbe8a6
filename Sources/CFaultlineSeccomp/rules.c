/*
 * rules.c: what each preset allows, what Faultline's own code needs after
 * the program is installed, and what no rule may allow.
 *
 * pure: memory (brk, mmap and mprotect without PROT_EXEC, munmap, mremap,
 *   madvise; mmap without MAP_STACK either: glibc maps a new thread's stack
 *   so, before it blocks every signal around clone, so that a thread in pure
 *   is a violation at pthread_create's mmap, with its backtrace, and not a
 *   SIGSYS the kernel delivers blocked, which says nothing), I/O on descriptors already open (read, write, pread64,
 *   pwrite64, readv, writev, lseek, fstat, newfstatat: glibc's fstat, ioctl
 *   TCGETS only: isatty, which stdio asks), time
 *   (clock_gettime, clock_getres, gettimeofday, time, nanosleep,
 *   clock_nanosleep), futex, getrandom, sched_yield, exit, exit_group, and
 *   what a crash needs: rt_sigreturn, rt_sigprocmask, rt_sigaction for any
 *   signal but SIGSYS, getpid, gettid, tgkill on this process (abort, raise);
 *   and getppid, getuid, geteuid, getgid, getegid (answers, no effects).
 * threads: pure, and clone with CLONE_THREAD and no namespace flag (a thread,
 *   never a process), set_robust_list, rseq, sched_getaffinity.
 * Faultline's own, always: process_vm_readv on this process (the fault
 *   handler copies glibc's abort message with it), mincore and msync
 *   (libunwind checks addresses with them); a pool worker's channel: recvfrom
 *   and sendto, and kill(helper, SIGUSR1), the fault handler's wake-up.
 * Files (--allow-read, --allow-write; Landlock decides which paths): open,
 *   openat, close, stat, lstat, statx, getdents64, readlink(at), access,
 *   faccessat(2), fcntl, fadvise64; writing adds mkdir(at), rmdir,
 *   unlink(at), rename(at, at2), creat, truncate, ftruncate, fallocate,
 *   fsync, fdatasync, symlink(at).
 *
 * Arguments are compared as 64-bit registers: a signal number or a pid with
 * garbage in its upper half matches no allow rule and is denied (the kernel
 * would read the lower half only). FL_SANDBOX_PID_SELF and _HELPER are
 * placeholders each worker replaces with its pid and the helper's.
 *
 * Guards (fl_seccomp_is_guarded): no preset and no rule allows them, so each
 * ends the call as a violation: ptrace, bpf, seccomp, namespaces and mounts,
 * clone and clone3 (threads only through the preset), fork, vfork, execve,
 * execveat, io_uring, userfaultfd, perf_event_open, process_vm_readv (but on
 * itself) and process_vm_writev, keyctl and the key calls, pidfd_getfd,
 * kcmp, handles, kernel modules, kexec, reboot, swap, and rt_sigaction,
 * which only the preset's rules allow (never for SIGSYS).
 */
#include "rules.h"

#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#define ANY(n) {.name = n}
#define IF(n, a, o, v) {.name = n, .condition_count = 1, .conditions = {{a, o, (uint64_t)(v), 0}}}
#define IF_MASKED(n, a, m, v) {.name = n, .condition_count = 1, .conditions = {{a, FL_SECCOMP_MASKED_EQ, (uint64_t)(v), (uint64_t)(m)}}}

/* CLONE_NEWTIME is clone3's only: in clone() its bit is part of the exit signal. */
#define NAMESPACE_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
                         CLONE_NEWNET)

static const fl_seccomp_rule pure_rules[] = {
    ANY("brk"),
    {.name = "mmap", .condition_count = 2,
     .conditions = {{2, FL_SECCOMP_MASKED_EQ, 0, PROT_EXEC}, {3, FL_SECCOMP_MASKED_EQ, 0, MAP_STACK}}},
    IF_MASKED("mprotect", 2, PROT_EXEC, 0), ANY("munmap"),
    ANY("mremap"), ANY("madvise"),
    ANY("read"), ANY("write"), ANY("pread64"), ANY("pwrite64"), ANY("readv"), ANY("writev"), ANY("lseek"),
    ANY("fstat"), ANY("newfstatat"), IF("ioctl", 1, FL_SECCOMP_EQ, 0x5401 /* TCGETS: isatty */),
    ANY("clock_gettime"), ANY("clock_getres"), ANY("gettimeofday"), ANY("time"), ANY("nanosleep"),
    ANY("clock_nanosleep"),
    ANY("futex"), ANY("getrandom"), ANY("sched_yield"), ANY("exit"), ANY("exit_group"),
    ANY("rt_sigreturn"), ANY("rt_sigprocmask"),
    /* rt_sigaction for 1..30, 32..63 and 64: never 31 (SIGSYS), never a value with upper bits. */
    IF("rt_sigaction", 0, FL_SECCOMP_LT, SIGSYS), IF_MASKED("rt_sigaction", 0, ~(uint64_t)31, 32),
    IF("rt_sigaction", 0, FL_SECCOMP_EQ, 64),
    ANY("getpid"), ANY("gettid"), ANY("getppid"), ANY("getuid"), ANY("geteuid"), ANY("getgid"), ANY("getegid"),
    IF("tgkill", 0, FL_SECCOMP_EQ, FL_SANDBOX_PID_SELF),
    /* Faultline's own. */
    IF("process_vm_readv", 0, FL_SECCOMP_EQ, FL_SANDBOX_PID_SELF), ANY("mincore"), ANY("msync"),
};

static const fl_seccomp_rule thread_rules[] = {
    IF_MASKED("mmap", 2, PROT_EXEC, 0), /* MAP_STACK too: a thread's stack */
    IF_MASKED("clone", 0, CLONE_THREAD | NAMESPACE_FLAGS, CLONE_THREAD), ANY("set_robust_list"), ANY("rseq"),
    ANY("sched_getaffinity"),
};

static const fl_seccomp_rule pool_rules[] = {
    ANY("recvfrom"), ANY("sendto"),
    {.name = "kill", .condition_count = 2,
     .conditions = {{0, FL_SECCOMP_EQ, FL_SANDBOX_PID_HELPER, 0}, {1, FL_SECCOMP_EQ, SIGUSR1, 0}}},
};

static const fl_seccomp_rule read_rules[] = {
    ANY("open"), ANY("openat"), ANY("close"), ANY("stat"), ANY("lstat"), ANY("statx"), ANY("getdents64"),
    ANY("readlink"), ANY("readlinkat"), ANY("access"), ANY("faccessat"), ANY("faccessat2"), ANY("fcntl"),
    ANY("fadvise64"),
};

static const fl_seccomp_rule write_rules[] = {
    ANY("mkdir"), ANY("mkdirat"), ANY("rmdir"), ANY("unlink"), ANY("unlinkat"), ANY("rename"), ANY("renameat"),
    ANY("renameat2"), ANY("creat"), ANY("truncate"), ANY("ftruncate"), ANY("fallocate"), ANY("fsync"),
    ANY("fdatasync"), ANY("symlink"), ANY("symlinkat"),
};

static const char *const guarded[] = {
    "ptrace", "bpf", "seccomp", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount",
    "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr", "clone", "clone3", "fork", "vfork",
    "execve", "execveat", "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
    "perf_event_open", "process_vm_readv", "process_vm_writev", "keyctl", "add_key", "request_key",
    "pidfd_getfd", "kcmp", "open_by_handle_at", "name_to_handle_at", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "rt_sigaction",
};

#define COUNT(table) (sizeof table / sizeof table[0])

const fl_seccomp_rule *fl_seccomp_rules(int set, size_t *count) {
    switch (set) {
    case RULES_PURE: *count = COUNT(pure_rules); return pure_rules;
    case RULES_THREADS: *count = COUNT(thread_rules); return thread_rules;
    case RULES_POOL: *count = COUNT(pool_rules); return pool_rules;
    case RULES_READ: *count = COUNT(read_rules); return read_rules;
    case RULES_WRITE: *count = COUNT(write_rules); return write_rules;
    default: *count = 0; return NULL;
    }
}

int fl_seccomp_is_guarded(const char *name) {
    for (size_t i = 0; i < COUNT(guarded); i++) {
        if (strcmp(guarded[i], name) == 0) return 1;
    }
    return 0;
}
