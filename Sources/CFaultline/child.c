/*
 * child.c: what a forked child does before it calls the callee.
 *
 * Everything here runs between fork() and _exit(), so it uses only system
 * calls and async-signal-safe functions: the common set-up (fl_child_setup:
 * prctl, getppid, setpgid, setrlimit, dup2, sigaction), sigprocmask,
 * sigaltstack, raise, _exit. A callee's
 * exit() is caught by an on_exit handler registered once in the parent
 * (fl_child_exit_hook), which only acts in a child: the child takes no lock.
 *
 * Before the callee runs, the child dies with its parent (PR_SET_PDEATHSIG,
 * checked against the race where the parent already died), moves to its own
 * process group, disables core dumps, points stdout at stderr (the caller's
 * stdout stays clean) and installs its fault reporter. The reporter fills an
 * fl_report in a page shared with the parent (a callee that closes every
 * descriptor cannot lose it), then restores the default action and re-raises
 * the signal: the parent's waitpid sees the true signal.
 *
 * Limits: a callee thread that overflows its own stack has no alternate
 * stack, so it dies without a report (the signal is still exact). If two
 * threads fault at once, the first one's report is kept.
 */
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fl_shared_result *child_shared_result;
static int child_options;
/* The child's alternate stack: in .bss, so it costs nothing until a fault touches it. */
static char child_altstack[128 * 1024] __attribute__((aligned(64)));

static void report_and_die(int signo, siginfo_t *info, void *context) {
    fl_shared_result *shared = child_shared_result;
    if (atomic_exchange(&shared->claimed, 1) == 0) {
        fl_report_capture(&shared->report, signo, info, context, child_options);
        atomic_store_explicit(&shared->state, FL_KIND_SIGNALED, memory_order_release);
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

void fl_child_prepare_shared(pid_t expected_parent, fl_shared_result *result, int options) {
    child_shared_result = result;
    child_options = options;
    fl_child_setup(expected_parent, 1);
    /* The caller may have blocked signals for a sigwait thread: the reporter clears the mask. */
    fl_install_fault_reporter(report_and_die, child_altstack, sizeof child_altstack);
    in_forked_child = 1;
}
