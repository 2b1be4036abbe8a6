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
    fl_report_fill_signal(&report, signo, info);
    if (child_options & FL_CAPTURE_BACKTRACE) {
        report.frame_count = fl_backtrace_from_context(context, report.frames, FL_MAX_FRAMES);
    } else {
        report.frames[0] = fl_context_pc(context);
        report.frame_count = 1;
    }
    if (child_report_fd >= 0) {
        ssize_t ignored = write(child_report_fd, &report, FL_REPORT_SIZE(report.frame_count));
        (void)ignored;
    }
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signo, &default_action, NULL);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, signo);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    raise(signo);
    _exit(128 + signo); /* not reached */
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
    stack_t stack = {.ss_sp = child_altstack, .ss_size = sizeof child_altstack, .ss_flags = 0};
    sigaltstack(&stack, NULL);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = report_and_die;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    size_t count;
    const int *signals = fl_fault_signals(&count);
    sigset_t unblock;
    sigemptyset(&unblock);
    for (size_t i = 0; i < count; i++) {
        sigaction(signals[i], &action, NULL);
        sigaddset(&unblock, signals[i]);
    }
    /* The parent's SIGINT/SIGTERM handlers (Swift or not) must not run here. */
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(SIGINT, &default_action, NULL);
    sigaction(SIGTERM, &default_action, NULL);
    sigaction(SIGPIPE, &default_action, NULL);
    sigemptyset(&unblock);
    sigprocmask(SIG_SETMASK, &unblock, NULL); /* the caller may block SIGINT/SIGTERM for a sigwait thread */
    in_forked_child = 1;
}
