/*
 * pool_records.c: what the supervisor believes of a worker's batch: records
 * and crash notices verified against the worker's key, and what a death does
 * to the batch.
 *
 * A batch's records are believed only when their check (integrity.h) matches
 * what was sent. A death — CRASHED (the handler's report is in the channel;
 * the worker is still being torn down), EXITED (reaped, with its wait status)
 * or the helper's — settles the batch with fl_blame_death (pool_blame.c):
 * returned calls are recorded, the call in flight is blamed, calls whose
 * records were destroyed become suspects, the rest go back to the front of
 * the queue.
 *
 * Runs in the supervisor with the pool's lock held; never in a handler.
 *
 * Limits: an allocation failure for a failure record aborts (the run's
 * results could not be kept honestly otherwise); a failure's located frames
 * that cannot be copied keep their addresses only.
 */
#include "pool_internal.h"

#include <stdlib.h>
#include <string.h>

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
   helper's (helper_lost); `text` holds the crash's located frames when known. */
void fl_pool_settle_batch(fl_pool *pool, run_state *run, pool_worker *worker, int wait_status, int helper_lost,
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
        channel->crash_check == fl_crash_check(worker->secret, worker->seq, channel->crash_index, crash)) {
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
                    int cached = fl_pool_cached_names(pool, &failure->report);
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

int fl_pool_crash_notice_is_genuine(const pool_worker *worker, const fl_batch_done *notice) {
    const fl_channel *channel = worker->channel;
    const fl_report *crash = &channel->crash;
    if (!worker->busy || notice->seq != worker->seq || notice->count != FL_CRASH_NOTICE) return 0;
    if (!atomic_load_explicit(&channel->crash_ready, memory_order_acquire) || channel->crash_seq != worker->seq ||
        crash->kind != FL_KIND_SIGNALED || crash->frame_count > FL_MAX_FRAMES) {
        return 0;
    }
    uint64_t index = channel->crash_index;
    return channel->crash_check == fl_crash_check(worker->secret, worker->seq, index, crash) &&
           notice->check == fl_event_check(worker->secret, FL_SALT_NOTICE, worker->seq, index, (uint64_t)(uint32_t)crash->signo);
}
