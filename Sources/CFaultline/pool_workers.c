/*
 * pool_workers.c: the supervisor's table of workers, and what happens to a
 * batch when its worker dies.
 *
 * The helper hands each worker over with its socket, its channel (a memfd,
 * mapped here) and its pidfd; the table keeps them by slot (the slot is the
 * worker's epoll tag). A death arrives as a message from the helper:
 * CRASHED (the handler's report is in the channel; the worker is still being
 * torn down) or EXITED (reaped, with its wait status). Either settles the
 * batch with fl_blame_death (pool_blame.c): returned calls are recorded,
 * the call in flight is blamed, the rest go back to the front of the queue.
 *
 * Runs in the supervisor with the pool's lock held; never in a handler.
 *
 * Limits: the table only grows (slots are reused); an allocation failure
 * for the table or a failure record aborts (the run's results could not be
 * kept honestly otherwise).
 */
#include "pool_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

/* The cache key of a crash's stack (a hash; entries also keep the addresses). */
static uint64_t stack_key(const fl_report *report) {
    uint64_t key = fl_mix64(0x6e616d6573ULL ^ report->frame_count);
    for (uint32_t i = 0; i < report->frame_count && i < FL_MAX_FRAMES; i++) key = fl_mix64(key ^ report->frames[i]);
    return key;
}

/* The entry naming exactly this stack, or -1. */
static int cached_names(const fl_pool *pool, const fl_report *report) {
    uint64_t key = stack_key(report);
    uint32_t count = report->frame_count > FL_MAX_FRAMES ? FL_MAX_FRAMES : report->frame_count;
    for (int i = 0; i < FL_POOL_NAME_CACHE; i++) {
        if (pool->names[i].text != NULL && pool->names[i].key == key && pool->names[i].frame_count == count &&
            memcmp(pool->names[i].frames, report->frames, sizeof(uint64_t) * count) == 0) {
            return i;
        }
    }
    return -1;
}

static void remember_names(fl_pool *pool, const fl_report *report, const char *text, int length) {
    if (length <= 0 || cached_names(pool, report) >= 0) return;
    char *copy = malloc((size_t)length);
    if (!copy) return;
    memcpy(copy, text, (size_t)length);
    int slot = pool->names_next;
    pool->names_next = (slot + 1) % FL_POOL_NAME_CACHE;
    free(pool->names[slot].text);
    pool->names[slot].key = stack_key(report);
    pool->names[slot].frame_count = report->frame_count > FL_MAX_FRAMES ? FL_MAX_FRAMES : report->frame_count;
    memcpy(pool->names[slot].frames, report->frames, sizeof(uint64_t) * pool->names[slot].frame_count);
    pool->names[slot].text = copy;
    pool->names[slot].length = length;
}

void fl_pool_forget_names(fl_pool *pool) {
    for (int i = 0; i < FL_POOL_NAME_CACHE; i++) {
        free(pool->names[i].text);
        pool->names[i].text = NULL;
    }
}

pool_worker *fl_pool_find_worker(fl_pool *pool, pid_t pid) {
    for (int i = 0; i < pool->worker_slots; i++) {
        if (pool->workers[i] && pool->workers[i]->in_use && pool->workers[i]->pid == pid) return pool->workers[i];
    }
    return NULL;
}

static int free_slot(fl_pool *pool) {
    for (int i = 0; i < pool->worker_slots; i++) {
        if (pool->workers[i] == NULL || !pool->workers[i]->in_use) return i;
    }
    int grown = pool->worker_slots ? pool->worker_slots * 2 : 8;
    pool_worker **more = realloc(pool->workers, sizeof *more * (size_t)grown);
    if (!more) abort();
    for (int i = pool->worker_slots; i < grown; i++) more[i] = NULL;
    pool->workers = more;
    int slot = pool->worker_slots;
    pool->worker_slots = grown;
    return slot;
}

/* Workers that died are replaced by standby ones at once; the moment the pool
   is at full strength again after a death is its timeline's `restored`. */
static void note_if_restored(fl_pool *pool) {
    if (pool->short_handed && pool->stats.live_workers >= pool->worker_goal) {
        pool->short_handed = 0;
        pool->stats.last_restored_ns = fl_now_ns();
    }
}

static void promote_standby(fl_pool *pool) {
    for (int i = 0; i < pool->worker_slots && pool->stats.live_workers < pool->worker_goal; i++) {
        pool_worker *worker = pool->workers[i];
        if (!worker || !worker->in_use || !worker->standby || worker->socket_closed || worker->dying) continue;
        worker->standby = 0;
        pool->standby_count--;
        pool->stats.live_workers++;
    }
    note_if_restored(pool);
}

/* A worker stops counting (it crashed, or was reaped): a standby one takes its place. */
static void lose_worker(fl_pool *pool, pool_worker *worker) {
    if (worker->standby) {
        worker->standby = 0;
        pool->standby_count--;
        return;
    }
    pool->stats.live_workers--;
    pool->short_handed = 1;
    promote_standby(pool);
}

int fl_pool_add_worker(fl_pool *pool, pid_t pid, uint64_t secret, const int *fds, int fd_count) {
    if (fd_count < 2) {
        for (int i = 0; i < fd_count; i++) close(fds[i]);
        return -1;
    }
    fl_channel *channel = mmap(NULL, pool->channel_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
    close(fds[1]);
    if (channel == MAP_FAILED) {
        close(fds[0]);
        if (fd_count > 2) close(fds[2]);
        return -1;
    }
    int slot = free_slot(pool);
    if (pool->workers[slot] == NULL) {
        pool->workers[slot] = malloc(sizeof(pool_worker));
        if (!pool->workers[slot]) abort();
    }
    pool_worker *worker = pool->workers[slot];
    memset(worker, 0, offsetof(pool_worker, batch));
    worker->in_use = 1;
    worker->pid = pid;
    worker->secret = secret;
    worker->socket_fd = fds[0];
    worker->pidfd = fd_count > 2 ? fds[2] : -1;
    worker->channel = channel;
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)slot};
    epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, worker->socket_fd, &event);
    pool->stats.workers_started++;
    if (pool->stats.live_workers >= pool->worker_goal) {
        worker->standby = 1;
        pool->standby_count++;
    } else {
        pool->stats.live_workers++;
        note_if_restored(pool);
    }
    return 0;
}


void fl_pool_forget_socket(fl_pool *pool, pool_worker *worker) {
    if (worker->socket_fd >= 0) {
        epoll_ctl(pool->epoll_fd, EPOLL_CTL_DEL, worker->socket_fd, NULL);
        close(worker->socket_fd);
        worker->socket_fd = -1;
    }
    worker->socket_closed = 1;
}

int fl_pool_workers_accepting_batches(fl_pool *pool) {
    int count = 0;
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (worker && worker->in_use && !worker->socket_closed && !worker->standby) count++;
    }
    return count;
}

int fl_pool_dying_workers(fl_pool *pool) {
    int count = 0;
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (worker && worker->in_use && worker->dying) count++;
    }
    return count;
}

static void record_failure(run_state *run, size_t index, const fl_report *report, const char *frames, int frames_length) {
    if (run->failure_count == run->failure_capacity) {
        size_t grown = run->failure_capacity ? run->failure_capacity * 2 : 16;
        fl_pool_failure *more = realloc(run->failures, sizeof *more * grown);
        if (!more) abort();
        run->failures = more;
        run->failure_capacity = grown;
    }
    fl_pool_failure *failure = &run->failures[run->failure_count++];
    failure->index = index;
    failure->report = *report;
    failure->frames = NULL;
    failure->frames_length = 0;
    if (frames_length > 0 && (failure->frames = malloc((size_t)frames_length)) != NULL) {
        memcpy(failure->frames, frames, (size_t)frames_length);
        failure->frames_length = (size_t)frames_length;
    }
    run->kinds[index] = report->kind;
    if (run->values) run->values[index] = report->value;
}

/* Call i's result record in the worker's channel (with records). */
static const uint8_t *result_record(const fl_pool *pool, const pool_worker *worker, uint32_t i) {
    return FL_CHANNEL_RESULTS(worker->channel) + (uint64_t)i * FL_RESULT_STRIDE(pool->result_size);
}

/* Whether call i's record in the worker's channel is genuine (its check matches what was sent,
   and, with records, the result bytes it covers). */
static int record_is_genuine(const fl_pool *pool, const pool_worker *worker, uint32_t i) {
    const fl_call_record *record = &worker->channel->records[i];
    int kind = record->kind & 0xff;
    if (kind != FL_KIND_RETURNED && kind != FL_KIND_CORRUPTED) return 0;
    int32_t input = worker->channel->inputs[i];
    if (pool->with_records) {
        uint64_t hash = fl_bytes_hash(result_record(pool, worker, i), pool->result_size);
        input = (int32_t)(uint32_t)(hash ^ (hash >> 32));
    }
    return record->check == fl_pool_record_check(worker->secret, worker->seq, i, input, record->kind, record->value);
}

/* Records call i from its genuine record. */
static void record_call(fl_pool *pool, run_state *run, pool_worker *worker, uint32_t i) {
    const fl_call_record *record = &worker->channel->records[i];
    size_t index = worker->batch[i];
    if ((record->kind & 0xff) == FL_KIND_RETURNED && pool->with_records && record->value != 0) {
        /* The record reached the worker malformed: Faultline's own fault, never the callee's outcome. */
        fl_report report;
        memset(&report, 0, sizeof report);
        report.kind = FL_KIND_CORRUPTED;
        report.code = FL_CORRUPTION_RECORDS_OVERWRITTEN;
        record_failure(run, index, &report, NULL, 0);
    } else if ((record->kind & 0xff) == FL_KIND_RETURNED) {
        run->kinds[index] = FL_KIND_RETURNED;
        if (pool->with_records) {
            memcpy(run->results + index * pool->result_size, result_record(pool, worker, i), pool->result_size);
        } else {
            run->values[index] = record->value;
        }
    } else {
        fl_report report;
        memset(&report, 0, sizeof report);
        report.kind = FL_KIND_CORRUPTED;
        report.code = record->kind >> 8;
        report.value = record->value;
        report.flags = FL_REPORT_VALUE_KNOWN;
        record_failure(run, index, &report, NULL, 0);
    }
    run->remaining--;
    pool->stats.calls++;
    worker->calls++;
}

void fl_pool_complete_calls(fl_pool *pool, run_state *run, pool_worker *worker, uint32_t finished) {
    for (uint32_t j = 0; j < finished; j++) record_call(pool, run, worker, j);
}

static void queue_push_front(run_state *run, size_t index) {
    run->head = (run->head + run->capacity - 1) % run->capacity;
    run->queue[run->head] = index;
    run->size++;
}

static void add_suspect(run_state *run, size_t index) {
    run->suspects[run->suspect_count++] = index;
    run->remaining_suspects++;
}

/* Settles the worker's batch after its death (wait_status), or after the
   helper's (helper_lost); `text` holds the crash's named frames when known. */
static void settle_batch(fl_pool *pool, run_state *run, pool_worker *worker, int wait_status, int helper_lost,
                         const char *text, int text_length) {
    if (!worker->busy || run == NULL) return;
    worker->busy = 0;
    fl_channel *channel = worker->channel;
    uint32_t count = worker->count;
    uint8_t valid[FL_CHANNEL_CAPACITY];
    uint8_t verdicts[FL_CHANNEL_CAPACITY];
    for (uint32_t i = 0; i < count; i++) valid[i] = (uint8_t)record_is_genuine(pool, worker, i);
    /* A crash record or a begun mark counts only with the worker's check. */
    int64_t crash_index = -1;
    const fl_report *crash = &channel->crash;
    if (atomic_load_explicit(&channel->crash_ready, memory_order_acquire) && channel->crash_seq == worker->seq &&
        crash->frame_count <= FL_MAX_FRAMES &&
        channel->crash_check == fl_crash_check(worker->secret, worker->seq, channel->crash_index, crash->signo, crash->code,
                                               crash->address, crash->frame_count, crash->frames)) {
        crash_index = (int64_t)channel->crash_index;
    }
    uint32_t started = atomic_load_explicit(&channel->started, memory_order_acquire);
    int64_t began = atomic_load_explicit(&channel->call_started_ns, memory_order_relaxed);
    int64_t begun_index = -1;
    if (started >= 1 && atomic_load_explicit(&channel->begun_check, memory_order_relaxed) ==
                            fl_event_check(worker->secret, FL_SALT_BEGUN, worker->seq, started, (uint64_t)began)) {
        begun_index = (int64_t)started - 1;
    }
    fl_blame_input input = {
        .count = count,
        .started = started,
        .wait_status = wait_status,
        .killed_for_deadline = worker->killed_for_deadline,
        .killed_as_corrupt = worker->killed_as_corrupt,
        .helper_lost = helper_lost,
        .lone = worker->lone,
        .elapsed_ns = fl_now_ns() - began,
        .valid = valid,
        .crash_index = crash_index,
        .crash = crash,
        .begun_index = begun_index,
    };
    fl_blame blame;
    fl_blame_death(&input, verdicts, &blame);
    for (uint32_t j = count; j > 0; j--) {
        uint32_t i = j - 1;
        size_t index = worker->batch[i];
        switch (verdicts[i]) {
        case FL_VERDICT_RECORDED: record_call(pool, run, worker, i); break;
        case FL_VERDICT_BLAMED:
            record_failure(run, index, &blame.report, text, text_length);
            run->remaining--;
            pool->stats.calls++;
            if (crash_index == (int64_t)i) {
                /* The outcome is held, with its backtrace addresses: the timeline's point. */
                pool->stats.last_fault_ns = atomic_load_explicit(&channel->fault_ns, memory_order_relaxed);
                pool->stats.last_reported_ns = atomic_load_explicit(&channel->reported_ns, memory_order_relaxed);
                pool->stats.last_outcome_ns = fl_now_ns();
                if (text_length <= 0 && blame.report.frame_count > 0 && (pool->config.options & FL_POOL_SYMBOLIZE)) {
                    fl_pool_failure *failure = &run->failures[run->failure_count - 1];
                    int cached = cached_names(pool, &failure->report);
                    if (cached >= 0 && (failure->frames = malloc((size_t)pool->names[cached].length)) != NULL) {
                        memcpy(failure->frames, pool->names[cached].text, (size_t)pool->names[cached].length);
                        failure->frames_length = (size_t)pool->names[cached].length;
                    } else {
                        worker->failure_pending = run->failure_count; /* names follow from the helper */
                        run->names_pending++;
                    }
                }
            }
            break;
        case FL_VERDICT_SUSPECT: add_suspect(run, index); break;
        default:
            /* A lone suspect that never started stays a suspect. */
            if (worker->lone) add_suspect(run, index); else queue_push_front(run, index);
            break;
        }
    }
}

int fl_pool_batch_done(fl_pool *pool, run_state *run, pool_worker *worker, const fl_batch_done *done) {
    if (!worker->busy) return -1; /* nothing was asked: garbage */
    int genuine = done->seq == worker->seq && done->count == worker->count &&
                  done->check == fl_event_check(worker->secret, FL_SALT_DONE, worker->seq, worker->count, 0);
    uint32_t count = worker->count;
    int all = genuine;
    for (uint32_t i = 0; i < count && all; i++) all = record_is_genuine(pool, worker, i);
    if (all) {
        worker->busy = 0;
        fl_pool_complete_calls(pool, run, worker, count);
        return 0;
    }
    /* Something it wrote is not what it would write: keep what is genuine,
       run the rest again alone, and never trust this worker again. */
    worker->busy = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (record_is_genuine(pool, worker, i)) record_call(pool, run, worker, i); else add_suspect(run, worker->batch[i]);
    }
    return -1;
}

void fl_pool_kill_worker(pool_worker *worker) {
    if (worker->pidfd < 0 || (fl_pidfd_send_signal(worker->pidfd, SIGKILL) != 0 && errno == ENOSYS)) {
        kill(worker->pid, SIGKILL);
    }
}

/* Names for the crash recorded from the worker's notice: into its failure record. */
static void attach_names(fl_pool *pool, run_state *run, pool_worker *worker, const char *text, int text_length) {
    if (worker->failure_pending == 0) return;
    if (run != NULL) {
        fl_pool_failure *failure = &run->failures[worker->failure_pending - 1];
        remember_names(pool, &failure->report, text, text_length);
        char *copy = text_length > 0 ? malloc((size_t)text_length) : NULL;
        if (copy) {
            memcpy(copy, text, (size_t)text_length);
            free(failure->frames);
            failure->frames = copy;
            failure->frames_length = (size_t)text_length;
        }
        run->names_pending--;
    }
    worker->failure_pending = 0;
}

void fl_pool_worker_retired(fl_pool *pool, pool_worker *worker) {
    if (worker->dying) return;
    fl_pool_forget_socket(pool, worker);
    worker->dying = 1;
    lose_worker(pool, worker);
}

int fl_pool_crash_notice_is_genuine(const pool_worker *worker, const fl_batch_done *notice) {
    const fl_channel *channel = worker->channel;
    const fl_report *crash = &channel->crash;
    if (!worker->busy || notice->seq != worker->seq || notice->count != FL_CRASH_NOTICE) return 0;
    if (!atomic_load_explicit(&channel->crash_ready, memory_order_acquire) || channel->crash_seq != worker->seq ||
        crash->kind != FL_KIND_SIGNALED || crash->frame_count > FL_MAX_FRAMES) {
        return 0;
    }
    uint64_t index = channel->crash_index;
    return channel->crash_check == fl_crash_check(worker->secret, worker->seq, index, crash->signo, crash->code,
                                                  crash->address, crash->frame_count, crash->frames) &&
           notice->check == fl_event_check(worker->secret, FL_SALT_NOTICE, worker->seq, index, (uint64_t)(uint32_t)crash->signo);
}

void fl_pool_worker_crashed(fl_pool *pool, run_state *run, pool_worker *worker, int signo, const char *text, int text_length) {
    if (worker->dying) {
        attach_names(pool, run, worker, text, text_length);
        return;
    }
    settle_batch(pool, run, worker, signo & 0x7f, 0, text, text_length); /* a waitpid status meaning "killed by signo" */
    fl_pool_worker_retired(pool, worker);
}

static void free_worker(fl_pool *pool, run_state *run, pool_worker *worker) {
    attach_names(pool, run, worker, NULL, 0); /* names that never came: the frames keep their addresses */
    fl_pool_forget_socket(pool, worker);
    if (worker->pidfd >= 0) close(worker->pidfd);
    munmap(worker->channel, pool->channel_size);
    worker->in_use = 0;
    pool->stats.worker_deaths++;
    if (!worker->dying) lose_worker(pool, worker);
}

void fl_pool_worker_exited(fl_pool *pool, run_state *run, pool_worker *worker, int wait_status, const char *text,
                           int text_length) {
    settle_batch(pool, run, worker, wait_status, 0, text, text_length);
    attach_names(pool, run, worker, text, text_length);
    free_worker(pool, run, worker);
}

void fl_pool_helper_lost(fl_pool *pool, run_state *run) {
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (!worker || !worker->in_use) continue;
        settle_batch(pool, run, worker, -1, 1, NULL, 0);
        free_worker(pool, run, worker);
    }
}

void fl_pool_release_workers(fl_pool *pool) {
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (worker && worker->in_use) {
            if (worker->socket_fd >= 0) close(worker->socket_fd);
            if (worker->pidfd >= 0) close(worker->pidfd);
            munmap(worker->channel, pool->channel_size);
        }
        free(worker);
    }
    free(pool->workers);
    pool->workers = NULL;
    pool->worker_slots = 0;
}
