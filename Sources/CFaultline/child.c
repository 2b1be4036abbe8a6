/*
 * child.c: what a forked child does before it calls the callee, and its
 * fault reporter.
 *
 * Everything here runs between fork() and _exit(), so it uses only system
 * calls and async-signal-safe functions: the common set-up (fl_child_setup:
 * prctl, getppid, setpgid, setrlimit, dup2, sigaction), sigprocmask,
 * sigaltstack, getpid, raise, _exit. Its alternate stack, with a guard page
 * below it, is mapped in the parent before the fork (fl_child_map_altstack).
 * A callee's exit() is caught by an
 * on_exit handler registered once in the parent (fl_child_exit_hook), which
 * only acts in a child: the child takes no lock.
 *
 * Before the callee runs, the child dies with its parent (PR_SET_PDEATHSIG,
 * checked against the race where the parent already died), moves to its own
 * process group, disables core dumps, points stdout at stderr (the caller's
 * stdout stays clean) and installs its fault reporter. The reporter acts only
 * in this child (fault_report.c checks the pid: a grandchild the callee forks
 * dies of its signal untouched). It fills a SIGNALED record in the call page
 * shared with the parent (a callee that closes every descriptor cannot lose
 * it), seals it with the call's signal key (fl_record_check), then restores
 * the default action and re-raises the signal: the parent's waitpid sees the
 * true signal.
 *
 * The signal key lives in a global of this file: it is also the child's
 * private canary, which fork_call.c compares after the call (a callee that
 * wrote over it wrote over Faultline's memory). If the callee destroyed the
 * globals, the reporter's consistency check (the page address sealed with the
 * key) fails and it writes nothing; the parent then reports the signal from
 * waitpid without details.
 *
 * The child also unregisters glibc's rseq area (restartable sequences, in
 * the thread's control block) before the call: the kernel reads that area
 * whenever the thread is preempted and kills the process with SIGSEGV when it
 * holds garbage, so a callee that scribbles over its private memory would
 * otherwise die at a random moment after returning, sometimes before the
 * child could record the return. glibc's sched_getcpu() falls back to the
 * system call once the kernel marks the area unregistered.
 *
 * Limits: a callee thread that overflows its own stack has no alternate
 * stack, so it dies without a report (the signal is still exact). If two
 * threads fault at once, the first one's report is kept (`child_reported`,
 * in private memory: a scribble over the shared page cannot silence the
 * reporter).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>

/* Code that calls a callee: its frames end a backtrace (internal.h). */
FL_CALLS_SECTION
#endif

static fl_call_page *child_page;
static volatile uint64_t child_signal_key; /* also the private canary */
static uint64_t child_page_seal;           /* fl_mix64(page address ^ key): the globals agree */
static int child_options;
static _Atomic int child_reported; /* the first faulting thread writes the report */
/* The child's alternate stack: mapped once in the parent before its first fork
   (altstack.c: a guard page below it, so that a callee's SA_ONSTACK handler that
   recurses without end faults instead of running on through memory below), and
   inherited by every child; its pages cost nothing until a fault touches them. */
#define FL_CHILD_ALTSTACK_SIZE (128 * 1024)
static fl_altstack child_altstack;
static int child_altstack_error;
static pthread_once_t child_altstack_once = PTHREAD_ONCE_INIT;

static void map_child_altstack(void) { child_altstack_error = fl_altstack_map(FL_CHILD_ALTSTACK_SIZE, &child_altstack); }

int fl_child_map_altstack(void) {
    pthread_once(&child_altstack_once, map_child_altstack);
    return child_altstack_error;
}

static void report_and_die(int signo, siginfo_t *info, void *context) {
    fl_call_page *page = child_page;
    uint64_t key = child_signal_key;
    if (page != NULL && child_page_seal == fl_mix64((uint64_t)(uintptr_t)page ^ key)) {
        int unclaimed = 0;
        if (atomic_compare_exchange_strong(&child_reported, &unclaimed, 1)) {
            fl_report_capture(&page->record, signo, info, context, child_options);
            atomic_thread_fence(memory_order_seq_cst);
            page->check = fl_record_check(key, &page->record, NULL, 0);
        }
    }
    fl_die_of_signal(signo);
}

static volatile sig_atomic_t in_forked_child;

static void exit_without_parent_handlers(int status, void *unused) {
    (void)unused;
    if (in_forked_child) _exit(status); /* in the parent: a normal exit goes on */
}

static void register_exit_hook(void) { on_exit(exit_without_parent_handlers, NULL); }

void fl_child_exit_hook(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_exit_hook);
}

/* Unregisters this thread's rseq area, if glibc registered one (one system call). */
static void forget_rseq(void) {
#if defined(RSEQ_SIG) && defined(SYS_rseq)
    if (__rseq_size > 0) {
        void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
        syscall(SYS_rseq, area, (unsigned int)__rseq_size < 32 ? 32u : __rseq_size, 1 /* RSEQ_FLAG_UNREGISTER */, RSEQ_SIG);
    }
#endif
}

volatile uint64_t *fl_child_prepare(pid_t expected_parent, fl_call_page *page, uint64_t signal_key, int options) {
    child_page = page;
    child_signal_key = signal_key;
    child_page_seal = fl_mix64((uint64_t)(uintptr_t)page ^ signal_key);
    child_options = options;
    child_reported = 0;
    fl_child_setup(expected_parent, 1);
    /* Processes the callee starts and abandons (double-forked, setsid) are re-parented
       here, not to init: fl_child_sweep kills them once the call's record is sealed. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* The caller may have blocked signals for a sigwait thread: the reporter clears the mask. */
    fl_install_fault_reporter(report_and_die, child_altstack.base, child_altstack.size);
    forget_rseq();
    in_forked_child = 1;
    return &child_signal_key;
}

/* Appends the decimal digits of `value` to `text` at `at`; returns the new end. */
static size_t append_number(char *text, size_t at, long value) {
    char digits[24];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0 && count < sizeof digits);
    while (count > 0) text[at++] = digits[--count];
    return at;
}

void fl_child_sweep(void) {
    char path[64] = "/proc/self/task/";
    size_t end = append_number(path, 16, (long)getpid());
    static const char tail[] = "/children";
    for (size_t i = 0; i < sizeof tail; i++) path[end + i] = tail[i];
    for (int round = 0; round < 16; round++) {
        char text[1024];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        ssize_t got = read(fd, text, sizeof text - 1);
        close(fd);
        if (got <= 0) return;
        pid_t pids[128];
        int count = 0;
        long value = -1;
        for (ssize_t i = 0; i <= got && count < 128; i++) {
            char c = i < got ? text[i] : ' ';
            if (c >= '0' && c <= '9') {
                value = (value < 0 ? 0 : value * 10) + (c - '0');
            } else if (value > 0) {
                pids[count++] = (pid_t)value;
                value = -1;
            }
        }
        if (count == 0) return;
        for (int i = 0; i < count; i++) kill(pids[i], SIGKILL);
        for (int i = 0; i < count; i++) {
            while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {
            }
        }
    }
}
