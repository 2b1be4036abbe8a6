/*
 * process.c: process-control calls that Swift cannot make itself, because
 * they are variadic (syscall, prctl) or macros.
 */
#include "include/CFaultline.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
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
    if (expected_parent > 0 && getppid() != expected_parent) _exit(127);
}
