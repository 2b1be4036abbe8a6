/*
 * channel.h: what the supervisor, the helper and a worker share. Internal.
 *
 * Each worker has one fl_channel in a memfd mapped by all three. The
 * supervisor writes a batch of inputs and sends its size over the worker's
 * socket; the worker publishes `started` before each call (so the supervisor
 * knows which input it holds even if it dies without a word) and `finished`
 * after it, writes the value, and answers with the size when the batch is done.
 * The worker's fault handler writes `crash`, then sends SIGUSR1 to the helper
 * before it dies, so that the outcome and the replacement do not wait for the
 * kernel to tear the dying process down.
 *
 * The helper talks to the supervisor over a SOCK_SEQPACKET socket with
 * fl_message records; descriptors travel with SCM_RIGHTS.
 */
#ifndef CFAULTLINE_CHANNEL_H
#define CFAULTLINE_CHANNEL_H

#include "include/CFaultlinePool.h"
#include <stdatomic.h>

#define FL_CHANNEL_CAPACITY 16384

typedef struct fl_channel {
    _Atomic uint32_t started;         /* calls begun in this batch */
    _Atomic uint32_t finished;        /* calls completed in this batch */
    _Atomic int64_t call_started_ns;  /* when the current call began (only with a deadline) */
    uint32_t count;                   /* inputs in this batch */
    uint32_t timed;                   /* 1 when the pool has a deadline */
    fl_report crash;                  /* written by the worker's fault handler */
    _Atomic uint32_t crash_ready;     /* set (release) once `crash` is complete */
    int32_t inputs[FL_CHANNEL_CAPACITY];
    int32_t values[FL_CHANNEL_CAPACITY];
} fl_channel;

enum fl_message_type {
    FL_MSG_READY = 1,   /* helper -> supervisor: target loaded */
    FL_MSG_ERROR,       /* helper -> supervisor: status = FL_POOL_ERROR_*, text = reason */
    FL_MSG_SPAWNED,     /* helper -> supervisor: pid; fds = socket, memfd, pidfd */
    FL_MSG_EXITED,      /* helper -> supervisor: pid, status (waitpid), text = symbols */
    FL_MSG_TARGET,      /* supervisor -> helper: keep `status` workers alive */
    FL_MSG_CRASHED,     /* helper -> supervisor: pid's handler reported a fault (channel.crash); text = symbols.
                           The worker is dying of that signal; EXITED follows when it is reaped. */
};

#define FL_MESSAGE_TEXT 12288

typedef struct fl_message {
    int32_t type;
    int32_t pid;
    int32_t status;
    int32_t text_length;
    char text[FL_MESSAGE_TEXT];
} fl_message;

#define FL_MESSAGE_SIZE(m) (offsetof(fl_message, text) + (size_t)(m)->text_length)

/* helper.c: the helper's whole life; never returns. */
void fl_helper_main(int control, const char *library, const char *symbol, uint64_t offset, int options, int recycle_after);
/* worker.c: a worker's whole life; never returns. */
void fl_worker_main(int socket_fd, fl_channel *channel, fl_function function, int options, pid_t helper, int recycle_after);

#endif
