/*
 * floors.c: the floors of `faultline bench`, timing loops written in C.
 *
 * A floor is what the mechanism under a strategy costs with nothing around
 * it: a plain call, sigsetjmp + call, a caught fault + siglongjmp, fork +
 * waitpid, a pipe round trip to a persistent process, and a fault that ends
 * a process until its parent sees the death. The strategies are
 * compared with these numbers, measured in the same run on the same machine.
 *
 * Mechanism: each function runs `iterations` operations and returns the mean
 * in nanoseconds (CLOCK_MONOTONIC around the whole loop). The slow floors
 * can also write one sample per operation into `samples` (NULL for none),
 * so that their p50/p99 are comparable with a strategy's. Callees are called
 * through a volatile function pointer and their results summed into a
 * volatile sink, so the compiler can neither inline nor delete the calls.
 *
 * Forked children (fork+waitpid, the echo process, the faulting child) run
 * only async-signal-safe code: _exit, read, write, close, setrlimit,
 * sigaction, and the faulting callee. No Swift ever runs in them, even
 * though the caller is a multithreaded Swift process.
 *
 * Limits: the means include the loop and one clock read per sample (about
 * 20 ns with the vDSO) only where samples are taken, so per-sample figures
 * are meaningful for operations of a microsecond or more; the cheap floors
 * (plain call, sigsetjmp) take no samples. Nothing here pins CPUs, so the
 * figures move with the machine's load; take medians of several runs. The
 * fault floor goes through fl_guard_call (the guard's handler, not a bare
 * one), because a second set of handlers for the same signals would fight
 * the guard's; its figure is the guard's recovery cost.
 */
#include "CFaultlineLab.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int floor_sink;

double fl_floor_plain_call_ns(fl_function function, int input, int64_t iterations) {
    if (iterations <= 0) return 0;
    fl_function volatile callee = function;
    int sum = 0;
    int64_t start = fl_now_ns();
    for (int64_t i = 0; i < iterations; i++) sum += callee(input);
    int64_t end = fl_now_ns();
    floor_sink = sum;
    return (double)(end - start) / (double)iterations;
}

double fl_floor_sigsetjmp_call_ns(fl_function function, int input, int64_t iterations) {
    if (iterations <= 0) return 0;
    fl_function volatile callee = function;
    volatile int sum = 0;
    sigjmp_buf env;
    int64_t start = fl_now_ns();
    for (int64_t i = 0; i < iterations; i++) {
        if (sigsetjmp(env, 0) == 0) sum += callee(input);
    }
    int64_t end = fl_now_ns();
    floor_sink = sum;
    return (double)(end - start) / (double)iterations;
}

double fl_floor_guard_call_ns(fl_function function, int input, int options, int64_t iterations, int64_t *samples) {
    if (iterations <= 0) return 0;
    fl_function volatile callee = function;
    fl_report report;
    memset(&report, 0, sizeof report);
    if (fl_guard_call(callee, input, options, &report) < 0) return -1; /* prepares the thread */
    int sum = 0;
    int64_t start = fl_now_ns();
    int64_t previous = start;
    for (int64_t i = 0; i < iterations; i++) {
        fl_guard_call(callee, input, options, &report);
        sum += report.kind;
        if (samples) {
            int64_t now = fl_now_ns();
            samples[i] = now - previous;
            previous = now;
        }
    }
    int64_t end = fl_now_ns();
    floor_sink = sum;
    return (double)(end - start) / (double)iterations;
}

double fl_floor_fault_longjmp_ns(fl_function faulting, int input, int options, int64_t iterations, int64_t *samples) {
    return fl_floor_guard_call_ns(faulting, input, options, iterations, samples);
}

double fl_floor_fork_waitpid_ns(int64_t iterations, int64_t *samples) {
    if (iterations <= 0) return 0;
    int64_t start = fl_now_ns();
    int64_t previous = start;
    for (int64_t i = 0; i < iterations; i++) {
        pid_t pid = fork();
        if (pid < 0) return -(double)errno;
        if (pid == 0) _exit(0);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (samples) {
            int64_t now = fl_now_ns();
            samples[i] = now - previous;
            previous = now;
        }
    }
    int64_t end = fl_now_ns();
    return (double)(end - start) / (double)iterations;
}

/* Reads exactly `size` bytes; 0 on success, -1 on end-of-file or error. */
static int read_exactly(int fd, void *buffer, size_t size) {
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, (char *)buffer + got, size - got);
        if (n > 0) {
            got += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return -1;
        }
    }
    return 0;
}

double fl_floor_pipe_round_trip_ns(int64_t iterations, int64_t *samples) {
    if (iterations <= 0) return 0;
    int request[2], reply[2];
    if (pipe2(request, O_CLOEXEC) != 0) return -(double)errno;
    if (pipe2(reply, O_CLOEXEC) != 0) {
        int error = errno;
        close(request[0]);
        close(request[1]);
        return -(double)error;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        close(request[0]);
        close(request[1]);
        close(reply[0]);
        close(reply[1]);
        return -(double)error;
    }
    if (pid == 0) {
        /* The echo process: read a message, write it back, until end-of-file
           (the parent closed its end, or died). */
        close(request[1]);
        close(reply[0]);
        int message;
        while (read_exactly(request[0], &message, sizeof message) == 0) {
            if (write(reply[1], &message, sizeof message) != (ssize_t)sizeof message) break;
        }
        _exit(0);
    }
    close(request[0]);
    close(reply[1]);
    double result = 0;
    int message = 0;
    int64_t start = fl_now_ns();
    int64_t previous = start;
    int64_t i = 0;
    for (; i < iterations; i++) {
        message = (int)i;
        if (write(request[1], &message, sizeof message) != (ssize_t)sizeof message) break;
        if (read_exactly(reply[0], &message, sizeof message) != 0) break;
        if (samples) {
            int64_t now = fl_now_ns();
            samples[i] = now - previous;
            previous = now;
        }
    }
    int64_t end = fl_now_ns();
    result = i == iterations ? (double)(end - start) / (double)iterations : -(double)EPIPE;
    close(request[1]);
    close(reply[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return result;
}

/* One faulting child: forked and waiting before the clock starts. Returns the
   nanoseconds from "go" to the parent seeing the death, or a negative errno. */
static int64_t fault_death_once(fl_function faulting) {
    int go[2], ready[2];
    if (pipe2(go, O_CLOEXEC) != 0) return -errno;
    if (pipe2(ready, O_CLOEXEC) != 0) {
        int error = errno;
        close(go[0]);
        close(go[1]);
        return -error;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(go[1]);
        close(ready[0]);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        struct sigaction default_action;
        memset(&default_action, 0, sizeof default_action);
        default_action.sa_handler = SIG_DFL;
        sigemptyset(&default_action.sa_mask);
        size_t count;
        const int *signals = fl_fault_signals(&count);
        for (size_t i = 0; i < count; i++) sigaction(signals[i], &default_action, NULL);
        char byte = 0;
        if (write(ready[1], &byte, 1) == 1 && read(go[0], &byte, 1) == 1) faulting(0);
        _exit(0);
    }
    close(go[0]);
    close(ready[1]);
    int64_t result = -ECHILD;
    if (pid > 0) {
        int pidfd = fl_pidfd_open(pid);
        char byte = 0;
        ssize_t got;
        while ((got = read(ready[0], &byte, 1)) < 0 && errno == EINTR) {
        }
        int64_t start = fl_now_ns();
        if (got == 1 && write(go[1], &byte, 1) == 1) {
            if (pidfd >= 0) {
                struct pollfd watched = {.fd = pidfd, .events = POLLIN};
                while (poll(&watched, 1, -1) < 0 && errno == EINTR) {
                }
            }
            int status;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            result = fl_now_ns() - start;
        } else {
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
        }
        if (pidfd >= 0) close(pidfd);
    } else {
        result = -errno;
    }
    close(go[1]);
    close(ready[0]);
    return result;
}

double fl_floor_fault_death_ns(fl_function faulting, int64_t iterations, int64_t *samples) {
    if (iterations <= 0) return 0;
    int64_t total = 0;
    for (int64_t i = 0; i < iterations; i++) {
        int64_t elapsed = fault_death_once(faulting);
        if (elapsed < 0) return (double)elapsed;
        total += elapsed;
        if (samples) samples[i] = elapsed;
    }
    return (double)total / (double)iterations;
}
