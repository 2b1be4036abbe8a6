/*
 * CFaultlinePool.h: the supervised worker pool, C half.
 *
 *   supervisor side (your process):
 *   pool_create.c   creating, shutting down, destroying
 *   pool.c          running (the event loop), deadlines, a killed helper replaced
 *   pool_stats.c    statistics, worker pids
 *   pool_dispatch.c batches out; suspects alone
 *   pool_helper.c   the helper's program, starting it, its configuration message, loading, reaping it
 *   pool_workers.c  the table of workers the helper handed over
 *   pool_records.c  records verified; what a death does to a batch
 *   pool_names.c    named frames cached per stack
 *   pool_blame.c    blame: what a worker's death means for its batch (a pure function)
 *   helper side (the helper process, C only):
 *   helper_config.c takes over the started program, reads its configuration
 *   helper_load.c   loads the library and finds the function
 *   helper_workers.c forks workers (and the spare), reaps them, reports their deaths
 *   helper.c        the helper's event loop
 *   frames.c        named frames on the wire (encoded in the helper, decoded for Swift)
 *   worker.c        a worker: calls the function on batches of inputs from shared memory
 *   channel.h       the shared-memory layout and the helper's messages (internal)
 *
 * Processes: supervisor (your program) --posix_spawn--> helper (the small
 * `faultline-helper` program beside this executable, or this same executable
 * re-executed; either way a C constructor takes over before any main)
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
    /** This program's executable (normally "/proc/self/exe"): re-executed as the helper for
        a function of the main executable, or when no `faultline-helper` is found beside it
        (or `FAULTLINE_HELPER=self`). `FAULTLINE_HELPER=PATH` names the helper image. */
    const char *executable;
    /** Shared library to dlopen in the helper, or NULL for the main executable. Any bytes but NUL. */
    const char *library;
    /** Symbol to call (the function), when `library` is set. */
    const char *symbol;
    /** Without a library: the function's offset from the main executable's load address. */
    uint64_t image_offset;
    /** Number of workers to keep alive, 0 to FL_POOL_MAX_WORKERS (0: only load the function, to check it). */
    int workers;
    /** Per-call deadline in ns; < 0 for none. */
    int64_t timeout_ns;
    /** FL_CAPTURE_BACKTRACE, and FL_POOL_SYMBOLIZE to name frames in the helper. */
    int options;
    /** A worker exits after this many calls (1 = a fresh process per call); 0 = never. */
    int recycle_after;
    /** The function's signature (CFaultlineSignature.h): with `signature_count` FL_POOL_INT_FUNCTION
        it is `int32(int32)` (the fast path; fl_pool_run); otherwise fl_pool_run_records. */
    uint32_t signature_result;
    uint32_t signature_count;
    const uint32_t *signature_types;
    const uint64_t *signature_capacities;
    /** `int init(void)`, called once in the helper before any worker is forked (NULL: none). */
    const char *init_symbol;
    /** RLIMIT_AS of every worker, in bytes (0: none). */
    uint64_t memory_limit;
    /** The workers' sandbox (CFaultlineSandbox.h), copied by fl_pool_create; NULL: none. */
    const fl_sandbox_config *sandbox;
} fl_pool_config;

/** `signature_count` of a pool of `int f(int)`. */
#define FL_POOL_INT_FUNCTION UINT32_MAX

/** `options` bit: resolve backtrace addresses to names in the helper (where the library is mapped). */
#define FL_POOL_SYMBOLIZE (1 << 8)

/** The most workers one pool keeps alive. */
#define FL_POOL_MAX_WORKERS 1024

/** Why fl_pool_create or fl_pool_run failed (`fl_pool_error.kind`). */
enum {
    FL_POOL_ERROR_SYSTEM = 1,       /**< a system call failed: `step` and `error_number` */
    FL_POOL_ERROR_LIBRARY = 2,      /**< dlopen refused the library: `detail` is dlerror's text */
    FL_POOL_ERROR_SYMBOL = 3,       /**< dlsym found no such symbol */
    FL_POOL_ERROR_HELPER = 4,       /**< the helper died (e.g. a crashing constructor): `wait_status` */
    FL_POOL_ERROR_LOAD_TIMEOUT = 5, /**< loading did not finish within the per-call deadline */
    FL_POOL_ERROR_WORKERS = 6,      /**< `workers` is outside 0...`limit`; nothing was started */
    FL_POOL_ERROR_INIT_SYMBOL = 7,  /**< dlsym found no init symbol */
    FL_POOL_ERROR_INIT_FAILED = 8,  /**< init returned non-zero (`init_report` RETURNED) or crashed (SIGNALED) */
    FL_POOL_ERROR_SIGNATURE = 9,    /**< the signature could not be prepared (libffi refused it) */
    FL_POOL_ERROR_SANDBOX = 10,     /**< the sandbox could not be prepared: `sandbox` (a path that cannot be
                                         opened, or, strict, less enforced than asked) */
};

/** Which step a FL_POOL_ERROR_SYSTEM failed in (`fl_pool_error.step`). */
enum {
    FL_POOL_STEP_MEMORY = 1,     /**< allocating the pool */
    FL_POOL_STEP_SOCKETS = 2,    /**< epoll_create1 / socketpair */
    FL_POOL_STEP_SPAWN = 3,      /**< posix_spawn of the helper */
    FL_POOL_STEP_CONFIGURE = 4,  /**< sending the configuration (too long: ENAMETOOLONG) */
    FL_POOL_STEP_RUN = 5,        /**< a run: the helper is gone (EPIPE) or epoll_wait failed */
};

/** A failure as data: a kind and its fields, no sentence. */
typedef struct fl_pool_error {
    int32_t kind;          /**< FL_POOL_ERROR_* (0: none) */
    int32_t step;          /**< SYSTEM: FL_POOL_STEP_* */
    int32_t error_number;  /**< SYSTEM: the errno value */
    int32_t wait_status;   /**< HELPER: the helper's waitpid status, or -1 when unknown */
    int32_t limit;         /**< WORKERS: FL_POOL_MAX_WORKERS */
    uint32_t detail_length;/**< bytes of `detail` */
    char detail[1024];     /**< LIBRARY: dlerror's raw text; SYSTEM at the spawn step: the helper's path (cut to fit); otherwise empty */
    int32_t init_kind;     /**< INIT_FAILED: FL_KIND_RETURNED (init returned `init_value`) or FL_KIND_SIGNALED */
    int32_t init_value;    /**< INIT_FAILED, RETURNED: what init returned */
    int32_t init_signo;    /**< INIT_FAILED, SIGNALED: the signal */
    uint64_t init_address; /**< INIT_FAILED, SIGNALED: the fault address (0 when none) */
    fl_sandbox_status sandbox; /**< SANDBOX: what was enforced, the path that failed and its errno */
} fl_pool_error;

/** A call that did not simply return. */
typedef struct fl_pool_failure {
    uint64_t index;       /**< position of the input in the run */
    fl_report report;     /**< kind, signal, address, frames, elapsed */
    char *frames;         /**< located frames (decode with fl_frames_next), or NULL; malloc'd */
    size_t frames_length; /**< bytes of `frames` */
} fl_pool_failure;

/** One frame of a crash as the helper located it: the image holding it, to be named by the supervisor. */
typedef struct fl_located_frame {
    uint64_t address;          /**< the instruction address in the worker */
    uint64_t bias;             /**< the image's load bias: `address - bias` is the image offset */
    int32_t found;             /**< 1 when a loaded object contains the address */
    uint32_t build_id_length;  /**< bytes of `build_id` (0: none) */
    const uint8_t *build_id;   /**< the image's GNU build-id */
    uint32_t image_length;     /**< bytes of `image` */
    const char *image;         /**< the image's absolute path (not NUL-terminated) */
} fl_located_frame;

/**
 * Decodes the located frame at *cursor of `bytes` (an fl_pool_failure's
 * `frames`) into `frame`, whose pointers point into `bytes`. Returns 1 and
 * advances *cursor, or 0 at the end.
 */
int fl_frames_next(const char *bytes, size_t length, size_t *cursor, fl_located_frame *frame);

/** Counters since the pool was created. */
typedef struct fl_pool_stats {
    uint64_t workers_started; /**< workers the helper has forked */
    uint64_t worker_deaths;   /**< workers that died (crash, exit, deadline, recycle) */
    uint64_t calls;           /**< inputs answered */
    uint64_t batches;         /**< batches handed to workers */
    uint64_t idle_wakeups;    /**< times a run woke up with nothing to do but check deadlines */
    uint64_t helper_restarts; /**< helpers started again after a callee killed one */
    int live_workers;         /**< workers alive right now and taking calls */
    int standby_workers;      /**< workers ready beside them, promoted when one dies */
    int64_t last_fault_ns;    /**< the last crash reported by a worker: when its handler ran (fl_now_ns clock) */
    int64_t last_reported_ns; /**< ... when its handler had written the report (backtrace walked) */
    int64_t last_outcome_ns;  /**< ... when the supervisor held its outcome, with backtrace addresses */
    int64_t last_restored_ns; /**< the last time a death left the pool short: when it was back at full strength */
    pid_t helper_pid;         /**< the helper process */
} fl_pool_stats;

typedef struct fl_pool fl_pool;

/**
 * Starts the helper, which loads the function and forks the workers, and
 * waits until the workers are ready. On failure returns NULL and fills
 * `error` (nothing is left running). A worker count above
 * FL_POOL_MAX_WORKERS fails before any process starts.
 */
fl_pool *fl_pool_create(const fl_pool_config *config, fl_pool_error *error);

/**
 * Answers `count` inputs. For input i, kinds[i] is an fl_kind and values[i]
 * the returned value; every input whose kind is not RETURNED also appears in
 * *failures (malloc'd array of *failure_count entries; free with
 * fl_pool_free_failures). Blocks the calling thread; runs are serialized.
 * Returns 0, or a negative errno when the helper itself died (or the pool
 * was shut down): -EPIPE, or epoll_wait's error.
 */
int fl_pool_run(fl_pool *pool, const int32_t *inputs, size_t count, int32_t *kinds, int32_t *values,
                fl_pool_failure **failures, size_t *failure_count);

/**
 * Like fl_pool_run for a pool with a signature: call i gets the argument
 * record arguments[offsets[i] ..< offsets[i+1]] (CFaultlineSignature.h) and,
 * when it returns, its result record is copied to results + i * result_size
 * (result_size = fl_signature_result_size of the signature). kinds[i] as in
 * fl_pool_run. A record larger than the channel can carry fails the run with -E2BIG.
 */
int fl_pool_run_records(fl_pool *pool, const uint8_t *arguments, const uint64_t *offsets, size_t count,
                        uint8_t *results, size_t result_size, int32_t *kinds, fl_pool_failure **failures,
                        size_t *failure_count);

/**
 * Writes call `index`'s argument record (exactly `size` bytes, the size its
 * offsets give) at `destination`, a worker's channel: every byte, padding
 * included. Called by the run in the calling thread, with the pool's lock
 * held, each time the call is handed to a worker (again when it is requeued);
 * it must not call into the pool.
 */
typedef void (*fl_record_writer)(void *context, size_t index, uint8_t *destination, size_t size);

/**
 * fl_pool_run_records without a buffer of records: the records are written
 * by `writer` straight into the channel of the worker that takes each call,
 * so that a large argument is copied once (from the caller's memory into
 * memory the worker maps read-only) and into pages that stay warm from batch
 * to batch. `offsets` give only the records' sizes (call i's is
 * offsets[i+1] - offsets[i]).
 */
int fl_pool_run_written(fl_pool *pool, const uint64_t *offsets, size_t count, fl_record_writer writer, void *context,
                        uint8_t *results, size_t result_size, int32_t *kinds, fl_pool_failure **failures,
                        size_t *failure_count);

/** With a sandbox: 1 and what the helper's probe enforced in `status` (the
    latest helper's); 0 without a sandbox. */
int fl_pool_sandbox_status(fl_pool *pool, fl_sandbox_status *status);
/** Learning (FL_SANDBOX_LEARN): copies the latest helper's record of
    FL_SANDBOX_LEARN_SYSCALLS system calls into `out`; 1, or 0 when there is none. */
int fl_pool_learned(fl_pool *pool, fl_learned_syscall *out);

/** The program the helper runs (chosen once, when the pool was created; see fl_pool_config.executable). */
const char *fl_pool_helper_executable(fl_pool *pool);

/** The last crash timeline (the last_* fields of fl_pool_stats), read at once:
    without waiting for replacements or reaping, unlike fl_pool_statistics. */
fl_pool_stats fl_pool_current_statistics(fl_pool *pool);

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

/** What the channel says about a worker that died in the middle of a batch. */
typedef struct fl_blame_input {
    uint32_t count;              /**< calls in the batch */
    uint32_t started;            /**< the channel's `started` mark (a hint: the callee can write over it) */
    int32_t wait_status;         /**< how the worker ended (a waitpid status); ignored when helper_lost */
    int32_t killed_for_deadline; /**< 1 when the supervisor killed it for its deadline */
    int32_t killed_as_corrupt;   /**< 1 when the supervisor killed it because something it wrote failed its check */
    int32_t helper_lost;         /**< 1 when it died with the helper: no wait status is known */
    int32_t lone;                /**< 1 for a suspect run alone in a fresh worker: no one else to blame */
    int64_t elapsed_ns;          /**< with killed_for_deadline: how long the call had run */
    const uint8_t *valid;        /**< valid[i] is 1 when call i's record passed its check */
    int64_t crash_index;         /**< the call a genuine crash record names, or -1 */
    const fl_report *crash;      /**< that crash record (when crash_index >= 0) */
    int64_t begun_index;         /**< the call a genuine "begun" mark names (deadlines only), or -1 */
} fl_blame_input;

/** What becomes of call i of a batch whose worker died (`verdicts[i]`). */
enum {
    FL_VERDICT_RECORDED = 1, /**< its record is genuine: it says the outcome */
    FL_VERDICT_BLAMED = 2,   /**< the death was this call's: fl_blame.report is its outcome */
    FL_VERDICT_SUSPECT = 3,  /**< unknown (its record may have been destroyed): run it again alone, in a fresh worker */
    FL_VERDICT_REQUEUE = 4,  /**< it never started: back to the queue */
};

/** The blamed call, if any. */
typedef struct fl_blame {
    int64_t blamed;    /**< the call blamed for the death, or -1 */
    fl_report report;  /**< its outcome */
} fl_blame;

/**
 * Blame as a pure function of what could be verified and of how the worker
 * ended (pool_blame.c). Calls with a genuine record are RECORDED. The death
 * is blamed on one call only when that is certain: the call a genuine crash
 * record names (with the wait status's signal); the call a genuine "begun"
 * mark names when the deadline killed it; or, when every record before it is
 * genuine and none after, the call in flight that the `started` mark names.
 * Calls whose records were destroyed, and the call in flight when nothing can
 * be trusted, are SUSPECTS; a lone suspect that still cannot be judged gets
 * FL_KIND_CORRUPTED. The rest are requeued. Never called in a handler.
 */
void fl_blame_death(const fl_blame_input *input, uint8_t *verdicts, fl_blame *blame);

/** Offset of `function` from the main executable's load address, or 0 if it is not in it. */
uint64_t fl_main_image_offset(fl_function function);

#ifdef __cplusplus
}
#endif
#endif
