/*
 * faultline-floors: the floors of `faultline bench`, measured at the limit
 * of the machine, in a small process of their own.
 *
 * Purpose. The bench's own floors (CFaultlineLab/floors.c) run inside the
 * bench, a large multithreaded Swift process: its page tables make a bare
 * fork cost several times what it costs the smallest process. This program
 * links nothing but libc (and pthread), so its fork copies next to nothing;
 * its figures are what each mechanism costs on this machine when nothing
 * else is in the way, the floor below which no Faultline strategy can go.
 *
 * Usage: faultline-floors [--only NAME] [ITERATIONS [LIBRARY]]
 *   ITERATIONS default 2000, at most 1000000; LIBRARY the victims library
 *   (default: libFaultlineVictims.so beside this executable); --only: that figure alone.
 *
 * Output: on stdout, one `key value` line per figure, value an integer in
 * nanoseconds, first `iterations N`, then for every figure NAME two lines,
 * `NAME.p50_ns V` and `NAME.p99_ns V`: the median and the 99th percentile
 * (nearest rank) of ITERATIONS samples, one sample per operation, after an
 * unrecorded warm-up; fork_crash_unwind, a rate, is one line
 * `fork_crash_unwind.per_second V` (ITERATIONS crashes, rounded up to even).
 * A figure that fails prints `NAME.error TEXT` instead,
 * the reason goes to stderr, and the exit status is 1. Exit 0: all figures.
 *
 * The figures, and the Faultline path each is the floor of:
 *   fork_call_exit_waitpid   fork; the child calls a non-inlined function and
 *                            _exit(0)s; the parent waitpid()s. The fork
 *                            strategy (one process per call) at its cheapest.
 *   vfork_exit_waitpid       the same with vfork (reference only: Faultline
 *                            cannot use vfork, the callee would run on the
 *                            parent's memory).
 *   fault_seen_by_parent     a child forked ahead waits on a pipe; from
 *                            writing "go" to the parent having seen it die of
 *                            SIGSEGV (poll on a pidfd, then waitpid). The
 *                            fault path of the fork strategy, of the pool's
 *                            workers and of the fork server: a worker dies and
 *                            its supervisor learns it.
 *   futex_wake_round_trip    two processes on one MAP_SHARED page ping-pong a
 *                            counter with FUTEX_WAIT/FUTEX_WAKE: one round
 *                            trip. The least a call to a persistent worker
 *                            (pool, fork server) can cost with shared memory.
 *   eventfd_round_trip       the same over two eventfds.
 *   pipe_round_trip          a 4-byte message to a forked echo process and
 *                            back over two pipes: the pool's and the fork
 *                            server's request/reply channel.
 *   sigsetjmp_fault_longjmp  sigsetjmp, a write through NULL, the SIGSEGV
 *                            handler siglongjmp()s back (SA_NODEFER, no mask
 *                            saved, as the guard does): the guard strategy's
 *                            recovery, without its bookkeeping.
 *   fork_crash_unwind        crashes per second of two forkers, a child per
 *                            crash that faults, walks with libunwind and
 *                            _exit()s (crashes.c): the pool's crash rate.
 *
 * Limits. Built by SwiftPM, this executable is linked by the Swift driver,
 * which adds swiftrt.o and libswiftCore; CFaultlineCOnly keeps the runtime
 * out (c_only.c), so the process maps what the same file linked by cc would
 * (~22 regions; with the runtime it had ~45 and its fork cost 25-50 % more).
 * Samples are CLOCK_MONOTONIC differences (a vDSO read, ~20 ns),
 * so the cheap figures carry that much noise. Nothing is pinned to a CPU:
 * on a loaded or shared machine the figures move (take several runs); the
 * round trips depend on whether both processes share one core. The whole
 * program is bounded by alarm(30): on expiry it kills its child and exits
 * with status 2. Every child is reaped before the next figure; the
 * long-lived ones (echo, futex and eventfd partners, the faulting child)
 * also die with this process (PR_SET_PDEATHSIG) and stop on end-of-file
 * where they read a pipe, so nothing is left behind.
 *
 * Between fork() and _exit() a child runs only async-signal-safe code:
 * system calls (read, write, prctl, getppid, setrlimit, sigaction, syscall
 * for futex) and plain memory accesses. No stdio, no malloc.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floors.h"

enum { DEFAULT_ITERATIONS = 2000, MAX_ITERATIONS = 1000000, WATCHDOG_SECONDS = 30 };

/* The child the watchdog kills, 0 when none. */
volatile pid_t current_child;

int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* SIGALRM: the whole program ran out of time. Async-signal-safe only. */
static void watchdog(int signal_number) {
    (void)signal_number;
    pid_t child = current_child;
    if (child > 0) kill(child, SIGKILL);
    static const char message[] = "faultline-floors: watchdog expired\n";
    ssize_t ignored = write(2, message, sizeof message - 1);
    (void)ignored;
    _exit(2);
}

/* waitpid, retried on EINTR; the raw status, or -1 when it failed. */
int reap(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    if (current_child == pid) current_child = 0;
    return status;
}

/* Kills and reaps a child after an error in the parent. */
void abandon(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    reap(pid);
}

/* In a long-lived child: die with the parent, and stop if it is already gone. */
void follow_parent(pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
}

/* The trivial callee of the fork children, kept out of line. */
__attribute__((noinline)) static int trivial(int x) {
    __asm__ volatile("" ::: "memory");
    return x + 1;
}
static int (*volatile trivial_pointer)(int) = trivial;

/* ---- The figures: each writes `count` samples, returns 0 or an errno. ---- */

static int measure_fork(int64_t *samples, int count) {
    for (int i = 0; i < count; i++) {
        int64_t start = now_ns();
        pid_t pid = fork();
        if (pid < 0) return errno;
        if (pid == 0) _exit(trivial_pointer(i) == 0 ? 1 : 0);
        current_child = pid;
        int status = reap(pid);
        samples[i] = now_ns() - start;
        if (status < 0) return errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return ECHILD;
    }
    return 0;
}

static int measure_vfork(int64_t *samples, int count) {
    for (int i = 0; i < count; i++) {
        int64_t start = now_ns();
        pid_t pid = vfork();
        if (pid < 0) return errno;
        if (pid == 0) _exit(trivial_pointer(i) == 0 ? 1 : 0);
        int status = reap(pid);
        samples[i] = now_ns() - start;
        if (status < 0) return errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return ECHILD;
    }
    return 0;
}

/* Reads exactly `size` bytes; 0, or -1 on end-of-file or error. */
int read_all(int fd, void *buffer, size_t size) {
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, (char *)buffer + got, size - got);
        if (n > 0) got += (size_t)n;
        else if (n < 0 && errno == EINTR) continue;
        else return -1;
    }
    return 0;
}

/* Writes all `size` bytes; 0, or -1. */
int write_all(int fd, const void *buffer, size_t size) {
    size_t put = 0;
    while (put < size) {
        ssize_t n = write(fd, (const char *)buffer + put, size - put);
        if (n > 0) put += (size_t)n;
        else if (n < 0 && errno == EINTR) continue;
        else return -1;
    }
    return 0;
}

void close_pair(int pair[2]) {
    close(pair[0]);
    close(pair[1]);
}

/* ---- Driver ---- */

static int compare(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static int64_t percentile(const int64_t *sorted, int count, int percent) {
    int rank = (int)(((int64_t)count * percent + 99) / 100);
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

struct figure {
    const char *name;
    int (*measure)(int64_t *samples, int count);
};

static const struct figure figures[] = {
    {"fork_call_exit_waitpid", measure_fork},
    {"vfork_exit_waitpid", measure_vfork},
    {"fault_seen_by_parent", measure_fault},
    {"futex_wake_round_trip", measure_futex},
    {"eventfd_round_trip", measure_eventfd},
    {"pipe_round_trip", measure_pipe},
    {"sigsetjmp_fault_longjmp", measure_longjmp},
};

/* The victims library beside this executable, into `path`. */
static const char *victims_beside(char *path, size_t size) {
    ssize_t length = readlink("/proc/self/exe", path, size - 32);
    if (length <= 0) return "libFaultlineVictims.so";
    path[length] = '\0';
    char *slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "libFaultlineVictims.so");
    return path;
}

int main(int argc, char **argv) {
    int iterations = DEFAULT_ITERATIONS;
    const char *only = NULL;
    if (argc >= 3 && strcmp(argv[1], "--only") == 0) {
        only = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc > 3) {
        fprintf(stderr, "usage: faultline-floors [--only NAME] [ITERATIONS [LIBRARY]]\n");
        return 64;
    }
    if (argc >= 2) {
        char *end;
        long parsed = strtol(argv[1], &end, 10);
        if (*argv[1] == '\0' || *end != '\0' || parsed < 1 || parsed > MAX_ITERATIONS) {
            fprintf(stderr, "faultline-floors: ITERATIONS must be an integer from 1 to %d\n", MAX_ITERATIONS);
            return 64;
        }
        iterations = (int)parsed;
    }
    char beside[4096];
    const char *library = argc == 3 ? argv[2] : victims_beside(beside, sizeof beside);
    size_t known = sizeof figures / sizeof figures[0];
    if (only && strcmp(only, "fork_crash_unwind") != 0) {
        size_t f = 0;
        while (f < known && strcmp(figures[f].name, only) != 0) f++;
        if (f == known) {
            fprintf(stderr, "faultline-floors: no figure '%s'\n", only);
            return 64;
        }
    }
    signal(SIGALRM, watchdog);
    alarm(WATCHDOG_SECONDS);
    signal(SIGPIPE, SIG_IGN);

    int warmup = iterations / 10 < 10 ? 10 : iterations / 10;
    if (warmup > 200) warmup = 200;
    int64_t *samples = malloc(sizeof *samples * (size_t)(iterations > warmup ? iterations : warmup));
    if (samples == NULL) {
        perror("faultline-floors: malloc");
        return 1;
    }
    printf("iterations %d\n", iterations);
    fflush(stdout);
    int failed = 0;
    for (size_t f = 0; f < known; f++) {
        if (only && strcmp(only, figures[f].name) != 0) continue;
        int error = figures[f].measure(samples, warmup);
        if (error == 0) error = figures[f].measure(samples, iterations);
        if (error != 0) {
            failed = 1;
            printf("%s.error %s\n", figures[f].name, strerror(error));
            fprintf(stderr, "faultline-floors: %s: %s\n", figures[f].name, strerror(error));
        } else {
            qsort(samples, (size_t)iterations, sizeof *samples, compare);
            printf("%s.p50_ns %lld\n", figures[f].name, (long long)percentile(samples, iterations, 50));
            printf("%s.p99_ns %lld\n", figures[f].name, (long long)percentile(samples, iterations, 99));
        }
        fflush(stdout);
    }
    free(samples);
    if (!only || strcmp(only, "fork_crash_unwind") == 0) {
        /* Last: it loads libraries into this process, which would make every fork above dearer. */
        double per_second = 0;
        int error = measure_crash_rate(library, iterations + iterations % 2, &per_second);
        if (error != 0) {
            failed = 1;
            printf("fork_crash_unwind.error %s\n", strerror(error));
            fprintf(stderr, "faultline-floors: fork_crash_unwind: %s\n", strerror(error));
        } else {
            printf("fork_crash_unwind.per_second %.0f\n", per_second);
        }
        fflush(stdout);
    }
    return failed;
}
