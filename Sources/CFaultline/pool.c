/*
 * pool.c: the supervisor's event loop: creating a pool, answering a run of
 * inputs, deadlines, statistics.
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
 * Blame is pool_blame.c's, applied by pool_workers.c; the helper's side is
 * pool_helper.c.
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
static int drain_control(fl_pool *pool, run_state *run, int blocking) {
    for (;;) {
        int fds[FL_IO_MAX_FDS];
        int fd_count = 0;
        ssize_t got = fl_pool_receive(pool, fds, &fd_count, blocking ? 0 : MSG_DONTWAIT);
        if (got == 0) return -1;
        if (got < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        blocking = 0;
        const fl_message *message = &pool->incoming;
        if (message->type == FL_MSG_SPAWNED) {
            fl_pool_add_worker(pool, message->pid, message->spawned.secret, fds, fd_count);
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

/* ---- creating and destroying ---- */

static void release(fl_pool *pool) {
    free(pool->config_library);
    free(pool->config_symbol);
    free(pool->config_executable);
    free(pool->config_init);
    if (pool->control >= 0) close(pool->control);
    pool->control = -1;
    fl_pool_reap_helper(pool, NULL);
    fl_pool_release_workers(pool);
    fl_pool_forget_names(pool);
    if (pool->helper_pidfd >= 0) close(pool->helper_pidfd);
    if (pool->epoll_fd >= 0) close(pool->epoll_fd);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

fl_pool *fl_pool_create(const fl_pool_config *config, fl_pool_error *error) {
    memset(error, 0, sizeof *error);
    error->wait_status = -1;
    if (config->workers < 0 || config->workers > FL_POOL_MAX_WORKERS) {
        error->kind = FL_POOL_ERROR_WORKERS;
        error->limit = FL_POOL_MAX_WORKERS;
        return NULL;
    }
    fl_pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        error->kind = FL_POOL_ERROR_SYSTEM;
        error->step = FL_POOL_STEP_MEMORY;
        error->error_number = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->control = -1;
    pool->helper_pidfd = -1;
    pool->worker_goal = config->workers;
    pool->standby_goal = config->workers > 0 ? 1 : 0;
    pool->timeout_ns = config->timeout_ns;
    pool->recycle_after = config->recycle_after;
    /* Kept to start a new helper if a callee kills this one. */
    pool->config = *config;
    pool->config_library = config->library ? strdup(config->library) : NULL;
    pool->config_symbol = config->symbol ? strdup(config->symbol) : NULL;
    int found_beside = 0;
    pool->config_executable = fl_pool_helper_image(config, &found_beside);
    pool->config_init = config->init_symbol ? strdup(config->init_symbol) : NULL;
    pool->config.init_symbol = pool->config_init;
    pool->with_records = config->signature_count != FL_POOL_INT_FUNCTION;
    pool->channel_size = FL_CHANNEL_SIZE(pool->with_records);
    if (pool->with_records) {
        uint32_t count = config->signature_count > FL_SIGNATURE_MAX_PARAMETERS ? FL_SIGNATURE_MAX_PARAMETERS : config->signature_count;
        memcpy(pool->signature_types, config->signature_types, sizeof(uint32_t) * count);
        memcpy(pool->signature_capacities, config->signature_capacities, sizeof(uint64_t) * count);
        pool->config.signature_types = pool->signature_types;
        pool->config.signature_capacities = pool->signature_capacities;
        if (config->signature_count > FL_SIGNATURE_MAX_PARAMETERS ||
            fl_signature_prepare(&pool->signature, config->signature_result, pool->signature_types,
                                 pool->signature_capacities, count) != 0) {
            error->kind = FL_POOL_ERROR_SIGNATURE;
            free(pool->config_library);
            free(pool->config_symbol);
            free(pool->config_executable);
            free(pool->config_init);
            pthread_mutex_destroy(&pool->lock);
            free(pool);
            return NULL;
        }
        pool->result_size = fl_signature_result_size(&pool->signature);
    }
    pool->config.library = pool->config_library;
    pool->config.symbol = pool->config_symbol;
    pool->config.executable = pool->config_executable;
    pool->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (pool->epoll_fd < 0 || (config->library && !pool->config_library) || (config->symbol && !pool->config_symbol) ||
        !pool->config_executable || (config->init_symbol && !pool->config_init)) {
        error->kind = FL_POOL_ERROR_SYSTEM;
        error->step = FL_POOL_STEP_SOCKETS;
        error->error_number = errno;
        release(pool);
        return NULL;
    }
    int started = fl_pool_start_helper(pool, config, error);
    if (started != 0 && found_beside && fl_pool_helper_refused(error)) {
        /* A faultline-helper of another version beside this executable: this executable serves instead. */
        char *own = strdup(config->executable);
        if (own) {
            free(pool->config_executable);
            pool->config_executable = own;
            pool->config.executable = own;
            if (pool->helper_pidfd >= 0) close(pool->helper_pidfd);
            pool->helper_pidfd = -1;
            memset(error, 0, sizeof *error);
            started = fl_pool_start_helper(pool, config, error);
        }
    }
    if (started != 0) {
        release(pool);
        return NULL;
    }
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = FL_CONTROL_TAG};
    epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, pool->control, &event);
    while (pool->stats.live_workers < pool->worker_goal) {
        if (drain_control(pool, NULL, 1) != 0) {
            fl_pool_helper_died(pool, error);
            release(pool);
            return NULL;
        }
    }
    return pool;
}

void fl_pool_shutdown(fl_pool *pool) {
    /* Set before the helper goes: a run that sees it go must not start another. */
    __atomic_store_n(&pool->stopping, 1, __ATOMIC_RELEASE);
    if (pool->control >= 0) shutdown(pool->control, SHUT_RDWR);
    fl_pool_reap_helper(pool, NULL);
}

void fl_pool_destroy(fl_pool *pool) {
    if (pool) release(pool);
}

/* ---- running ---- */

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
    if (drain_control(pool, &run, 0) != 0 && replace_helper(pool, &run) != 0) result = -EPIPE;
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
                if (drain_control(pool, &run, 0) != 0 && replace_helper(pool, &run) != 0) result = -EPIPE;
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

/* Waits for the replacements of workers that died (the helper hands over its
   spare at once): the pool is back at full size. With `settled`, also for the
   reaping of workers whose crash was already reported. Lock held. */
static void await_capacity(fl_pool *pool, int settled) {
    if (!pool->broken && drain_control(pool, NULL, 0) != 0) pool->broken = 1;
    while (!pool->broken &&
           (pool->stats.live_workers < pool->worker_goal ||
            (settled && (fl_pool_dying_workers(pool) > 0 || pool->standby_count < pool->standby_goal)))) {
        if (drain_control(pool, NULL, 1) != 0) pool->broken = 1;
    }
}

int fl_pool_worker_pids(fl_pool *pool, pid_t *pids, int capacity) {
    pthread_mutex_lock(&pool->lock);
    await_capacity(pool, 0);
    int count = 0;
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (worker && worker->in_use && !worker->dying && !worker->standby) {
            if (count < capacity) pids[count] = worker->pid;
            count++;
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return count;
}

/* The counters as they are now (lock held). */
static fl_pool_stats snapshot(const fl_pool *pool) {
    fl_pool_stats stats = pool->stats;
    stats.standby_workers = pool->standby_count;
    return stats;
}

fl_pool_stats fl_pool_statistics(fl_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    await_capacity(pool, 1);
    fl_pool_stats stats = snapshot(pool);
    pthread_mutex_unlock(&pool->lock);
    return stats;
}

const char *fl_pool_helper_executable(fl_pool *pool) {
    return pool->config_executable;
}

fl_pool_stats fl_pool_current_statistics(fl_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    fl_pool_stats stats = snapshot(pool);
    pthread_mutex_unlock(&pool->lock);
    return stats;
}
