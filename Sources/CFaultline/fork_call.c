/*
 * fork_call.c: one forked child per call, and an exact account of how it ended.
 *
 * The child (see child.c) calls the function and writes a RETURNED report to a
 * pipe, or its fault reporter writes a SIGNALED one. The parent waits for the
 * child's death as an event: without a deadline it simply blocks in waitpid;
 * with one it polls a pidfd with that timeout, then reaps with waitpid.
 * waitpid gives the true cause, and the pipe gives the details.
 *
 * Classification: RETURNED needs both the report and exit status 0 (a callee
 * that calls exit(0) is EXITED 0, not a success). SIGNALED takes the signal
 * from waitpid and the code/address/backtrace from the child's report when
 * the numbers agree. TIMED_OUT when the deadline passed and we killed it.
 *
 * Limits: fork() copies the parent's page tables, so a large parent forks
 * slowly (about 35 ms per GiB here); the worker pool forks from a small helper
 * instead. Grandchildren left by the callee in its process group are killed
 * with it. Without pidfd (Linux < 5.3) a deadline is enforced by polling the
 * report pipe's end-of-file.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t fl_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int pidfd_open_compat(pid_t pid) { return fl_pidfd_open(pid); }
/* Waits until `fd` is readable or the deadline passes. Returns 1 readable, 0 timed out. */
static int wait_readable(int fd, int64_t deadline_ns) {
    for (;;) {
        int timeout_ms = -1;
        if (deadline_ns >= 0) {
            int64_t left = deadline_ns - fl_now_ns();
            if (left <= 0) return 0;
            timeout_ms = (int)((left + 999999) / 1000000);
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, timeout_ms);
        if (ready > 0) return 1;
        if (ready < 0 && errno != EINTR) return 1; /* cannot wait: fall through to waitpid */
    }
}

static void read_report(int fd, fl_report *child_report) {
    size_t got = 0;
    char *bytes = (char *)child_report;
    while (got < sizeof *child_report) {
        ssize_t n = read(fd, bytes + got, sizeof *child_report - got);
        if (n > 0) { got += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    if (got < FL_REPORT_SIZE(0)) child_report->kind = FL_KIND_NONE;
}

int fl_fork_call(fl_function function, int input, int64_t timeout_ns, int options, fl_report *report) {
    memset(report, 0, sizeof *report);
    if (options & FL_CAPTURE_BACKTRACE) fl_backtrace_load(); /* dlopen in the parent, never in the child */
    fl_child_exit_hook();
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
    pid_t parent = getpid();
    int64_t start = fl_now_ns();
    int64_t deadline = timeout_ns >= 0 ? start + timeout_ns : -1;
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        close(fds[0]);
        close(fds[1]);
        return -error;
    }
    if (pid == 0) {
        close(fds[0]);
        fl_child_prepare(parent, fds[1], options);
        fl_report returned;
        memset(&returned, 0, FL_REPORT_SIZE(0));
        returned.kind = FL_KIND_RETURNED;
        returned.value = function(input);
        ssize_t ignored = write(fds[1], &returned, FL_REPORT_SIZE(0));
        (void)ignored;
        _exit(0);
    }
    close(fds[1]);

    int timed_out = 0;
    int status = 0;
    if (deadline >= 0) {
        /* Make sure the group exists before we may have to kill it (the child calls setpgid too). */
        setpgid(pid, pid);
        int pidfd = pidfd_open_compat(pid);
        if (!wait_readable(pidfd >= 0 ? pidfd : fds[0], deadline)) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        if (pidfd >= 0) close(pidfd);
    }
    /* Without a deadline, waitpid is the event: the parent touches as little
       memory as possible while the child shares its pages copy-on-write. */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int64_t end = fl_now_ns();
    kill(-pid, SIGKILL); /* anything the callee left in its process group */

    fl_report child_report;
    memset(&child_report, 0, sizeof child_report);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    read_report(fds[0], &child_report);
    close(fds[0]);

    if (timed_out) {
        report->kind = FL_KIND_TIMED_OUT;
        report->elapsed_ns = end - start;
    } else if (WIFSIGNALED(status)) {
        if (child_report.kind == FL_KIND_SIGNALED && child_report.signo == WTERMSIG(status)) {
            memcpy(report, &child_report, FL_REPORT_SIZE(child_report.frame_count));
        } else {
            report->kind = FL_KIND_SIGNALED;
            report->signo = WTERMSIG(status);
        }
    } else if (WIFEXITED(status)) {
        if (child_report.kind == FL_KIND_RETURNED && WEXITSTATUS(status) == 0) {
            report->kind = FL_KIND_RETURNED;
            report->value = child_report.value;
        } else {
            report->kind = FL_KIND_EXITED;
            report->value = WEXITSTATUS(status);
        }
    }
    report->elapsed_ns = end - start;
    return 0;
}
