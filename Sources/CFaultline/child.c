/*
 * child.c: what a forked child does before it calls the callee.
 *
 * Everything here runs between fork() and _exit(), so it uses only system
 * calls and async-signal-safe functions: prctl, getppid, setpgid, setrlimit,
 * dup2, sigaction, sigprocmask, sigaltstack, write, raise, _exit. A callee's
 * exit() is caught by an on_exit handler registered once in the parent
 * (fl_child_exit_hook), which only acts in a child: the child takes no lock.
 *
 * The fault reporter writes one fl_report in a single write() (smaller than
 * PIPE_BUF, so it arrives whole), then restores the default action and
 * re-raises the signal: the parent's waitpid sees the true signal.
 *
 * Limits: a callee thread that overflows its own stack has no alternate
 * stack, so it dies without a report (the signal is still exact). If two
 * threads fault at once, the parent reads the first report.
 */
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static int child_report_fd = -1;
static int child_options;
/* The child's alternate stack: in .bss, so it costs nothing until a fault touches it. */
static char child_altstack[128 * 1024] __attribute__((aligned(64)));

static void report_and_die(int signo, siginfo_t *info, void *context) {
    fl_report report;
    memset(&report, 0, sizeof report);
    fl_report_capture(&report, signo, info, context, child_options);
    if (child_report_fd >= 0) {
        ssize_t ignored = write(child_report_fd, &report, FL_REPORT_SIZE(report.frame_count));
        (void)ignored;
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

void fl_child_prepare(pid_t expected_parent, int report_fd, int options) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != expected_parent) _exit(127); /* the parent died before prctl */
    setpgid(0, 0);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(STDERR_FILENO, STDOUT_FILENO);

    child_report_fd = report_fd;
    child_options = options;
    /* The parent's SIGINT/SIGTERM handlers (Swift or not) must not run here;
       the caller may have blocked them for a sigwait thread: the mask is cleared. */
    fl_set_default_action(SIGINT);
    fl_set_default_action(SIGTERM);
    fl_set_default_action(SIGPIPE);
    fl_install_fault_reporter(report_and_die, child_altstack, sizeof child_altstack);
    in_forked_child = 1;
}
