/*
 * pool_internal.h: the supervisor's state, shared by the pool_*.c files.
 * Internal; never touched by a signal handler.
 */
#ifndef CFAULTLINE_POOL_INTERNAL_H
#define CFAULTLINE_POOL_INTERNAL_H

#include "channel.h"
#include "internal.h"

#include <pthread.h>

/* epoll tag of the helper's control socket (workers are tagged with their slot). */
#define FL_CONTROL_TAG UINT64_MAX

/* One worker the helper handed over. */
typedef struct pool_worker {
    int in_use;
    pid_t pid;
    uint64_t secret;         /* its records' key (integrity.h), from the helper */
    uint64_t seq;            /* the batch it holds */
    int socket_fd;
    int pidfd;
    fl_channel *channel;
    int channel_id;          /* the helper's id of its channel */
    int channel_kept;        /* the mapping is pool->channels[channel_id], kept after the worker (released to the helper) */
    int busy;                /* holds a batch */
    int socket_closed;       /* can take no more batches (dead or dying) */
    int killed_for_deadline;
    int dying;               /* its crash was reported: no longer counted, awaiting EXITED */
    int killed_as_corrupt;   /* the supervisor killed it: something it wrote failed its check */
    int lone;                /* it holds one suspect, alone; it is retired afterwards */
    int retiring;            /* killed by the supervisor between batches (no blame) */
    int standby;             /* announced ahead of need: takes no batch until a worker dies (then promoted) */
    size_t failure_pending;  /* 1 + the index in the run's failures of its crash, whose frames await names; 0: none */
    uint32_t count;          /* size of its batch */
    uint64_t calls;          /* calls it answered (for recycling) */
    size_t batch[FL_CHANNEL_CAPACITY];
} pool_worker;

#define FL_POOL_NAME_CACHE 64

struct fl_pool {
    pthread_mutex_t lock;
    int control;             /* SOCK_SEQPACKET to the helper */
    pid_t helper;
    int helper_pidfd;
    int epoll_fd;
    int broken;              /* the helper is gone for good: every later run fails */
    int stopping;            /* fl_pool_shutdown was called (atomic): no new helper is started */
    int worker_goal;         /* workers to keep alive */
    int standby_goal;        /* workers to keep ready beside them (the helper announces worker_goal + standby_goal) */
    int standby_count;       /* standby workers alive now */
    int short_handed;        /* a death left fewer than worker_goal workers; cleared (and timed) when restored */
    int64_t timeout_ns;
    int recycle_after;
    pool_worker **workers;
    int worker_slots;
    fl_pool_stats stats;
    fl_message incoming;     /* the last message from the helper */
    uint64_t next_seq;       /* batch numbers, never reused within a pool */
    fl_pool_config config;   /* kept (strings copied) to start a new helper when one dies */
    char *config_library;
    char *config_symbol;
    char *config_executable; /* the helper's image (fl_pool_helper_image) */
    uint64_t helper_restarts;
    int with_records;        /* the function has a signature: argument and result records */
    uint64_t result_size;    /* bytes of one result record (with_records) */
    size_t channel_size;     /* FL_CHANNEL_SIZE(with_records) */
    fl_signature signature;  /* prepared here too, for result_size */
    uint32_t signature_types[FL_SIGNATURE_MAX_PARAMETERS];
    uint64_t signature_capacities[FL_SIGNATURE_MAX_PARAMETERS];
    char *config_init;
    fl_sandbox_config sandbox; /* the copy config.sandbox points at (its program and paths malloc'd) */
    fl_sandbox_status sandbox_status; /* what the latest helper's probe enforced */
    const fl_learned_syscall *learned; /* learning: the latest helper's record (mapped read-only), or NULL */
    /* Named frames of recent crashes, by their stack (the helper locates a stack
       once; the same stack again is named here, without waiting for it): the
       key is a hash of the addresses, the addresses themselves are compared.
       Cleared when the helper is replaced: its addresses may differ. */
    struct {
        uint64_t key;
        uint32_t frame_count;
        uint64_t frames[FL_MAX_FRAMES];
        char *text;
        int length;
    } names[FL_POOL_NAME_CACHE];
    int names_next;
    /* Mappings of the helper's kept channels, by id (helper_channels.c): mapped once,
       reused by later workers; unmapped when the helper is replaced or the pool destroyed. */
    fl_channel *channels[FL_POOL_CHANNELS];
};

/* The state of one fl_pool_run (or fl_pool_run_records). */
typedef struct run_state {
    const int32_t *inputs;
    const uint8_t *arguments;  /* with records: the argument records, call i at offsets[i] ..< offsets[i+1] */
    const uint64_t *offsets;
    fl_record_writer writer;   /* with records: writes call i's record into a channel (NULL: copy from `arguments`) */
    void *writer_context;
    uint8_t *results;          /* with records: call i's result record at results + i * result_size */
    int32_t *kinds;
    int32_t *values;
    size_t remaining;
    size_t *queue; /* a ring of input indices; capacity = count, each index at most once */
    size_t capacity, head, size;
    fl_pool_failure *failures;
    size_t failure_count, failure_capacity;
    size_t *suspects;        /* inputs to run again alone, in a fresh worker, one at a time */
    size_t suspect_count;    /* waiting in `suspects` */
    size_t remaining_suspects; /* ever added (for statistics) */
    size_t names_pending;    /* crashes recorded from a worker's own notice whose frames the helper has not named yet */
} run_state;

/* pool_helper.c */
/* The program the helper runs for `config` (malloc'd; NULL without memory);
   *found_beside: 1 when it is faultline-helper found beside this executable. */
char *fl_pool_helper_image(const fl_pool_config *config, int *found_beside);
/* The helper exited with status 2 before answering: it refused the configuration (another protocol). */
int fl_pool_helper_refused(const fl_pool_error *error);
/* Starts the helper, configures it, waits until the function is loaded. 0, or -1 with `error` filled. */
int fl_pool_start_helper(fl_pool *pool, const fl_pool_config *config, fl_pool_error *error);
/* Receives one message from the helper into pool->incoming (fds: up to 3). recvmsg's result. */
ssize_t fl_pool_receive(fl_pool *pool, int *fds, int *fd_count, int flags);
/* The helper is gone while starting: closes its socket, reaps it, fills `error` (HELPER, its wait status). */
void fl_pool_helper_died(fl_pool *pool, fl_pool_error *error);
/* Waits for the helper to exit (once: whoever takes its pid reaps it); kills it after 2 s. */
void fl_pool_reap_helper(fl_pool *pool, int *status);

/* pool.c: handles every message waiting on the helper's control socket
   (workers spawned, crashed, reaped); blocking: waits for the first. -1 if the helper is gone. */
int fl_pool_drain_control(fl_pool *pool, run_state *run, int blocking);

/* pool_dispatch.c: hands queued inputs (suspects first, alone) to idle workers. */
void fl_pool_dispatch(fl_pool *pool, run_state *run);

/* pool_names.c: the cache of located frames. */
/* Empties the cache (the helper was replaced: its addresses may differ). */
void fl_pool_forget_names(fl_pool *pool);
/* The cache entry naming exactly this report's stack, or -1. */
int fl_pool_cached_names(const fl_pool *pool, const fl_report *report);
/* Names for the crash recorded from the worker's own notice (text NULL: none
   came): into its failure record, and into the cache. */
void fl_pool_attach_names(fl_pool *pool, run_state *run, pool_worker *worker, const char *text, int text_length);

/* pool_records.c */
/* Records `finished` calls of the worker's batch as returned. */
void fl_pool_complete_calls(fl_pool *pool, run_state *run, pool_worker *worker, uint32_t finished);
/* The worker's socket carried a crash notice: 1 when it and the crash record are genuine. */
int fl_pool_crash_notice_is_genuine(const pool_worker *worker, const fl_batch_done *notice);
/* The worker said its batch is done: verify every record; 0, or -1 when something failed
   its check (the genuine records are kept, the rest become suspects; kill the worker). */
int fl_pool_batch_done(fl_pool *pool, run_state *run, pool_worker *worker, const fl_batch_done *done);
/* Settles the worker's batch after its death (wait_status), or after the
   helper's (helper_lost); `text` holds the crash's located frames when known. */
void fl_pool_settle_batch(fl_pool *pool, run_state *run, pool_worker *worker, int wait_status, int helper_lost,
                          const char *text, int text_length);

/* pool_workers.c */
/* Takes over a worker the helper spawned (SPAWNED; fds: socket, [memfd,] pidfd). */
int fl_pool_add_worker(fl_pool *pool, const fl_message *spawned, const int *fds, int fd_count);
/* Unmaps every kept channel (the helper that made them is gone, or the pool is destroyed). */
void fl_pool_forget_channels(fl_pool *pool);
pool_worker *fl_pool_find_worker(fl_pool *pool, pid_t pid);
/* Stops listening to a worker's socket: it takes no more batches. */
void fl_pool_forget_socket(fl_pool *pool, pool_worker *worker);
/* Workers whose socket is open (idle or busy): those that can share the queue. */
int fl_pool_workers_accepting_batches(fl_pool *pool);
/* Workers whose crash was reported and that have not been reaped yet. */
int fl_pool_dying_workers(fl_pool *pool);
/* The worker's handler reported `signo` (its own notice, text NULL, or the
   helper's CRASHED with the located frames): settle its batch now. A second
   report of the same crash only brings the names. */
void fl_pool_worker_crashed(fl_pool *pool, run_state *run, pool_worker *worker, int signo, const char *text, int text_length);
/* The worker answered its last call (recycling) and is exiting: a standby takes its place now. */
void fl_pool_worker_retired(fl_pool *pool, pool_worker *worker);
/* The helper died and took the workers with it: settle every batch without a wait status. */
void fl_pool_helper_lost(fl_pool *pool, run_state *run);
/* Kills a worker through its pidfd (never a reused pid). */
void fl_pool_kill_worker(pool_worker *worker);
/* The helper reaped the worker with `wait_status` (and named its frames in
   `text` if its crash was not reported before): settle what is left, free it. */
void fl_pool_worker_exited(fl_pool *pool, run_state *run, pool_worker *worker, int wait_status, const char *text,
                           int text_length);
/* Closes and unmaps every worker's resources (the processes are the helper's). */
void fl_pool_release_workers(fl_pool *pool);

#endif
