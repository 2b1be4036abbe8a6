/*
 * process.c: process-control calls that Swift cannot make itself (variadic
 * syscall/prctl, macros), and the one set-up routine of every process
 * Faultline starts: forked calls (child.c), pool workers (worker.c) and the
 * helper (helper_config.c).
 *
 * Everything here is async-signal-safe (syscall, prctl, getppid, setpgid,
 * setrlimit, dup2, sigaction, _exit): it runs between fork() and _exit().
 *
 * Also: a secret for a worker (getrandom) and the subreaper's sweep of every
 * child left (fl_kill_children), both for the helper, outside any handler.
 *
 * Limits: PR_SET_PDEATHSIG fires when the parent *thread* ends; a process
 * whose parent thread may end early (the helper, spawned by whichever thread
 * created the pool) clears it once it has another way to notice (EOF).
 */
#include "integrity.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
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

/* The program's own descriptors no child may hold (fl_keep_out_of_children). */
#define FL_KEPT_OUT 8
static int kept_out[FL_KEPT_OUT];
static int kept_out_count;

int fl_keep_out_of_children(int descriptor) {
    if (kept_out_count == FL_KEPT_OUT) return -1;
    kept_out[kept_out_count++] = descriptor;
    return 0;
}

void fl_child_setup(pid_t expected_parent, int own_group) {
    fl_die_with_parent(SIGKILL, expected_parent);
    if (own_group) setpgid(0, 0);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    /* The caller's stdout stays clean (JSON lines); the callee's output goes to stderr. */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    /* Nor can a callee that writes to (or reads from) every descriptor reach the caller's private copies. */
    for (int i = 0; i < kept_out_count; i++) close(kept_out[i]);
    /* The parent's handlers (Swift or not) must not run here. */
    static const int defaults[] = {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGUSR1};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) fl_set_default_action(defaults[i]);
}

uint64_t fl_new_secret(void) {
    uint64_t secret = 0;
    if (getrandom(&secret, sizeof secret, GRND_NONBLOCK) != (ssize_t)sizeof secret) {
        /* No entropy yet: the clock, the pid and an address, mixed (accidents, not attackers). */
        secret = fl_mix64((uint64_t)fl_now_ns() ^ ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)&secret);
    }
    return secret ? secret : 0x9e3779b97f4a7c15ULL;
}

/* Reads the pids of this thread group's children from /proc/self/task/TID/children. */
static int read_children(pid_t *pids, int capacity) {
    char path[64];
    char text[4096];
    int count = 0;
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t got;
    do {
        got = read(fd, text, sizeof text - 1);
    } while (got < 0 && errno == EINTR);
    close(fd);
    if (got <= 0) return 0;
    text[got] = '\0';
    for (char *p = text; *p && count < capacity;) {
        while (*p == ' ' || *p == '\n') p++;
        if (!*p) break;
        pid_t pid = (pid_t)strtol(p, &p, 10);
        if (pid > 0) pids[count++] = pid;
    }
    return count;
}

void fl_kill_children(void) {
    pid_t pids[1024];
    for (int round = 0; round < 64; round++) {
        int count = read_children(pids, 1024);
        if (count == 0) return;
        for (int i = 0; i < count; i++) kill(pids[i], SIGKILL);
        for (int i = 0; i < count; i++) fl_wait_pid(pids[i], NULL, 0);
    }
}
