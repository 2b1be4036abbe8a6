/* Declarations shared between CFaultline's C files; not part of the API. */
#ifndef CFAULTLINE_INTERNAL_H
#define CFAULTLINE_INTERNAL_H

#include "include/CFaultline.h"
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#define FL_TLS __thread __attribute__((tls_model("initial-exec")))
#define FL_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Size of the report with only the header (no frames) and with n frames. */
#define FL_REPORT_SIZE(n) (offsetof(fl_report, frames) + (size_t)(n) * sizeof(uint64_t))

/* fault_report.c, all async-signal-safe: */
/* Fills signo/code/address of `report` from a siginfo. */
void fl_report_fill_signal(fl_report *report, int signo, const siginfo_t *info);
/* Fills the report and its frames (a libunwind walk with FL_CAPTURE_BACKTRACE, else the faulting pc). */
void fl_report_capture(fl_report *report, int signo, const siginfo_t *info, void *context, int options);
/* fault_facts.c: looks up, outside handlers, what fl_fault_facts_capture reads (glibc's
   abort message, libstdc++'s current exception, libffi's code). Call again after a
   library was loaded: a C++ runtime loaded with it is found then. */
void fl_fault_facts_load(void);
/* fault_facts.c, async-signal-safe (one process_vm_readv on this process): copies up to
   `size` bytes at `from`, any address, into `to`; returns the count copied. A wild
   pointer gives a short count (EFAULT), never a fault in the handler that reads it. */
size_t fl_copy_checked(void *to, const void *from, size_t size);
/* fault_facts.c, async-signal-safe: sp, access and (SIGABRT) message of `report`
   (its `code` already filled) from the signal's context; for SIGSYS from
   seccomp (SYS_SECCOMP), kind VIOLATION with the system call's number, arch,
   arguments and address. */
void fl_fault_facts_capture(fl_report *report, int signo, const siginfo_t *info, const void *context);
/* fault_facts.c, async-signal-safe: how many of `frames` to keep so that the
   last is the callee's entry (sets *cut when the call machinery was found). */
uint32_t fl_frames_cut_at_call(const uint64_t *frames, uint32_t count, int *cut);
/* Compiles the rest of a file into the `fl_calls` section: every file with code
   that calls a callee (directly, through libffi or a trampoline) uses it, so a
   backtrace can be cut where the callee's frames end (fault_facts.c). */
#define FL_CALLS_SECTION _Pragma("clang section text=\"fl_calls\"")

/* image_notes.c: remembers the executable segments of every object loaded now (not
   for handlers: dl_iterate_phdr). Call before forking, and when the guard is installed. */
void fl_image_notes_prepare(void);
/* image_notes.c, async-signal-safe: notes in `report` the objects holding frames outside
   the remembered segments (a library the callee loaded), from the process's link map. */
void fl_image_notes_capture(fl_report *report);

/* Puts back SIG_DFL for signo. */
void fl_set_default_action(int signo);
/* Default action, unblocked, raised: the process dies of signo. */
void fl_die_of_signal(int signo) __attribute__((noreturn));
/* For a process that reports its fault and dies (forked child, pool worker): `handler` on
   the given alternate stack for every fault signal, and an empty signal mask. The
   handler runs only in the process that installed it: in any other (a child the
   callee forked, even by a raw clone) a fault restores the default action and
   re-raises, touching nothing (see fault_report.c). */
void fl_install_fault_reporter(void (*handler)(int, siginfo_t *, void *), void *stack, size_t stack_size);
/* For a sandboxed process, after fl_install_fault_reporter: SIGSYS to the same
   handler, with SA_RESETHAND (see fault_report.c). Async-signal-safe. */
void fl_install_sigsys_reporter(void);
/* The two halves of fl_backtrace_warm_up (backtrace.c): one walk of this thread's
   stack (libunwind's caches filled in this process), and every loaded module's
   program headers read (their pages mapped). Never in a handler. */
void fl_backtrace_walk_once(void);
/* backtrace.c, async-signal-safe: for a fault fetching the instruction at pc (a
   call through a bad pointer): pc, then the walk from the return address the
   call pushed at the stack pointer (read with fl_copy_checked). 0 when there is
   none (or not x86-64). */
uint32_t fl_backtrace_from_pushed_return(void *context, uint64_t *frames, uint32_t capacity);
void fl_backtrace_map_headers(void);

/* altstack.c: an alternate signal stack, `size` usable bytes from `base`, with a
   PROT_NONE guard page just below `base`. */
typedef struct fl_altstack {
    char *base;
    size_t size;
} fl_altstack;
/* Maps a stack of at least `size` bytes (whole pages) with its guard page. Not
   async-signal-safe (mmap, mprotect): call before the fork whose child installs it.
   0 or an errno value. */
int fl_altstack_map(size_t size, fl_altstack *stack);

/* ---- forked calls (fork_call.c, child.c): the call page and its check ----

   Where a forked child leaves its record: a MAP_SHARED mapping made for one
   call (a pipe descriptor the callee could close). Every field that decides
   an outcome is bound to a 64-bit secret of the call (see fork_call.c):
   `canary` and `init_done` are values derived from it that only Faultline can
   produce, and `check` is a keyed check of `record` (and, for a return, of the
   result record that follows at FL_CALL_PAGE_RESULT). `check` is written last. */
typedef struct fl_call_page {
    uint64_t canary;        /* fl_derive(secret, FL_TAG_PAGE), written by the parent before fork */
    uint64_t init_done;     /* fl_derive(secret, FL_TAG_INIT), written by the child once init returned 0 */
    uint64_t check;         /* fl_record_check(key of the record's kind, record, result) */
    fl_report record;       /* RETURNED, CORRUPTED, INIT_FAILED (child) or SIGNALED (reporter) */
} fl_call_page;

/* Offset of the result record of a signature call in the page (64-byte aligned). */
#define FL_CALL_PAGE_RESULT ((sizeof(fl_call_page) + 63) & ~(size_t)63)

/* Tags that derive the per-call keys and canaries from the secret. */
#define FL_TAG_PAGE 0x70616765ULL   /* the page's canary */
#define FL_TAG_INIT 0x696e6974ULL   /* "the initializer returned 0" */
#define FL_TAG_RETURN 0x72657475ULL /* key of records written by the child after the call */
#define FL_TAG_SIGNAL 0x7369676eULL /* key of fault reports; also the child's private canary */

#define FL_ALWAYS_INLINE static inline __attribute__((always_inline))

/* A bijective 64-bit mixer (the finalizer of SplitMix64). Pure arithmetic. */
FL_ALWAYS_INLINE uint64_t fl_mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* A value or key derived from the call's secret for one purpose (`tag`). Never 0. */
FL_ALWAYS_INLINE uint64_t fl_derive(uint64_t secret, uint64_t tag) {
    uint64_t value = fl_mix64(fl_mix64(secret ^ (tag * 0x9e3779b97f4a7c15ULL)) + tag);
    return value ? value : 1;
}

/* One word into the running check. */
FL_ALWAYS_INLINE uint64_t fl_check_step(uint64_t state, uint64_t key, uint64_t word) {
    return fl_mix64(state ^ word) + key;
}

typedef uint64_t __attribute__((may_alias, aligned(1))) fl_unaligned_u64;

/* The keyed check of a record and `size` bytes of result (a multiple of 8;
   0 for none). Inline, pure loads and arithmetic: it runs in a child whose
   libc may have been destroyed by the callee, and in fault handlers. Never 0. */
FL_ALWAYS_INLINE uint64_t fl_record_check(uint64_t key, const fl_report *record, const uint8_t *result, uint64_t size) {
    uint64_t state = fl_mix64(key ^ 0x6a09e667f3bcc909ULL) ^ size;
    const uint8_t *bytes = (const uint8_t *)record;
    for (size_t i = 0; i + 8 <= sizeof *record; i += 8) state = fl_check_step(state, key, *(const fl_unaligned_u64 *)(bytes + i));
    for (uint64_t i = 0; i + 8 <= size; i += 8) state = fl_check_step(state, key, *(const fl_unaligned_u64 *)(result + i));
    state = fl_mix64(state ^ key);
    return state ? state : 1;
}

/* Ends the process now with exit_group(2), without libc: after a callee that
   may have overwritten libc's data (and the lazily bound GOT), the child must
   not call through the PLT. */
FL_ALWAYS_INLINE __attribute__((noreturn)) void fl_exit_now(int status) {
#if defined(__x86_64__)
    for (;;) __asm__ volatile("syscall" : : "a"(231L /* SYS_exit_group */), "D"((long)status) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long number __asm__("x8") = 94; /* SYS_exit_group */
    register long argument __asm__("x0") = status;
    for (;;) __asm__ volatile("svc 0" : : "r"(number), "r"(argument) : "memory");
#else
    for (;;) _exit(status);
#endif
}

/* child.c: prepares a freshly forked child to call a callee (async-signal-safe;
   see the top of child.c): its fault reporter writes SIGNALED records into
   `page`, checked with `signal_key`, which it also keeps as the child's
   private canary. Returns the address of that canary, for the child to
   compare after the call. */
volatile uint64_t *fl_child_prepare(pid_t expected_parent, fl_call_page *page, uint64_t signal_key, int options);
/* child.c: in the parent, before fork(): maps, once per process, the alternate stack
   (with its guard page) that every child's fault reporter runs on. 0 or an errno value. */
int fl_child_map_altstack(void);
/* child.c: in a forked call's child (a subreaper) once its record is sealed: kills and
   reaps every child it has, adopted orphans included (open, read, kill, waitpid:
   async-signal-safe). */
void fl_child_sweep(void);

/* process.c: the one set-up of every process Faultline starts (forked call,
   pool worker, helper), async-signal-safe: dies with its parent (SIGKILL,
   PR_SET_PDEATHSIG, and _exit(127) if the parent is already not
   `expected_parent`), its own process group when `own_group`, no core dumps,
   stdout pointed at stderr, the descriptors fl_keep_out_of_children named
   closed, SIGINT/SIGTERM/SIGPIPE/SIGCHLD/SIGUSR1 at their default action. */
void fl_child_setup(pid_t expected_parent, int own_group);

/* io.c: EINTR-safe I/O, async-signal-safe (see the top of io.c). */
#define FL_IO_MAX_FDS 3
/* Sends / receives exactly `size` bytes on a stream socket. 0, or -1 with errno (EPIPE on end of file). */
int fl_send_all(int fd, const void *data, size_t size);
int fl_recv_all(int fd, void *data, size_t size);
/* One packet with up to FL_IO_MAX_FDS descriptors (SCM_RIGHTS). 0 or -1 with errno. */
int fl_send_packet(int fd, const void *data, size_t size, const int *fds, int fd_count);
/* Receives one packet (received descriptors are close-on-exec); returns recvmsg's result. */
ssize_t fl_receive_packet(int fd, void *data, size_t size, int *fds, int *fd_count, int flags);
/* waitpid, retried on EINTR (`status` may be NULL). */
pid_t fl_wait_pid(pid_t pid, int *status, int flags);
/* Waits until `fd` is readable: 1; the deadline (fl_now_ns, < 0: none) passed: 0; poll failed: -1. */
int fl_poll_until(int fd, int64_t deadline_ns);

/* Registers, once and in the parent, the on_exit handler that turns a
   callee's exit(n) in a forked child into _exit(n). Call before fork(). */
void fl_child_exit_hook(void);

/* process.c: 64 random bits for a worker's secret (getrandom; the clock when it has none). Not for handlers. */
uint64_t fl_new_secret(void);
/* process.c: kills and reaps every child of this process, adopted orphans included, generation by
   generation (for the helper, a subreaper, as it shuts down). Not for handlers. */
void fl_kill_children(void);

#endif
