/*
 * pool.c: the supervisor's event loop: answering a run of inputs, the
 * helper's messages, deadlines, a killed helper replaced.
 *
 * A run hands batches to workers through their shared channels and waits in
 * epoll_wait for one of three events: a worker's "batch done", a worker's
 * socket closing (it died), or a message from the helper (a worker was
 * spawned, crashed, or was reaped). No polling: without a deadline the wait
 * has no timeout at all; with one, its timeout is the earliest moment a call
 * could pass its deadline (the call in flight's start + the deadline, or now
 * + the deadline for a worker between calls, since no later call can be due
 * sooner). The loop counts wake-ups that found no event (`idle_wakeups`).
 *
 * Blame is pool_blame.c's, applied by pool_records.c; the worker table is
 * pool_workers.c's; the helper's side is pool_helper.c. Creating a pool is
 * pool_create.c's, its statistics pool_stats.c's.
 *
 * Batching and suspects are pool_dispatch.c's.
 *
 * Never in a signal handler: ordinary threads of the host program.
 *
 * Limits: runs on one pool are serialized by a mutex. If a deadline expires
 * at the very moment a call finishes, the next call of that batch may be the
 * one reported as timed out; a call that starts while its deadline is being
 * computed may be killed microseconds late. If the helper dies (a callee
 * killed it), a new one is started and the run goes on: genuine records are
 * kept and the calls in flight become suspects (up to
 * FL_POOL_MAX_HELPER_RESTARTS per pool; then the run fails).
 */
#include "pool_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Helpers started again for one pool at most: each restart settles at least one input. */
#define FL_POOL_MAX_HELPER_RESTARTS 10000

/* Handles every message waiting on the control socket. Returns -1 if the helper is gone. */
int fl_pool_drain_control(fl_pool *pool, run_state *run, int blocking) {
    for (;;) {
        int fds[FL_IO_MAX_FDS];
        int fd_count = 0;
        ssize_t got = fl_pool_receive(pool, fds, &fd_count, blocking ? 0 : MSG_DONTWAIT);
        if (got == 0) return -1;
        if (got < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        blocking = 0;
        const fl_message *message = &pool->incoming;
        if (message->type == FL_MSG_SPAWNED) {
            fl_pool_add_worker(pool, message, fds, fd_count);
            continue;
        }
        for (int i = 0; i < fd_count; i++) close(fds[i]);
        pool_worker *worker = fl_pool_find_worker(pool, message->pid);
        if (worker && message->type == FL_MSG_EXITED) {
            fl_pool_worker_exited(pool, run, worker, message->exited.wait_status, message->text, message->text_length);
        }
        if (worker && message->type == FL_MSG_CRASHED) {
            fl_pool_worker_crashed(pool, run, worker, message->crashed.signo, message->text, message->text_length);
        }
    }
}

/* Kills workers whose current call passed the deadline; returns the epoll
   timeout in ms until the earliest possible next deadline, or -1 (none). */
static int enforce_deadlines(fl_pool *pool) {
    if (pool->timeout_ns < 0) return -1;
    int64_t now = fl_now_ns();
    int64_t next = -1;
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (!worker || !worker->in_use || !worker->busy || worker->killed_for_deadline) continue;
        fl_channel *channel = worker->channel;
        uint32_t started = atomic_load_explicit(&channel->started, memory_order_acquire);
        uint32_t finished = atomic_load_explicit(&channel->finished, memory_order_acquire);
        int64_t due;
        if (started == finished + 1) {
            due = atomic_load_explicit(&channel->call_started_ns, memory_order_relaxed) + pool->timeout_ns;
        } else {
            due = now + pool->timeout_ns; /* between calls: the next one starts now at the earliest */
        }
        if (due <= now) {
            worker->killed_for_deadline = 1;
            /* The pidfd names this very process: its pid may already be reaped and reused. */
            if (worker->pidfd < 0 || (fl_pidfd_send_signal(worker->pidfd, SIGKILL) != 0 && errno == ENOSYS)) {
                kill(worker->pid, SIGKILL);
            }
        } else if (next < 0 || due < next) {
            next = due;
        }
    }
    if (next < 0) return -1;
    int64_t ms = (next - now + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Reads a worker's "batch done" (verified record by record) or its handler's
   crash notice (the outcome first: the crash record is read and verified
   here, the helper's names follow), or notices its socket closing. */
static void worker_event(fl_pool *pool, run_state *run, pool_worker *worker) {
    fl_batch_done done;
    ssize_t got = recv(worker->socket_fd, &done, sizeof done, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got == 0 || got < 0) {
        fl_pool_forget_socket(pool, worker); /* it died; the helper's EXITED settles the batch */
        return;
    }
    if (got == (ssize_t)sizeof done && done.count == FL_CRASH_NOTICE && fl_pool_crash_notice_is_genuine(worker, &done)) {
        fl_pool_worker_crashed(pool, run, worker, worker->channel->crash.signo, NULL, 0);
        return;
    }
    if (got != (ssize_t)sizeof done || fl_pool_batch_done(pool, run, worker, &done) != 0) {
        /* Garbage on its socket, or records that fail their check: a callee wrote
           over what this worker says. Keep what is genuine; never trust it again. */
        worker->killed_as_corrupt = 1;
        fl_pool_forget_socket(pool, worker);
        fl_pool_kill_worker(worker);
        return;
    }
    if (pool->recycle_after > 0 && worker->calls >= (uint64_t)pool->recycle_after && !worker->lone) {
        /* It exits by itself now: the standby takes calls without waiting for the helper to reap it. */
        fl_pool_worker_retired(pool, worker);
        return;
    }
    if (worker->lone) {
        /* A suspect's worker serves no other call. */
        worker->retiring = 1;
        fl_pool_forget_socket(pool, worker);
        fl_pool_kill_worker(worker);
    }
}

/* The helper is gone (a callee killed it, or its process group): its workers
   died with it. Settle what can be verified, start a new helper, go on. */
static int replace_helper(fl_pool *pool, run_state *run) {
    fl_pool_helper_lost(pool, run);
    fl_pool_forget_names(pool);
    fl_pool_forget_channels(pool);
    if (pool->control >= 0) {
        epoll_ctl(pool->epoll_fd, EPOLL_CTL_DEL, pool->control, NULL);
        close(pool->control);
        pool->control = -1;
    }
    fl_pool_reap_helper(pool, NULL);
    if (pool->helper_pidfd >= 0) close(pool->helper_pidfd);
    pool->helper_pidfd = -1;
    if (__atomic_load_n(&pool->stopping, __ATOMIC_ACQUIRE)) return -1; /* shut down on purpose */
    if (++pool->helper_restarts > FL_POOL_MAX_HELPER_RESTARTS) return -1;
    fl_pool_error error;
    memset(&error, 0, sizeof error);
    if (fl_pool_start_helper(pool, &pool->config, &error) != 0) return -1;
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = FL_CONTROL_TAG};
    epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, pool->control, &event);
    pool->stats.helper_restarts++;
    return 0;
}

/* The run itself, shared by fl_pool_run and fl_pool_run_records: `run` holds the inputs. */
static int run_all(fl_pool *pool, run_state *run_in, size_t count, fl_pool_failure **failures, size_t *failure_count) {
    *failures = NULL;
    *failure_count = 0;
    if (count == 0) return 0;
    pthread_mutex_lock(&pool->lock);
    if (pool->broken || __atomic_load_n(&pool->stopping, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&pool->lock);
        return -EPIPE;
    }
    run_state run = *run_in;
    run.remaining = count;
    run.capacity = count;
    run.queue = malloc(sizeof(size_t) * count);
    run.suspects = malloc(sizeof(size_t) * count);
    if (!run.queue || !run.suspects) {
        free(run.queue);
        free(run.suspects);
        pthread_mutex_unlock(&pool->lock);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) run.queue[i] = i;
    run.size = count;
    int result = 0;
    /* Deaths that happened between runs. */
    if (fl_pool_drain_control(pool, &run, 0) != 0 && replace_helper(pool, &run) != 0) result = -EPIPE;
    struct epoll_event events[64];
    /* Until every input is settled, and the helper has named the frames of
       the crashes recorded from the workers' own notices. */
    while (result == 0 && (run.remaining > 0 || run.names_pending > 0)) {
        fl_pool_dispatch(pool, &run);
        int timeout_ms = enforce_deadlines(pool);
        int ready = epoll_wait(pool->epoll_fd, events, 64, timeout_ms);
        if (ready < 0 && errno != EINTR) {
            result = -errno;
            break;
        }
        if (ready == 0) pool->stats.idle_wakeups++;
        for (int e = 0; e < ready && result == 0; e++) {
            if (events[e].data.u64 == FL_CONTROL_TAG) {
                if (fl_pool_drain_control(pool, &run, 0) != 0 && replace_helper(pool, &run) != 0) result = -EPIPE;
                break; /* the table may have changed under the other events */
            }
            pool_worker *worker = pool->workers[events[e].data.u64];
            if (worker && worker->in_use && !worker->socket_closed) worker_event(pool, &run, worker);
        }
    }
    if (result != 0) pool->broken = 1;
    /* Names that did not come (the helper died): the frames keep their addresses. */
    for (int i = 0; i < pool->worker_slots; i++) {
        if (pool->workers[i]) pool->workers[i]->failure_pending = 0;
    }
    free(run.queue);
    free(run.suspects);
    *failures = run.failures;
    *failure_count = run.failure_count;
    pthread_mutex_unlock(&pool->lock);
    return result;
}

int fl_pool_run(fl_pool *pool, const int32_t *inputs, size_t count, int32_t *kinds, int32_t *values,
                fl_pool_failure **failures, size_t *failure_count) {
    if (pool->with_records) return -EINVAL;
    run_state run = {.inputs = inputs, .kinds = kinds, .values = values};
    return run_all(pool, &run, count, failures, failure_count);
}

/* Checks the records' sizes against the channel's areas and runs. */
static int run_with_records(fl_pool *pool, run_state *run, size_t count, size_t result_size,
                            fl_pool_failure **failures, size_t *failure_count) {
    *failures = NULL;
    *failure_count = 0;
    if (!pool->with_records || result_size != pool->result_size) return -EINVAL;
    for (size_t i = 0; i < count; i++) {
        const uint64_t *offsets = run->offsets;
        if (offsets[i + 1] < offsets[i] || offsets[i + 1] - offsets[i] > FL_ARGUMENT_AREA - FL_ARGUMENT_TABLE) return -E2BIG;
    }
    if (pool->result_size > FL_RESULT_AREA) return -E2BIG;
    return run_all(pool, run, count, failures, failure_count);
}

int fl_pool_run_records(fl_pool *pool, const uint8_t *arguments, const uint64_t *offsets, size_t count,
                        uint8_t *results, size_t result_size, int32_t *kinds, fl_pool_failure **failures,
                        size_t *failure_count) {
    run_state run = {.arguments = arguments, .offsets = offsets, .results = results, .kinds = kinds};
    return run_with_records(pool, &run, count, result_size, failures, failure_count);
}

int fl_pool_run_written(fl_pool *pool, const uint64_t *offsets, size_t count, fl_record_writer writer, void *context,
                        uint8_t *results, size_t result_size, int32_t *kinds, fl_pool_failure **failures,
                        size_t *failure_count) {
    if (writer == NULL) return -EINVAL;
    run_state run = {.offsets = offsets, .writer = writer, .writer_context = context, .results = results, .kinds = kinds};
    return run_with_records(pool, &run, count, result_size, failures, failure_count);
}

void fl_pool_free_failures(fl_pool_failure *failures, size_t count) {
    for (size_t i = 0; i < count; i++) free(failures[i].frames);
    free(failures);
}
