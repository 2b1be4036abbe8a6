/*
 * pool_stats.c: what a pool says about itself: its counters and its workers'
 * process ids, once every dead worker has been replaced (an event: the
 * helper hands over its spare at once), or its counters as they are now.
 *
 * Never in a signal handler: ordinary threads of the host program.
 *
 * Limits: waiting for capacity takes the pool's lock, so it waits for a run
 * in progress to end first.
 */
#include "pool_internal.h"

/* Waits for the replacements of workers that died (the helper hands over its
   spare at once): the pool is back at full size. With `settled`, also for the
   reaping of workers whose crash was already reported. Lock held. */
static void await_capacity(fl_pool *pool, int settled) {
    if (!pool->broken && fl_pool_drain_control(pool, NULL, 0) != 0) pool->broken = 1;
    while (!pool->broken &&
           (pool->stats.live_workers < pool->worker_goal ||
            (settled && (fl_pool_dying_workers(pool) > 0 || pool->standby_count < pool->standby_goal)))) {
        if (fl_pool_drain_control(pool, NULL, 1) != 0) pool->broken = 1;
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

fl_pool_stats fl_pool_current_statistics(fl_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    fl_pool_stats stats = snapshot(pool);
    pthread_mutex_unlock(&pool->lock);
    return stats;
}
