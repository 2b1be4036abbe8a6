/*
 * CFaultlinePool.h: the supervised worker pool, C half.
 *
 *   helper.c     the small helper process: loads the target, forks workers, reaps them
 *   worker.c     a worker: calls the target on batches of inputs from shared memory
 *   pool.c       the supervisor: hands out batches, notices deaths, blames exactly one input
 *   channel.h    the shared-memory layout and the helper's messages (internal)
 *
 * Processes: supervisor (your program) --posix_spawn--> helper (this same
 * executable, re-executed; a C constructor takes over before Swift's main)
 * --fork--> workers. The helper is small and single-threaded, so a fork is
 * cheap and safe, whatever the size and threads of the supervisor.
 */
#ifndef CFAULTLINE_POOL_H
#define CFAULTLINE_POOL_H

#include "CFaultline.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How to build a pool. */
typedef struct fl_pool_config {
    /** Executable to re-execute as the helper (normally "/proc/self/exe"). */
    const char *executable;
    /** Shared library to dlopen in the helper, or NULL for the main executable. */
    const char *library;
    /** Symbol to call, when `library` is set. */
    const char *symbol;
    /** Without a library: the function's offset from the main executable's load address. */
    uint64_t image_offset;
    /** Number of workers to keep alive (0: only load the target, to check it). */
    int workers;
    /** Per-call deadline in ns; < 0 for none. */
    int64_t timeout_ns;
    /** FL_CAPTURE_BACKTRACE, and FL_POOL_SYMBOLIZE to name frames in the helper. */
    int options;
    /** A worker exits after this many calls (1 = a fresh process per call); 0 = never. */
    int recycle_after;
} fl_pool_config;

/** `options` bit: resolve backtrace addresses to names in the helper (where the library is mapped). */
#define FL_POOL_SYMBOLIZE (1 << 8)

/** Why fl_pool_create failed (`error_kind`). */
enum {
    FL_POOL_ERROR_SYSTEM = 1,  /**< a system call failed; the text says which */
    FL_POOL_ERROR_LIBRARY = 2, /**< dlopen refused the library */
    FL_POOL_ERROR_SYMBOL = 3,  /**< dlsym found no such symbol */
    FL_POOL_ERROR_HELPER = 4,  /**< the helper died while loading (e.g. a crashing constructor) */
};

/** A call that did not simply return. */
typedef struct fl_pool_failure {
    uint64_t index;   /**< position of the input in the run */
    fl_report report; /**< kind, signal, address, frames, elapsed */
    char *symbols;    /**< "address\tsymbol\toffset\timage\n" per frame, or NULL; malloc'd */
} fl_pool_failure;

/** Counters since the pool was created. */
typedef struct fl_pool_stats {
    uint64_t workers_started; /**< workers the helper has forked */
    uint64_t worker_deaths;   /**< workers that died (crash, exit, deadline, recycle) */
    uint64_t calls;           /**< inputs answered */
    uint64_t batches;         /**< batches handed to workers */
    int live_workers;         /**< workers alive right now */
    pid_t helper_pid;         /**< the helper process */
} fl_pool_stats;

typedef struct fl_pool fl_pool;

/**
 * Starts the helper, which loads the target and forks the workers, and waits
 * until the workers are ready. On failure returns NULL, sets *error_kind and
 * writes a one-line message to `error` (nothing is left running).
 */
fl_pool *fl_pool_create(const fl_pool_config *config, char *error, size_t error_size, int *error_kind);

/**
 * Answers `count` inputs. For input i, kinds[i] is an fl_kind and values[i]
 * the returned value; every input whose kind is not RETURNED also appears in
 * *failures (malloc'd array of *failure_count entries; free with
 * fl_pool_free_failures). Blocks the calling thread; runs are serialized.
 * Returns 0, or a negative errno when the helper itself died.
 */
int fl_pool_run(fl_pool *pool, const int32_t *inputs, size_t count, int32_t *kinds, int32_t *values,
                fl_pool_failure **failures, size_t *failure_count);

/** Frees what fl_pool_run returned in *failures. */
void fl_pool_free_failures(fl_pool_failure *failures, size_t count);

/** Writes up to `capacity` worker pids; returns how many workers are alive.
    First waits until workers that died have been replaced (an event from the helper):
    returns as soon as the pool is back at full strength. */
int fl_pool_worker_pids(fl_pool *pool, pid_t *pids, int capacity);

/** Counters, once workers that died have been replaced and reaped (a settled pool). */
fl_pool_stats fl_pool_statistics(fl_pool *pool);

/**
 * Stops the pool from any thread, even while a run is in progress (that run
 * then fails): the helper is told to go (its control socket is shut down),
 * kills and reaps every worker, and is reaped here. Idempotent.
 */
void fl_pool_shutdown(fl_pool *pool);

/** Kills the workers and the helper, reaps them, frees the pool. */
void fl_pool_destroy(fl_pool *pool);

/** Offset of `function` from the main executable's load address, or 0 if it is not in it. */
uint64_t fl_main_image_offset(fl_function function);

#ifdef __cplusplus
}
#endif
#endif
