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
 * Safety: the worker is a forked child of the single-threaded helper and
 * never returns to Swift; its set-up (fl_child_setup), its handler (report,
 * atomic store, kill, raise) and its I/O (io.c) are async-signal-safe.
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

void fl_worker_main(int socket_fd, fl_channel *channel, fl_function function, int options, pid_t helper, int recycle_after) {
    /* Stays in the helper's process group: it dies with the helper's group. */
    fl_child_setup(helper, 0);
    worker_channel = channel;
    worker_options = options;
    worker_helper = helper;
    fl_install_fault_reporter(worker_fault, worker_altstack, sizeof worker_altstack);
    on_exit(worker_exit, NULL);

    uint64_t calls = 0;
    for (;;) {
        uint32_t batch;
        if (fl_recv_all(socket_fd, &batch, sizeof batch) != 0) _exit(0); /* supervisor gone */
        if (batch > FL_CHANNEL_CAPACITY) _exit(126);
        const int timed = channel->timed;
        for (uint32_t i = 0; i < batch; i++) {
            if (timed) atomic_store_explicit(&channel->call_started_ns, fl_now_ns(), memory_order_relaxed);
            atomic_store_explicit(&channel->started, i + 1, memory_order_release);
            channel->values[i] = function(channel->inputs[i]);
            atomic_store_explicit(&channel->finished, i + 1, memory_order_release);
        }
        if (fl_send_all(socket_fd, &batch, sizeof batch) != 0) _exit(0);
        calls += batch;
        if (recycle_after > 0 && calls >= (uint64_t)recycle_after) _exit(0);
    }
}
