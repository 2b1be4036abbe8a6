/*
 * helper_internal.h: what the helper's files share. Internal; the helper is
 * a single-threaded C process (see helper.c).
 */
#ifndef CFAULTLINE_HELPER_INTERNAL_H
#define CFAULTLINE_HELPER_INTERNAL_H

#include "channel.h"
#include "internal.h"

#include <pthread.h>

/* helper_load.c: loads the library (or finds the function in the main
   executable); on failure sends ERROR on `control` and exits with status 3. */
fl_function fl_helper_load(int control, const fl_helper_config *config);
/* helper_load.c: prepares the signature (NULL for int32(int32)) and runs the
   init symbol once, under the guard; on failure sends ERROR and exits with status 3. */
const fl_signature *fl_helper_prepare(int control, const fl_helper_config *config);
/* helper_load.c: walks the stack once, so that workers inherit a warm libunwind. */
void fl_helper_warm_up_unwinder(int options);

/* worker_stack.c: attributes for the helper's thread, whose stack every worker
   runs on (huge pages below its top). 0, or -1: use the default attributes. */
int fl_worker_stack_attributes(pthread_attr_t *attributes);

/* helper_workers.c: the helper's workers. */
typedef struct helper_workers {
    int control;          /* the supervisor's socket */
    int signal_fd;        /* SIGCHLD + SIGUSR1 */
    fl_function function;
    const fl_signature *signature; /* NULL: int32(int32) */
    uint64_t memory_limit;         /* RLIMIT_AS of each worker; 0: none */
    struct fl_sandbox *sandbox;    /* prepared by helper.c, applied by each worker; NULL: none */
    int options;
    int recycle_after;
    int announced;        /* workers handed to the supervisor and not yet gone */
    int deaths;           /* workers gone so far (crashed or reaped) */
    pid_t pid;            /* the helper's own (the workers' parent) */
} helper_workers;
/* Hands the spare over, or forks a worker and hands it over. 0, or -1 when no worker could be forked. */
int fl_helper_add_worker(helper_workers *workers);
/* Forks the spare (a worker forked ahead of need) if there is none. 0 or -1. */
int fl_helper_ensure_spare(helper_workers *workers);
/* helper_channels.c: the workers' channels, kept and reused (ids < FL_POOL_CHANNELS). */
/* A channel for the next worker: a free one, or a new one. Its id, or -1. */
int fl_helper_channel_take(int with_records, int control);
fl_channel *fl_helper_channel_map(int id);
/* Whether it is reused after its worker (the supervisor keeps its mapping and releases it). */
int fl_helper_channel_kept(int id);
/* Around the fork of its worker: inherited by that child (0, or -1), then by no later one. */
int fl_helper_channel_share(int id);
void fl_helper_channel_unshare(int id);
/* In the child, before its worker starts: unmaps the other channels it inherited, closes every memfd. */
void fl_helper_channel_drop_inherited(int own);
/* The memfd to send with its worker's SPAWNED (-1: the supervisor has it); then announced. */
int fl_helper_channel_descriptor(int id);
void fl_helper_channel_announced(int id);
/* Its worker was reaped (announced: the supervisor may read it until RELEASE); unused: its fork failed. */
void fl_helper_channel_worker_gone(int id, int announced);
void fl_helper_channel_unused(int id);
/* RELEASE from the supervisor. */
void fl_helper_channel_released(uint32_t id);
/* Reads what the supervisor sent on the control socket (RELEASE); shuts the helper down at its end. */
void fl_helper_read_control(int control);

/* helper_fork.c: decides once, after load and init, how workers are forked
   (_Fork when nothing loaded can have registered a fork handler); then forks one. */
void fl_helper_choose_fork(void);
pid_t fl_helper_fork(void);

/* Reports workers whose handler wrote a crash (CRASHED), then reaps every dead child (EXITED). */
void fl_helper_collect_deaths(helper_workers *workers);
/* Kills and reaps every worker and the whole process group, then exits. */
void fl_helper_shut_down(void) __attribute__((noreturn));

#endif
