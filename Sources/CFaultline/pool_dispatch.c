/*
 * pool_dispatch.c: handing the queue out to the workers.
 *
 * A batch is the queue length divided by twice the number of workers,
 * between 1 and FL_CHANNEL_CAPACITY (and, with a signature, as many argument
 * records as fit in the channel's areas and in FL_BATCH_BYTES), so that fast callees cost two small
 * messages per thousands of calls and slow ones still spread out. The inputs
 * (or argument records) are copied — or written by the caller's writer — into
 * the worker's channel, which the worker maps read-only, with a batch number the worker's checks cover.
 *
 * Suspects — calls whose record was destroyed, or whose worker died in a way
 * that names nobody — run one at a time, alone in the pool, each in a fresh
 * worker that is retired afterwards: what happens then is theirs alone.
 *
 * Runs in the supervisor with the pool's lock held; never in a handler.
 */
#include "pool_internal.h"

#include <stdatomic.h>
#include <string.h>

/* Arguments per batch, beyond the first record: about a core's share of the cache. */
#define FL_BATCH_BYTES ((uint64_t)1 << 20)

/* The next queued input. */
static size_t queue_pop(run_state *run) {
    size_t index = run->queue[run->head];
    run->head = (run->head + 1) % run->capacity;
    run->size--;
    return index;
}

/* Hands `count` inputs (indices) to an idle worker as one batch. */
static void send_batch(fl_pool *pool, run_state *run, pool_worker *worker, const size_t *indices, size_t count) {
    fl_channel *channel = worker->channel;
    uint8_t *arguments = FL_CHANNEL_ARGUMENTS(channel);
    uint64_t offset = FL_ARGUMENT_TABLE;
    for (size_t j = 0; j < count; j++) {
        worker->batch[j] = indices[j];
        if (pool->learned != NULL) channel->learn_index[j] = (int64_t)indices[j];
        if (!pool->with_records) {
            channel->inputs[j] = run->inputs[indices[j]];
            continue;
        }
        channel->inputs[j] = 0;
        uint64_t start = run->offsets[indices[j]], size = run->offsets[indices[j] + 1] - start;
        if (run->writer) run->writer(run->writer_context, indices[j], arguments + offset, size);
        else memcpy(arguments + offset, run->arguments + start, size);
        memcpy(arguments + j * 16, &offset, 8);
        memcpy(arguments + j * 16 + 8, &size, 8);
        offset += (size + 7) & ~(uint64_t)7;
    }
    worker->seq = ++pool->next_seq;
    atomic_store_explicit(&channel->started, 0, memory_order_relaxed);
    atomic_store_explicit(&channel->finished, 0, memory_order_release);
    worker->count = (uint32_t)count;
    worker->busy = 1;
    pool->stats.batches++;
    fl_batch_order order = {.seq = worker->seq, .count = (uint32_t)count, .timed = pool->timeout_ns >= 0};
    if (fl_send_all(worker->socket_fd, &order, sizeof order) != 0) {
        /* Already dead: the helper's report will put the batch back. */
        fl_pool_forget_socket(pool, worker);
    }
}

/* Suspects run one at a time, alone in the pool, each in a fresh worker
   (one that has answered no call), which is retired afterwards: whatever
   happens then is that input's and nobody else's. */
static void dispatch_suspect(fl_pool *pool, run_state *run) {
    pool_worker *fresh = NULL;
    pool_worker *stale = NULL;
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (!worker || !worker->in_use || worker->socket_closed || worker->standby) continue;
        if (worker->busy) return; /* wait until the pool is quiet */
        if (worker->calls == 0 && !worker->retiring) fresh = worker; else if (!worker->retiring) stale = worker;
    }
    if (fresh == NULL) {
        /* Make room for a fresh one: the helper replaces a worker that dies between batches. */
        if (stale) {
            stale->retiring = 1;
            fl_pool_kill_worker(stale);
        }
        return;
    }
    size_t index = run->suspects[--run->suspect_count];
    fresh->lone = 1;
    send_batch(pool, run, fresh, &index, 1);
}

/* With records: how many of the next `batch` queued calls fit in the channel's
   areas (at least one), and in FL_BATCH_BYTES of arguments: large records go
   one or a few at a time, so that the workers take turns while the next one
   is copied and the channel's pages stay in the cache. */
static size_t fit_records(const fl_pool *pool, const run_state *run, size_t batch) {
    uint64_t used = FL_ARGUMENT_TABLE;
    uint64_t stride = FL_RESULT_STRIDE(pool->result_size);
    size_t fits = 0;
    for (size_t j = 0; j < batch; j++) {
        size_t index = run->queue[(run->head + j) % run->capacity];
        uint64_t size = (run->offsets[index + 1] - run->offsets[index] + 7) & ~(uint64_t)7;
        if (fits > 0 && (used + size > FL_ARGUMENT_AREA || used + size > FL_ARGUMENT_TABLE + FL_BATCH_BYTES ||
                         (fits + 1) * stride > FL_RESULT_AREA)) break;
        used += size;
        fits++;
    }
    return fits;
}

void fl_pool_dispatch(fl_pool *pool, run_state *run) {
    if (run->suspect_count > 0) {
        dispatch_suspect(pool, run);
        return;
    }
    int accepting = fl_pool_workers_accepting_batches(pool);
    if (accepting == 0) return;
    size_t indices[FL_CHANNEL_CAPACITY];
    for (int i = 0; i < pool->worker_slots && run->size > 0; i++) {
        pool_worker *worker = pool->workers[i];
        if (!worker || !worker->in_use || worker->busy || worker->socket_closed || worker->retiring || worker->standby) continue;
        size_t batch = run->size / (size_t)(2 * accepting);
        if (batch < 1) batch = 1;
        if (batch > FL_CHANNEL_CAPACITY) batch = FL_CHANNEL_CAPACITY;
        if (pool->recycle_after > 0) {
            if (worker->calls >= (uint64_t)pool->recycle_after) continue; /* about to exit by itself */
            uint64_t left = (uint64_t)pool->recycle_after - worker->calls;
            if (batch > left) batch = (size_t)left;
        }
        if (pool->with_records) batch = fit_records(pool, run, batch);
        for (size_t j = 0; j < batch; j++) indices[j] = queue_pop(run);
        send_batch(pool, run, worker, indices, batch);
    }
}

