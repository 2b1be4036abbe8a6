/*
 * CFaultline: the C half of Faultline.
 *
 * Everything that runs inside a signal handler, jumps with siglongjmp, or runs
 * between fork() and _exit() lives here, in C, so that no Swift code ever runs
 * in those places. Each .c file is one mechanism and states its limits at the top:
 *
 *   guard.c      in-process guard: sigaction handlers + sigsetjmp/siglongjmp
 *   altstack.c   alternate signal stacks with a guard page below (sigaltstack)
 *   backtrace.c  libunwind, loaded with dlopen(RTLD_LOCAL), walked from a signal context
 *   fault_report.c what every fault handler shares: the fault signals, filling a report, dying of a signal
 *   child.c      what a forked child does before the callee runs, and its fault reporter
 *   fork_call.c  one fork per call, result in a shared page, classified by waitpid
 *   symbol.c     the one symbolizer: dladdr + demangling, for the helper and for Swift
 *   image.c      the loaded object of an address: path, load bias, build-id (dl_iterate_phdr)
 *   process.c    pidfd_open, subreaper, parent-death signal, the set-up of every child
 *   io.c         EINTR-safe send/recv/sendmsg/recvmsg/waitpid/poll (internal)
 *   clock.c      the monotonic clock
 *   wait_status.c the WIFEXITED family, which Swift cannot see
 *   sandbox_*.c  the opt-in sandbox of workers and forked children (CFaultlineSandbox.h)
 *
 * The Swift module `Faultline` is the public, typed API on top of these.
 */
#ifndef CFAULTLINE_H
#define CFAULTLINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The only shape of native function Faultline calls: `int f(int)`. */
typedef int (*fl_function)(int);

/** How many return addresses a report holds at most. */
#define FL_MAX_FRAMES 48

/** Bytes of a report's `message`. */
#define FL_MESSAGE_MAX 240

/** What the faulting instruction did at the fault address (x86-64 page faults only). */
typedef enum fl_access {
    FL_ACCESS_UNKNOWN = 0,
    FL_ACCESS_READ = 1,
    FL_ACCESS_WRITE = 2,
    FL_ACCESS_EXEC = 3,
} fl_access;

/** What happened to one call. */
typedef enum fl_kind {
    FL_KIND_NONE = 0,      /**< nothing known (an internal error) */
    FL_KIND_RETURNED = 1,  /**< the callee returned `value` */
    FL_KIND_SIGNALED = 2,  /**< a signal ended the call: `signo`, `code`, `address`, `frames` */
    FL_KIND_EXITED = 3,    /**< the callee ended its process with status `value` */
    FL_KIND_TIMED_OUT = 4, /**< the deadline passed; `elapsed_ns` says when the call was killed */
    /** Faultline's own record of the call was destroyed or contradicts how the
        process ended, so no outcome can be vouched for. `flags` (FL_CORRUPT_*)
        say what was seen; `value` is the int the call returned when
        FL_CORRUPT_RETURNED is set (a signature call's return value is then in
        its result record); `signo` / `code` say how the process then ended
        (FL_CORRUPT_SIGNALED / FL_CORRUPT_EXITED). A pool's report sets no
        FL_CORRUPT_* bit: its `code` is an FL_CORRUPTION_* and FL_REPORT_VALUE_KNOWN
        says `value` holds what the call returned. */
    FL_KIND_CORRUPTED = 5,
    /** The initializer given to fl_fork_invoke failed, so the call never ran:
        not an outcome of the input. Exactly one FL_INIT_* bit of `flags` says
        how: it returned `value` (non-zero), was killed by `signo` (with `code`,
        `address`, `frames` when FL_REPORT_DETAILED), exited with status `value`,
        or had not finished when the deadline passed (`elapsed_ns`). */
    FL_KIND_INIT_FAILED = 6,
    /** A sandboxed process made a system call its sandbox denies (seccomp
        SIGSYS, SYS_SECCOMP): `syscall_nr`, `syscall_arch`, `syscall_args`,
        `address` (the instruction after the system call), `frames` as for
        SIGNALED, signo SIGSYS. `syscall_nr` is -1 (and nothing but `signo` is
        known) when the process died of SIGSYS without a report: the callee
        had blocked SIGSYS, so the kernel killed it at its denied call. */
    FL_KIND_VIOLATION = 7,
} fl_kind;

/** Why a call's outcome is FL_KIND_CORRUPTED (the report's `code`). */
enum {
    /** The call returned `value`, then its process's shared channel was found overwritten. */
    FL_CORRUPTION_SHARED_OVERWRITTEN = 1,
    /** The call returned `value`, then Faultline's private memory in its process was found overwritten. */
    FL_CORRUPTION_PRIVATE_OVERWRITTEN = 2,
    /** The process died during the call and its records of the call were overwritten: no account can be trusted. */
    FL_CORRUPTION_RECORDS_OVERWRITTEN = 3,
    /** The call killed Faultline's helper process (its parent); how the call itself ended is unknown. */
    FL_CORRUPTION_HELPER_KILLED = 4,
};

/** `flags` bits of a report. */
enum {
    /** Signal details (code, address, frames) were captured where the signal arrived. */
    FL_REPORT_DETAILED = 1u << 0,
    /** The backtrace stopped early: a second fault while walking the stack. */
    FL_REPORT_TRUNCATED = 1u << 1,
    /** CORRUPTED: `value` holds what the call returned before the corruption was found. */
    FL_REPORT_VALUE_KNOWN = 1u << 2,
    /** SIGNALED: the walk reached Faultline's call machinery and `frames` were cut there:
        the last frame is the callee's entry. Without it the stack did not lead back to
        the call (another thread, a recursion deeper than FL_MAX_FRAMES, a torn stack). */
    FL_REPORT_CUT_AT_CALL = 1u << 3,

    /* FL_KIND_CORRUPTED: what was seen (any combination). */
    /** The call returned (`value`, or the result record's return slot) before the damage was found. */
    FL_CORRUPT_RETURNED = 1u << 8,
    /** The canary in the page shared with the parent was overwritten while the call ran. */
    FL_CORRUPT_PAGE = 1u << 9,
    /** The canary in the child's private memory (a global of CFaultline) was overwritten while the call ran. */
    FL_CORRUPT_PRIVATE = 1u << 10,
    /** The parent found a record that failed its check (overwritten, torn, or not Faultline's). */
    FL_CORRUPT_CHECK = 1u << 11,
    /** The process then died of signal `signo`. */
    FL_CORRUPT_SIGNALED = 1u << 12,
    /** The process then exited with status `code`. */
    FL_CORRUPT_EXITED = 1u << 13,
    /** A valid fault report for signal `signo` was found, yet the process exited (`code`). */
    FL_CORRUPT_FAULT_REPORT = 1u << 14,

    /* FL_KIND_INIT_FAILED: how the initializer ended (exactly one). */
    /** The initializer returned `value`, which is not 0. */
    FL_INIT_RETURNED = 1u << 16,
    /** A signal (`signo`) ended the process during the initializer. */
    FL_INIT_SIGNALED = 1u << 17,
    /** The initializer ended its process with status `value`. */
    FL_INIT_EXITED = 1u << 18,
    /** The deadline passed during the initializer (`elapsed_ns`). */
    FL_INIT_TIMED_OUT = 1u << 19,
};

/** `options` bits of a call. */
enum {
    /** Walk the stack with libunwind when a fault is caught (about +3 µs per fault). */
    FL_CAPTURE_BACKTRACE = 1u << 0,
};

/** Bytes of an image note's path. */
#define FL_IMAGE_NOTE_PATH 200
/** Image notes a report holds at most. */
#define FL_IMAGE_NOTES 2

/** An object the crashed process loaded that Faultline had not seen (image_notes.c). */
typedef struct fl_image_note {
    uint64_t bias;              /**< its load bias: `pc - bias` is the image offset */
    uint64_t low, high;         /**< the executable segment the frame is in */
    uint32_t build_id_length;   /**< bytes of `build_id` (0: none) */
    uint8_t build_id[32];       /**< its GNU build-id */
    char path[FL_IMAGE_NOTE_PATH]; /**< its path, NUL-terminated */
} fl_image_note;

/**
 * The report of one call. Fixed size and free of pointers, so that it can
 * cross a pipe or shared memory in one async-signal-safe write.
 */
typedef struct fl_report {
    int32_t kind;        /**< an fl_kind */
    int32_t value;       /**< returned value, or exit status */
    int32_t signo;       /**< signal number when SIGNALED */
    int32_t code;        /**< si_code of the signal, when DETAILED */
    uint64_t address;    /**< si_addr (fault address), when DETAILED and the signal is a fault */
    uint32_t flags;      /**< FL_REPORT_* bits */
    uint32_t frame_count;/**< valid entries of `frames` */
    int64_t elapsed_ns;  /**< TIMED_OUT: how long the call ran before it was killed */
    uint64_t sp;         /**< the stack pointer at the fault, when DETAILED (0: unknown) */
    uint32_t access;     /**< an fl_access: what the faulting instruction did at `address` */
    uint32_t message_length; /**< bytes of `message` (0: none) */
    /** SIGABRT: the text glibc left for abort() (malloc's checks, stack smashing, fortify,
        assert), or the type of an uncaught C++ exception as `typeinfo:` and its mangled
        name; not NUL-terminated, cut at FL_MESSAGE_MAX bytes. */
    char message[FL_MESSAGE_MAX];
    int32_t syscall_nr;       /**< VIOLATION: the denied system call's number (-1: unknown) */
    uint32_t syscall_arch;    /**< VIOLATION: its AUDIT_ARCH_* (si_arch) */
    uint64_t syscall_args[6]; /**< VIOLATION: its six argument registers */
    uint32_t image_note_count; /**< valid entries of `image_notes` */
    uint32_t reserved;
    /** SIGNALED: objects holding frames that were loaded after Faultline last looked (a callee's dlopen). */
    fl_image_note image_notes[FL_IMAGE_NOTES];
    uint64_t frames[FL_MAX_FRAMES]; /**< instruction addresses, faulting frame first */
} fl_report;

/* ---- guard.c: the in-process guard ------------------------------------ */

/**
 * Installs the guard's handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT
 * and SIGTRAP (SA_SIGINFO | SA_ONSTACK | SA_NODEFER), saving the handlers that
 * were there. Idempotent and thread-safe. Returns 0 or an errno value.
 * A signal that arrives outside a guarded call, on another thread, or sent by
 * another process is passed to the saved handler (or the default action).
 */
int fl_guard_install(void);

/**
 * Puts back the handlers saved by fl_guard_install, for each signal whose
 * handler is still the guard's. Must not race with guarded calls.
 */
int fl_guard_uninstall(void);

/** 1 when the guard's handlers are installed. */
int fl_guard_installed(void);

/**
 * Calls `function(input)` on this thread; a fault inside it is caught and
 * written to `report` instead of ending the process.
 *
 * Cost: one sigsetjmp without saving the mask (no system call) and two
 * thread-local stores; the first call on a thread also installs the handlers
 * and an alternate signal stack. After a caught fault the signal mask is the
 * one in force when the fault happened (the handler runs with SA_NODEFER, so
 * the jump does not leave the signal blocked).
 *
 * UNSAFE by nature: the callee's locks stay held, its memory and descriptors
 * leak, its cleanup never runs, and faults in threads it started are not caught.
 * Returns 0, or a negative errno when the thread could not be prepared.
 */
int fl_guard_call(fl_function function, int input, int options, fl_report *report);

/**
 * Calls `function` on inputs[0..count) under the guard, storing each returned
 * value in values[i]. Stops at the first call that did not return: fills
 * `report` and returns its index. Returns `count` when every call returned, or
 * a negative errno. One C loop: no per-call overhead of the caller's language.
 */
ssize_t fl_guard_call_batch(fl_function function, const int32_t *inputs, size_t count, int options,
                            int32_t *values, fl_report *report);

/* ---- altstack.c --------------------------------------------------------- */

/**
 * Makes sure the calling thread has an alternate signal stack big enough to
 * handle a stack overflow (keeps an existing one that is large enough).
 * The stack is freed when the thread exits. Returns 0 or an errno value.
 */
int fl_altstack_ensure(void);

/* ---- backtrace.c -------------------------------------------------------- */

/**
 * Loads libunwind with dlopen(RTLD_LOCAL) so that its `_Unwind_*` symbols do
 * not replace the process's own (C++ exceptions stay fast). Idempotent.
 * Returns 1 when libunwind is available, 0 when only the faulting address
 * can be reported.
 */
int fl_backtrace_load(void);

/**
 * Writes up to `capacity` instruction addresses starting at the frame that
 * was interrupted by a signal. `context` is the handler's third argument.
 * Async-signal-safe once fl_backtrace_load() has run. Returns the count.
 */
uint32_t fl_backtrace_from_context(void *context, uint64_t *frames, uint32_t capacity);

/**
 * Walks this thread's stack once and throws the result away, so that the walk
 * a fault handler makes later finds libunwind's caches written in this very
 * process. In a freshly forked child, that walk otherwise pays for the
 * copy-on-write of every page of those caches first (~50-170 µs here, against
 * ~10 µs warm). For a worker before its first call; not for a handler.
 */
void fl_backtrace_warm_up(void);

/** The instruction pointer saved in a signal context. Async-signal-safe. */
uint64_t fl_context_pc(void *context);

/* ---- fault_report.c ----------------------------------------------------- */

/** The fault signals Faultline handles; `count` receives the length. */
const int *fl_fault_signals(size_t *count);

/* ---- fork_call.c -------------------------------------------------------- */

/**
 * Calls `function(input)` in a forked child and classifies how it ended.
 * `timeout_ns` < 0 means no deadline at all; otherwise the child (and its
 * process group) is killed when it passes and the kind is TIMED_OUT.
 *
 * The child's record travels in a page shared with the parent (MAP_SHARED),
 * not a pipe: a callee that closes every descriptor cannot lose it. The page
 * (one per calling thread, zeroed for each call, inherited by no other
 * process) carries a canary and a keyed check made from a 64-bit secret of
 * this call (see the top of fork_call.c): a callee that
 * writes over its process's memory, a child it forks, or a record left by
 * anything else can never make the parent report an outcome the call did not
 * produce; where the record was destroyed, the kind is CORRUPTED.
 *
 * The child runs only async-signal-safe code between fork() and _exit(): the
 * set-up of child.c, the callee, stores into the page, an inline check and
 * the exit_group system call (no malloc, no lock, no libc after the call).
 *
 * Returns 0 with `report` filled, or a negative errno: the shared page or
 * fork() failed, or waitpid() did (-ECHILD when this process ignores
 * SIGCHLD: the kernel discarded the child's status, so no outcome is known).
 * Safe to call from any thread; blocks the calling thread until the child ends.
 */
int fl_fork_call(fl_function function, int input, int64_t timeout_ns, int options, fl_report *report);

/** An initializer: `int init(void)`, 0 for success. */
typedef int (*fl_init_function)(void);

struct fl_signature;

/**
 * Calls `function` of any signature (see CFaultlineSignature.h) in a forked
 * child, with the argument record `arguments` (`arguments_size` bytes), after
 * `init` (when not NULL) ran once in that child and returned 0.
 *
 * The child writes the result record (return value and out buffers,
 * `signature->result_size` bytes) into a shared mapping made for this call,
 * under the same canaries and keyed check as fl_fork_call (a mapping of its
 * own when the record is larger than 256 KiB). On RETURNED the
 * record is copied to `result` (`result_size` bytes at least
 * signature->result_size, 8-byte aligned); on CORRUPTED with
 * FL_CORRUPT_RETURNED `result` holds the record as found (for a description
 * only); otherwise `result` is left zero-filled.
 *
 * When `init` fails (returns non-zero, crashes, exits, or is still running at
 * the deadline), the kind is FL_KIND_INIT_FAILED: that is not the outcome of
 * the input, which never ran. `timeout_ns` covers the initializer and the call.
 *
 * Between fork() and _exit() the child runs child.c's set-up, `init`, the
 * callee through fl_signature_invoke (no allocation, no lock), inline stores
 * and checks, and exit_group: async-signal-safe as fl_fork_call.
 *
 * Returns 0 with `report` filled; FL_SIGNATURE_MALFORMED (-EINVAL) when the
 * argument record was malformed (nothing was called; `init` may have run) or
 * `result_size` is too small; or a negative errno as fl_fork_call.
 */
int fl_fork_invoke(const struct fl_signature *signature, void *function, const uint8_t *arguments,
                   size_t arguments_size, fl_init_function init, int64_t timeout_ns, int options,
                   fl_report *report, uint8_t *result, size_t result_size);

/* ---- process.c --------------------------------------------------------- */

/** pidfd_open(2): a descriptor that becomes readable when `pid` exits. -1 with errno on failure.
    Async-signal-safe (one system call). */
int fl_pidfd_open(pid_t pid);
/** pidfd_send_signal(2): signals exactly the process the pidfd was opened for, even if its pid was reused.
    Async-signal-safe (one system call). */
int fl_pidfd_send_signal(int pidfd, int signo);
/** Makes this process adopt its orphaned descendants (PR_SET_CHILD_SUBREAPER). 0 or errno. */
int fl_become_subreaper(void);
/** Asks for `signo` when the calling thread's parent dies (PR_SET_PDEATHSIG); _exit(127) if the parent is not
    `expected_parent` (it died before the request). Async-signal-safe: prctl, getppid, _exit. */
void fl_die_with_parent(int signo, pid_t expected_parent);
/** Registers a descriptor of this program's own (its private copy of stdout or stdin) that every process
    Faultline forks closes first thing, before any callee runs: fork copies every descriptor, close-on-exec or
    not. At most 8; call before the first fork, from one thread. 0, or -1 when full. */
int fl_keep_out_of_children(int descriptor);

/* ---- wait_status.c ------------------------------------------------------ */

/** WIFEXITED ? WEXITSTATUS : -1 (pure arithmetic: safe anywhere) */
int fl_wait_exit_code(int status);
/** WIFSIGNALED ? WTERMSIG : -1 (pure arithmetic: safe anywhere) */
int fl_wait_term_signal(int status);

/* ---- clock.c ------------------------------------------------------------ */

/** Monotonic clock in nanoseconds (CLOCK_MONOTONIC). Async-signal-safe (clock_gettime). */
int64_t fl_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif

/* The worker pool has its own header; the umbrella pulls it in. */
#include "CFaultlineImages.h"
#include "CFaultlinePool.h"
#include "CFaultlineSignature.h"
#include "CFaultlineSandbox.h"
