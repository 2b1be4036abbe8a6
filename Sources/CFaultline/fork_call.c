/*
 * fork_call.c: one forked child per call, and an exact account of how it ended
 * that nothing the callee does can falsify.
 *
 * MECHANISM. For each call the parent draws a 64-bit secret (getrandom(2);
 * a counter mixed with the clock if that fails) and zeroes its thread's
 * MAP_SHARED "call page" (internal.h: fl_call_page; a page, not a pipe,
 * because a callee can close every descriptor; kept per thread because a new
 * shared mapping per call costs tens of microseconds; made for one call only
 * when a result record is larger than 256 KiB). It writes the page's canary,
 * derived from the secret, and forks. The secret then exists only in locals:
 * the parent's, and after fork the child's stack and registers. The child
 * (child.c) installs a fault reporter, runs the initializer if any (then
 * marks `init_done`, also derived from the secret), calls the callee, and
 * only AFTER the call writes its record into the page from values on its
 * stack (the page address, the secret, the returned value), sealed with a
 * keyed check of the record and the result bytes. The parent waits for the
 * child's death (waitpid, or a pidfd polled until the deadline), copies the
 * page, and accepts a record only if its check matches. There is no
 * "claimed" flag a callee could set to silence the child: the child writes
 * after the call whatever is in the page. A record left by an earlier call
 * carries a check under another secret.
 *
 * CANARIES. Before the call the page holds a canary the parent also knows,
 * and a private global of the child (child.c) holds the key of fault
 * reports. After the call the child compares both with what it computes from
 * the secret on its stack; a mismatch means the callee wrote over
 * Faultline's memory, and the record becomes CORRUPTED with the returned value
 * ("the call returned 5, then Faultline found its result page overwritten").
 * From the call's return to exit_group the child calls nothing in libc (the
 * check and the copy are inline, the exit is a raw system call): a callee that
 * scribbled over libc's data and the GOT cannot crash Faultline's epilogue.
 *
 * KEYS. Records written by the child after the call (RETURNED, CORRUPTED,
 * INIT_FAILED) are sealed with a key that never leaves the stack; fault
 * reports with another key, which the reporter must find in a global (a
 * signal handler has no stack of ours to read). Keys are derived from the
 * secret, so a record left in memory by an earlier call, a stale page or a
 * grandchild carries no valid check.
 *
 * OTHER PROCESSES. The reporter acts only in the process it was installed
 * for (fault_report.c compares getpid()): a grandchild the callee forks dies
 * of its own signal without touching the page. After the child's death the
 * parent kills what the callee left in the child's process group; waitpid
 * on the child's pid is the only source of how the call's process ended.
 * Call pages are MADV_DONTFORK except across the fork of their own call,
 * which happens under a lock every fork of this file takes: the children of
 * other calls on other threads never inherit them. The child marks its page
 * MADV_DONTFORK in itself before the call: nothing the callee forks (a
 * daemon that outlives the call included) ever holds it.
 *
 * CLASSIFICATION (waitpid is the truth for how the process ended):
 *   exited 0 + valid RETURNED                    -> RETURNED (value / result record)
 *   exited 0 + valid CORRUPTED (child's canaries) -> CORRUPTED, as the child saw it
 *   exited n, no valid record, page intact       -> EXITED n
 *   exited 0, record failed its check or page overwritten -> CORRUPTED (nobody can
 *                                                   tell a return from exit(0))
 *   exited n != 0, no valid record               -> EXITED n (the child's own path exits 0)
 *   signal s + valid SIGNALED with signo s       -> SIGNALED with code, address, frames
 *   signal s otherwise                           -> SIGNALED s without details
 *   valid RETURNED/CORRUPTED, then a signal or exit n != 0 -> CORRUPTED (says both)
 *   deadline passed                              -> TIMED_OUT (killed with its group)
 * With an initializer, a death while `init_done` is unset (and the canary
 * intact) is FL_KIND_INIT_FAILED, not the input's outcome; with the canary
 * destroyed, who died is unknown and the kind is CORRUPTED.
 *
 * THREAT MODEL. The checks defend against accidents: scribbles, torn or
 * stale records, grandchildren. A callee that deliberately reads Faultline's
 * globals could forge a fault report (never a return: that key exists only on
 * the child's stack, which a callee may of course also read; nothing in one
 * address space is secret from code running in it).
 *
 * SAFETY. Between fork() and exit the child runs madvise (a system call),
 * fl_child_prepare (child.c, async-signal-safe), the initializer, the callee (directly or through
 * fl_signature_invoke, which allocates nothing), inline stores and checks, and
 * exit_group. No malloc, no lock.
 *
 * LIMITS. When the host program ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT) the
 * kernel reaps the child itself and discards its status: the call then fails
 * with -ECHILD rather than report an outcome nobody observed. fork() copies
 * the parent's page tables, so a large parent forks slowly (about 35 ms per
 * GiB here); the worker pool forks from a small helper instead. Without
 * pidfd (Linux < 5.3) a deadline cannot be enforced: the call then waits for
 * the child. A fork made outside this file (another library, the pool's
 * helper) at the very moment a call forks may inherit that call's page.
 * A signature call whose callee destroyed libc's data may crash in libffi's
 * return path (store_return uses memcpy); that is reported as the signal it
 * is, or as CORRUPTED. A callee that overwrites its thread's rseq area (glibc
 * registers one in the thread's control block, which the kernel reads when
 * the thread is preempted) is killed by the kernel with SIGSEGV at some point
 * after the scribble: that death is reported as what it is, SIGSEGV without
 * details, or CORRUPTED when the child had already sealed its record.
 */
#include "fork_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

/* Code that calls a callee: its frames end a backtrace (internal.h). */
FL_CALLS_SECTION

/* Held from just before fork() until the new page is MADV_DONTFORK: no other
   call forks while a page is inheritable. A child made by any fork() gets it
   unlocked (pthread_atfork), so a program that forks and then calls works. */
static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_lock_once = PTHREAD_ONCE_INIT;

static void fork_lock_reset_in_child(void) {
    static const pthread_mutex_t unlocked = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&fork_lock, &unlocked, sizeof unlocked);
}

static void fork_lock_setup(void) { pthread_atfork(NULL, NULL, fork_lock_reset_in_child); }

/* 64 bits nobody else can predict: getrandom(2), or a counter and the clock. */
static uint64_t call_secret(void) {
    uint64_t secret = 0;
    if (getrandom(&secret, sizeof secret, GRND_NONBLOCK) == (ssize_t)sizeof secret && secret != 0) return secret;
    static _Atomic uint64_t counter;
    uint64_t n = atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
    return fl_mix64((uint64_t)fl_now_ns() ^ fl_mix64(n ^ ((uint64_t)getpid() << 32)) ^ (uint64_t)(uintptr_t)&secret) | 1;
}

/* Writes `record` into the page with its check (written last), then ends
   the child with status 0. Inline: no libc call (see the top of the file). */
FL_ALWAYS_INLINE __attribute__((noreturn)) void seal_and_exit(fl_call_page *page, const fl_report *record,
                                                             const uint8_t *result, uint64_t result_size, uint64_t key) {
    uint64_t check = fl_record_check(key, record, result, result_size);
    /* volatile: a plain loop could be turned into a call to memcpy. */
    volatile uint64_t *to = (volatile uint64_t *)(void *)&page->record;
    const uint64_t *from = (const uint64_t *)(const void *)record;
    for (size_t i = 0; i < sizeof *record / sizeof(uint64_t); i++) to[i] = from[i];
    atomic_thread_fence(memory_order_seq_cst);
    *(volatile uint64_t *)&page->check = check;
    /* The record is sealed: whatever the callee left running (daemons included,
       re-parented to this subreaper) dies with the call. */
    fl_child_sweep();
    fl_exit_now(0);
}

/* The forked child: set-up, initializer, call, record. Never returns. */
static __attribute__((noreturn, noinline)) void run_child(const fork_job *job, fl_call_page *page, size_t page_size,
                                                           uint64_t secret, pid_t parent, int options) {
    /* Everything needed after the call is copied to locals first. */
    const uint64_t return_key = fl_derive(secret, FL_TAG_RETURN);
    const uint64_t signal_key = fl_derive(secret, FL_TAG_SIGNAL);
    const uint64_t page_canary = fl_derive(secret, FL_TAG_PAGE);
    const fl_signature *signature = job->signature;
    const uint64_t result_size = signature ? job->result_size : 0;
    uint8_t *const result = (uint8_t *)page + FL_CALL_PAGE_RESULT;
    fl_report record;
    memset(&record, 0, sizeof record);

    /* Nothing this process forks (the callee's children, daemons) inherits the page. */
    madvise(page, page_size, MADV_DONTFORK);
    volatile uint64_t *private_canary = fl_child_prepare(parent, page, signal_key, options);
    if (job->init != NULL) {
        int status = job->init();
        if (status != 0) {
            record.kind = FL_KIND_INIT_FAILED;
            record.flags = FL_INIT_RETURNED;
            record.value = status;
            seal_and_exit(page, &record, NULL, 0, return_key);
        }
        *(volatile uint64_t *)&page->init_done = fl_derive(secret, FL_TAG_INIT);
    }

    if (signature != NULL) {
        int status = fl_signature_invoke(signature, job->function, job->arguments, job->arguments_size, result);
        if (status != 0) {
            record.kind = FL_KIND_NONE; /* malformed argument record: nothing was called */
            record.value = status;
            seal_and_exit(page, &record, NULL, 0, return_key);
        }
    } else {
        record.value = job->int_function(job->input);
    }

    /* From here on: locals, the page, inline code, exit_group. */
    uint32_t damage = 0;
    if (*(volatile uint64_t *)&page->canary != page_canary) damage |= FL_CORRUPT_PAGE;
    if (*private_canary != signal_key) damage |= FL_CORRUPT_PRIVATE;
    if (damage != 0) {
        record.kind = FL_KIND_CORRUPTED;
        record.flags = damage | FL_CORRUPT_RETURNED;
    } else {
        record.kind = FL_KIND_RETURNED;
    }
    seal_and_exit(page, &record, result, result_size, return_key);
}

static size_t page_size(void) {
    static size_t size;
    if (size == 0) {
        long found = sysconf(_SC_PAGESIZE);
        size = found > 0 ? (size_t)found : 4096;
    }
    return size;
}

/* Each thread keeps its call page between calls (a new MAP_SHARED mapping
   costs more than the rest of a call's bookkeeping); mappings larger than
   this are made for one call and unmapped after it. */
#define FL_CACHED_PAGE_MAX ((size_t)256 << 10)

typedef struct cached_page {
    void *address;
    size_t size;
} cached_page;

static pthread_key_t page_key;
static pthread_once_t page_key_once = PTHREAD_ONCE_INIT;
static __thread cached_page *thread_page;

static void release_page(void *value) {
    cached_page *cached = value;
    if (cached->address != NULL) munmap(cached->address, cached->size);
    free(cached);
}

static void make_page_key(void) { pthread_key_create(&page_key, release_page); }

/* A MAP_SHARED, MADV_DONTFORK mapping of `size` bytes (a multiple of the page size). */
static void *map_call_page(size_t size) {
    void *address = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (address == MAP_FAILED) return NULL;
    madvise(address, size, MADV_DONTFORK);
    return address;
}

/* This thread's call page, at least `size` bytes, its first `used` bytes zero;
   *mapping is the size of the whole mapping, *own is set when it was made for
   this call only. NULL with errno. */
static fl_call_page *call_page(size_t size, size_t used, size_t *mapping, int *own) {
    *own = 0;
    *mapping = size;
    if (size > FL_CACHED_PAGE_MAX) {
        *own = 1;
        return map_call_page(size); /* fresh: already zero */
    }
    if (thread_page == NULL) {
        pthread_once(&page_key_once, make_page_key);
        cached_page *cached = calloc(1, sizeof *cached);
        if (cached == NULL) return NULL;
        thread_page = cached;
        pthread_setspecific(page_key, cached);
    }
    if (thread_page->size < size) {
        if (thread_page->address != NULL) munmap(thread_page->address, thread_page->size);
        thread_page->address = map_call_page(size);
        thread_page->size = thread_page->address ? size : 0;
        if (thread_page->address == NULL) return NULL;
    } else {
        memset(thread_page->address, 0, used); /* what the last call left */
    }
    *mapping = thread_page->size;
    return thread_page->address;
}

/* The parent's side of both entry points: page, fork, wait, classify. */
static int fork_run(const fork_job *job, int64_t timeout_ns, int options, fl_report *report, uint8_t *result) {
    memset(report, 0, sizeof *report);
    if (options & FL_CAPTURE_BACKTRACE) fl_backtrace_load(); /* dlopen in the parent, never in the child */
    fl_child_exit_hook();
    int altstack_error = fl_child_map_altstack();
    if (altstack_error != 0) return -altstack_error;
    pthread_once(&fork_lock_once, fork_lock_setup);
    const uint64_t secret = call_secret();
    const size_t used = FL_CALL_PAGE_RESULT + (size_t)job->result_size;
    size_t mapped = (used + page_size() - 1) & ~(page_size() - 1);
    int own_page;
    fl_call_page *page = call_page(mapped, used, &mapped, &own_page);
    if (page == NULL) return -errno;
    page->canary = fl_derive(secret, FL_TAG_PAGE);
    pid_t parent = getpid();
    int64_t start = fl_now_ns();
    int64_t deadline = timeout_ns >= 0 ? start + timeout_ns : -1;

    /* The page is MADV_DONTFORK except across this fork, under a lock that
       every fork of this file takes: the children of other calls on other
       threads (and any fork outside Faultline while no call is forking) never
       inherit it. The child marks it MADV_DONTFORK in itself at once, so
       nothing the callee forks inherits it either. */
    pthread_mutex_lock(&fork_lock);
    madvise(page, mapped, MADV_DOFORK);
    pid_t pid = fork();
    if (pid == 0) run_child(job, page, mapped, secret, parent, options);
    int fork_error = errno;
    madvise(page, mapped, MADV_DONTFORK);
    pthread_mutex_unlock(&fork_lock);
    if (pid < 0) {
        if (own_page) munmap(page, mapped);
        return -fork_error;
    }

    int timed_out = 0;
    int status = 0;
    if (deadline >= 0) {
        /* Make sure the group exists before we may have to kill it (the child calls setpgid too). */
        setpgid(pid, pid);
        int pidfd = fl_pidfd_open(pid);
        if (pidfd >= 0) {
            if (fl_poll_until(pidfd, deadline) == 0) {
                timed_out = 1;
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
            }
            close(pidfd);
        }
    }
    /* Without a deadline, waitpid is the event: the parent touches as little
       memory as possible while the child shares its pages copy-on-write. */
    pid_t reaped = fl_wait_pid(pid, &status, 0);
    int wait_error = errno;
    int64_t end = fl_now_ns();
    kill(-pid, SIGKILL); /* anything the callee left in its process group */
    /* ECHILD: the host program ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT), so the
       kernel reaped the child and threw its status away. No outcome was
       observed: say so instead of inventing one. */
    if (reaped < 0) {
        if (own_page) munmap(page, mapped);
        return -wait_error;
    }
    int error = fl_fork_classify(page, job, secret, status, timed_out, report, result);
    if (own_page) munmap(page, mapped);
    report->elapsed_ns = end - start;
    return error;
}

int fl_fork_call(fl_function function, int input, int64_t timeout_ns, int options, fl_report *report) {
    fork_job job = {.int_function = function, .input = input};
    return fork_run(&job, timeout_ns, options, report, NULL);
}

int fl_fork_invoke(const fl_signature *signature, void *function, const uint8_t *arguments, size_t arguments_size,
                   fl_init_function init, int64_t timeout_ns, int options, fl_report *report, uint8_t *result,
                   size_t result_size) {
    if (signature == NULL || result == NULL || result_size < signature->result_size) {
        memset(report, 0, sizeof *report);
        return FL_SIGNATURE_MALFORMED;
    }
    fork_job job = {
        .signature = signature,
        .function = function,
        .arguments = arguments,
        .arguments_size = arguments_size,
        .init = init,
        .result_size = signature->result_size,
    };
    return fork_run(&job, timeout_ns, options, report, result);
}
