/*
 * pool_workers.c: the supervisor's table of workers: taking over the workers
 * the helper hands over, standbys promoted when a worker dies, and a worker's
 * end (crashed, retired, reaped, or lost with the helper).
 *
 * The helper hands each worker over with its socket, its channel (a memfd,
 * mapped here; a kept channel is mapped once and reused by later workers,
 * released to the helper when its worker is freed) and its pidfd; the table
 * keeps them by slot (the slot is the worker's epoll tag). What a death does to the worker's batch is
 * pool_records.c's (fl_pool_settle_batch).
 *
 * Runs in the supervisor with the pool's lock held; never in a handler.
 *
 * Limits: the table only grows (slots are reused); an allocation failure
 * for the table aborts (the run's results could not be kept honestly
 * otherwise).
 */
#include "pool_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* The worker's channel: the memfd that came with it mapped (and kept by id when the helper
   reuses it), or the kept mapping of that id. NULL when there is none. */
static fl_channel *channel_of(fl_pool *pool, uint32_t id, uint32_t flags, int memfd) {
    int kept = (flags & FL_SPAWNED_KEPT) != 0;
    if (kept && id >= FL_POOL_CHANNELS) return NULL;
    if (memfd < 0) return kept ? pool->channels[id] : NULL;
    fl_channel *channel = mmap(NULL, pool->channel_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (channel == MAP_FAILED) return NULL;
    if (kept) {
        if (pool->channels[id]) munmap(pool->channels[id], pool->channel_size);
        pool->channels[id] = channel;
    }
    return channel;
}

void fl_pool_forget_channels(fl_pool *pool) {
    for (int id = 0; id < FL_POOL_CHANNELS; id++) {
        if (pool->channels[id]) munmap(pool->channels[id], pool->channel_size);
        pool->channels[id] = NULL;
    }
}

int fl_pool_add_worker(fl_pool *pool, const fl_message *spawned, const int *fds, int fd_count) {
    uint32_t flags = spawned->spawned.channel_flags;
    int memfd = (flags & FL_SPAWNED_MEMFD) && fd_count >= 2 ? fds[1] : -1;
    int pidfd_at = (flags & FL_SPAWNED_MEMFD) ? 2 : 1;
    fl_channel *channel = fd_count >= 1 ? channel_of(pool, spawned->spawned.channel, flags, memfd) : NULL;
    if (memfd >= 0) close(memfd);
    if (channel == NULL) {
        for (int i = 0; i < fd_count; i++) {
            if (fds[i] != memfd) close(fds[i]);
        }
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
    worker->pid = spawned->pid;
    worker->secret = spawned->spawned.secret;
    worker->socket_fd = fds[0];
    worker->pidfd = fd_count > pidfd_at ? fds[pidfd_at] : -1;
    worker->channel = channel;
    worker->channel_id = (int)spawned->spawned.channel;
    worker->channel_kept = (flags & FL_SPAWNED_KEPT) != 0;
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

/* Kills a worker through its pidfd (never a reused pid). */
void fl_pool_kill_worker(pool_worker *worker) {
    if (worker->pidfd < 0 || (fl_pidfd_send_signal(worker->pidfd, SIGKILL) != 0 && errno == ENOSYS)) {
        kill(worker->pid, SIGKILL);
    }
}

void fl_pool_worker_retired(fl_pool *pool, pool_worker *worker) {
    if (worker->dying) return;
    fl_pool_forget_socket(pool, worker);
    worker->dying = 1;
    lose_worker(pool, worker);
}

void fl_pool_worker_crashed(fl_pool *pool, run_state *run, pool_worker *worker, int signo, const char *text, int text_length) {
    if (worker->dying) {
        fl_pool_attach_names(pool, run, worker, text, text_length);
        return;
    }
    fl_pool_settle_batch(pool, run, worker, signo & 0x7f, 0, text, text_length); /* a waitpid status meaning "killed by signo" */
    fl_pool_worker_retired(pool, worker);
}

/* The worker is freed: its kept channel goes back to the helper (nothing here reads it
   any more); another is unmapped. A RELEASE that cannot be sent leaves the channel
   held in the helper, which makes another. */
static void release_channel(fl_pool *pool, pool_worker *worker) {
    if (!worker->channel_kept) {
        munmap(worker->channel, pool->channel_size);
        return;
    }
    _Alignas(fl_message) char header[offsetof(fl_message, text)]; /* the message without its text */
    fl_message *release = (fl_message *)(void *)header;
    memset(header, 0, sizeof header);
    release->type = FL_MSG_RELEASE;
    release->release.channel = (uint32_t)worker->channel_id;
    if (pool->control >= 0) send(pool->control, header, sizeof header, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void free_worker(fl_pool *pool, run_state *run, pool_worker *worker) {
    fl_pool_attach_names(pool, run, worker, NULL, 0); /* names that never came: the frames keep their addresses */
    fl_pool_forget_socket(pool, worker);
    if (worker->pidfd >= 0) close(worker->pidfd);
    release_channel(pool, worker);
    worker->in_use = 0;
    pool->stats.worker_deaths++;
    if (!worker->dying) lose_worker(pool, worker);
}

void fl_pool_worker_exited(fl_pool *pool, run_state *run, pool_worker *worker, int wait_status, const char *text,
                           int text_length) {
    fl_pool_settle_batch(pool, run, worker, wait_status, 0, text, text_length);
    fl_pool_attach_names(pool, run, worker, text, text_length);
    free_worker(pool, run, worker);
}

void fl_pool_helper_lost(fl_pool *pool, run_state *run) {
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (!worker || !worker->in_use) continue;
        fl_pool_settle_batch(pool, run, worker, -1, 1, NULL, 0);
        free_worker(pool, run, worker);
    }
}

void fl_pool_release_workers(fl_pool *pool) {
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (worker && worker->in_use) {
            if (worker->socket_fd >= 0) close(worker->socket_fd);
            if (worker->pidfd >= 0) close(worker->pidfd);
            if (!worker->channel_kept) munmap(worker->channel, pool->channel_size); /* kept ones: fl_pool_forget_channels */
        }
        free(worker);
    }
    free(pool->workers);
    pool->workers = NULL;
    pool->worker_slots = 0;
}
