/*
 * worker.c: one worker process of the pool, forked by the helper.
 *
 * It runs C only (the helper is single-threaded, so everything here is as
 * safe as in any fresh process), and makes no system call per call: the
 * inputs, the values and the progress counters live in the shared channel;
 * one 4-byte message on its socket starts a batch and one ends it.
 *
 * Before each call it publishes `started`, after it `finished`: if the worker
 * dies, the supervisor knows exactly which input it was holding. A fault is
 * recorded in the channel by an async-signal-safe handler (on an alternate
 * stack, so stack overflows are reported too), which wakes the helper with
 * SIGUSR1 (kill is async-signal-safe) and then re-raises the signal with the
 * default action so the helper's waitpid sees the real cause.
 * exit(n) from the callee ends the worker with _exit(n), skipping atexit
 * handlers inherited from the helper's executable.
 *
 * Limits: a callee thread that overflows its own stack dies without a report
 * (the signal is still exact). The worker dies with the helper
 * (PR_SET_PDEATHSIG) and when its socket closes.
 */
#include "channel.h"
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static fl_channel *worker_channel;
static int worker_options;
static pid_t worker_helper;
static char worker_altstack[128 * 1024] __attribute__((aligned(64)));

static void worker_fault(int signo, siginfo_t *info, void *context) {
    fl_report_capture(&worker_channel->crash, signo, info, context, worker_options);
    /* Tell the helper now: the report is complete, the rest is dying. */
    atomic_store_explicit(&worker_channel->crash_ready, 1, memory_order_release);
    kill(worker_helper, SIGUSR1);
    fl_die_of_signal(signo);
}

static void worker_exit(int status, void *unused) {
    (void)unused;
    _exit(status);
}

static int transfer(int fd, void *data, size_t size, int sending) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = sending ? send(fd, (char *)data + done, size - done, MSG_NOSIGNAL)
                            : recv(fd, (char *)data + done, size - done, 0);
        if (n > 0) { done += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        return -1;
    }
    return 0;
}

void fl_worker_main(int socket_fd, fl_channel *channel, fl_function function, int options, pid_t helper, int recycle_after) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != helper) _exit(127);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(STDERR_FILENO, STDOUT_FILENO);

    worker_channel = channel;
    worker_options = options;
    worker_helper = helper;
    fl_set_default_action(SIGCHLD);
    fl_set_default_action(SIGUSR1);
    fl_set_default_action(SIGPIPE);
    fl_install_fault_reporter(worker_fault, worker_altstack, sizeof worker_altstack);
    on_exit(worker_exit, NULL);

    uint64_t calls = 0;
    for (;;) {
        uint32_t batch;
        if (transfer(socket_fd, &batch, sizeof batch, 0) != 0) _exit(0); /* supervisor gone */
        if (batch > FL_CHANNEL_CAPACITY) _exit(126);
        const int timed = channel->timed;
        for (uint32_t i = 0; i < batch; i++) {
            if (timed) atomic_store_explicit(&channel->call_started_ns, fl_now_ns(), memory_order_relaxed);
            atomic_store_explicit(&channel->started, i + 1, memory_order_release);
            channel->values[i] = function(channel->inputs[i]);
            atomic_store_explicit(&channel->finished, i + 1, memory_order_release);
        }
        if (transfer(socket_fd, &batch, sizeof batch, 1) != 0) _exit(0);
        calls += batch;
        if (recycle_after > 0 && calls >= (uint64_t)recycle_after) _exit(0);
    }
}
