/*
 * process.c: process-control calls that Swift cannot make itself (variadic
 * syscall/prctl, macros), and the one set-up routine of every process
 * Faultline starts: forked calls (child.c), pool workers (worker.c) and the
 * helper (helper_config.c).
 *
 * Everything here is async-signal-safe (syscall, prctl, getppid, setpgid,
 * setrlimit, dup2, sigaction, _exit): it runs between fork() and _exit().
 *
 * Limits: PR_SET_PDEATHSIG fires when the parent *thread* ends; a process
 * whose parent thread may end early (the helper, spawned by whichever thread
 * created the pool) clears it once it has another way to notice (EOF).
 */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int fl_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

int fl_pidfd_send_signal(int pidfd, int signo) {
#ifdef SYS_pidfd_send_signal
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0);
#else
    (void)pidfd;
    (void)signo;
    errno = ENOSYS;
    return -1;
#endif
}

int fl_become_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : errno; }

void fl_die_with_parent(int signo, pid_t expected_parent) {
    prctl(PR_SET_PDEATHSIG, signo);
    /* The parent may have died before prctl: then the signal never comes. */
    if (expected_parent > 0 && getppid() != expected_parent) _exit(127);
}

void fl_child_setup(pid_t expected_parent, int own_group) {
    fl_die_with_parent(SIGKILL, expected_parent);
    if (own_group) setpgid(0, 0);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    /* The caller's stdout stays clean (JSON lines); the callee's output goes to stderr. */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    /* The parent's handlers (Swift or not) must not run here. */
    static const int defaults[] = {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGUSR1};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) fl_set_default_action(defaults[i]);
}
