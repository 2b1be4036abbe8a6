/*
 * channel.h: what the supervisor, the helper and a worker share. Internal.
 *
 * Each worker has one fl_channel in a memfd mapped by all three. The
 * supervisor writes a batch of inputs and sends its size over the worker's
 * socket; the worker publishes `started` before each call (so the supervisor
 * knows which input it holds even if it dies without a word) and `finished`
 * after it, writes the value, and answers with the size when the batch is done.
 * Every record a worker writes carries a keyed check (integrity.h): the
 * supervisor and the helper believe only records whose check matches.
 * The worker's fault handler writes `crash`, then tells the supervisor
 * directly (a crash notice on the worker's socket: the outcome, with its
 * backtrace addresses, reaches the supervisor with one wake-up) and the
 * helper (SIGUSR1: it locates the frames and forks a replacement) before it
 * dies, so that neither waits for the kernel to tear the dying process down.
 *
 * The helper talks to the supervisor over a SOCK_SEQPACKET socket with
 * fl_message records (one record per packet); descriptors travel with
 * SCM_RIGHTS. The first record is the supervisor's CONFIGURE: the helper's
 * whole configuration, with explicit lengths, so that any bytes may appear in
 * a path or a symbol. The environment carries only FL_HELPER_FD_VARIABLE.
 */
#ifndef CFAULTLINE_CHANNEL_H
#define CFAULTLINE_CHANNEL_H

#include "include/CFaultlinePool.h"
#include <stdatomic.h>
#include "integrity.h"
#include "include/CFaultlineSignature.h"

/* The environment variables of the helper, spelled once:
   FL_HELPER_FD_VARIABLE=3 marks a started helper and names its control
   socket; SWIFT_BACKTRACE=enable=no keeps Swift's crash handler out of it. */
#define FL_HELPER_FD_VARIABLE "FAULTLINE_HELPER_FD"
#define FL_HELPER_FD_NUMBER 3
#define FL_SWIFT_BACKTRACE_VARIABLE "SWIFT_BACKTRACE"
#define FL_SWIFT_BACKTRACE_SETTING "enable=no"

/* The helper's image (pool_helper.c): FAULTLINE_HELPER names it; its value
   "self" re-executes the supervisor's own executable; unset, the pool looks
   for FL_HELPER_IMAGE_NAME beside that executable. */
#define FL_HELPER_IMAGE_VARIABLE "FAULTLINE_HELPER"
#define FL_HELPER_IMAGE_SELF "self"
#define FL_HELPER_IMAGE_NAME "faultline-helper"

#define FL_CHANNEL_CAPACITY 16384

/* What the worker publishes for one call, after it: the value, RETURNED or
   CORRUPTED (a canary was found overwritten after the call), and the keyed
   check (integrity.h) over the batch, the index, the input and both. */
typedef struct fl_call_record {
    int32_t value;
    int32_t kind;   /* FL_KIND_RETURNED, or FL_KIND_CORRUPTED | (FL_CORRUPTION_* << 8) */
    uint64_t check;
} fl_call_record;

/* supervisor -> worker (its socket): run calls 0 ..< count of batch `seq`. */
typedef struct fl_batch_order {
    uint64_t seq;
    uint32_t count;
    uint32_t timed; /* 1: publish each call's start time (a deadline is set) */
} fl_batch_order;

/* worker -> supervisor: batch `seq` is done; `check` = fl_event_check(secret, FL_SALT_DONE, seq, count, 0). */
typedef struct fl_batch_done {
    uint64_t seq;
    uint64_t count;
    uint64_t check;
} fl_batch_done;

/* worker -> supervisor, from the fault handler: in place of a batch_done,
   count = FL_CRASH_NOTICE and check = fl_event_check(secret, FL_SALT_NOTICE,
   seq, crash_index, crash signo): "the crash record of this batch is complete". */
#define FL_CRASH_NOTICE UINT64_MAX

/* One worker's shared memory. Everything the worker writes here is a hint
   until its check matches: a callee can write over any of it. The inputs
   are mapped read-only in the worker, so no accident in a callee can change
   the input of a later call. */
typedef struct fl_channel {
    _Atomic uint32_t started;         /* calls begun in this batch (a hint) */
    _Atomic uint32_t finished;        /* calls completed in this batch (a hint) */
    _Atomic int64_t call_started_ns;  /* when the current call began (only when timed) */
    _Atomic uint64_t begun_check;     /* fl_event_check(secret, FL_SALT_BEGUN, seq, started, call_started_ns) */
    uint64_t canary;                  /* FL_CANARY_SHARED(secret), compared after every call */
    uint64_t crash_seq;               /* the batch of the call the handler caught faulting */
    uint64_t crash_index;             /* its index */
    uint64_t crash_check;             /* fl_crash_check over seq, index and the report */
    _Atomic uint32_t crash_ready;     /* set (release) once the crash record is complete */
    _Atomic int64_t fault_ns;         /* when the handler was entered (a hint, for the pool's timeline only) */
    _Atomic int64_t reported_ns;      /* when its report was complete (a hint, likewise) */
    fl_report crash;                  /* written by the worker's fault handler */
    _Alignas(4096) int64_t learn_index[FL_CHANNEL_CAPACITY];   /* learning: each call's index in its run (supervisor) */
    _Alignas(4096) int32_t inputs[FL_CHANNEL_CAPACITY];         /* read-only in the worker */
    _Alignas(4096) fl_call_record records[FL_CHANNEL_CAPACITY]; /* one per call, written after it */
} fl_channel;

/* With a signature, the memfd goes on past the fl_channel (sparse: pages cost
   nothing until touched): an argument area (read-only in the worker) holding a
   table of [offset, size] per call and the argument records, then a result
   area holding each call's result record. */
#define FL_ARGUMENT_AREA ((uint64_t)256 << 20)
#define FL_RESULT_AREA ((uint64_t)256 << 20)
#define FL_ARGUMENT_TABLE ((uint64_t)FL_CHANNEL_CAPACITY * 16)
#define FL_CHANNEL_SIZE(with_records) (sizeof(fl_channel) + ((with_records) ? FL_ARGUMENT_AREA + FL_RESULT_AREA : 0))
#define FL_CHANNEL_ARGUMENTS(channel) ((uint8_t *)(channel) + sizeof(fl_channel))
#define FL_CHANNEL_RESULTS(channel) (FL_CHANNEL_ARGUMENTS(channel) + FL_ARGUMENT_AREA)
/* A result record's slot: the record, 8-aligned. */
#define FL_RESULT_STRIDE(result_size) (((result_size) + 7) & ~(uint64_t)7)

/* The hash of a result record that its call's check covers. */
static inline uint64_t fl_bytes_hash(const uint8_t *bytes, uint64_t size) {
    uint64_t h = size * 0x9e3779b97f4a7c15ULL;
    uint64_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t word;
        __builtin_memcpy(&word, bytes + i, 8);
        h = (h ^ word) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    uint64_t tail = 0;
    for (uint64_t k = 0; i + k < size; k++) tail |= (uint64_t)bytes[i + k] << (8 * k);
    return fl_mix64(h ^ tail);
}

enum fl_message_type {
    FL_MSG_CONFIGURE = 1, /* supervisor -> helper, first: `configure`; text = library bytes, then symbol bytes */
    FL_MSG_READY,         /* helper -> supervisor: the function is loaded; learning: fds = the record's memfd
                             (FL_SANDBOX_LEARN_SYSCALLS fl_learned_syscall, written by the helper) */
    FL_MSG_ERROR,         /* helper -> supervisor: `error`; text = dlerror's raw text (LIBRARY) */
    FL_MSG_SPAWNED,       /* helper -> supervisor: pid, `spawned`; fds = socket, [memfd,] pidfd */
    FL_MSG_EXITED,        /* helper -> supervisor: pid, `exited`; text = located frames (frames.c) */
    FL_MSG_CRASHED,       /* helper -> supervisor: pid's handler reported a fault (channel.crash), `crashed`;
                             text = located frames. The worker is dying of that signal; EXITED follows when reaped. */
    FL_MSG_SANDBOX,       /* supervisor -> helper, right after CONFIGURE when configure.sandbox is 1: `sandbox`;
                             text = the seccomp program (filter_length * 8 bytes), then each read path and
                             each write path as a u32 length (host order) and its bytes */
    FL_MSG_RELEASE,       /* supervisor -> helper: `release`: the supervisor reads nothing more in that kept channel */
};

/* Channels at once, by id (helper_channels.c): the supervisor keeps its mapping of a kept channel by id. */
#define FL_POOL_CHANNELS (2 * FL_POOL_MAX_WORKERS + 8)
/* SPAWNED's channel flags: the channel's memfd comes with this message (descriptor 1); the
   channel is kept (reused by a later worker once the supervisor releases it). */
#define FL_SPAWNED_MEMFD 1u
#define FL_SPAWNED_KEPT 2u

/* The messages' version, first in CONFIGURE: a helper program built from other
   sources (an older faultline-helper beside a newer program) refuses the
   configuration (exit status 2), and the pool then re-executes its own
   program. Change it whenever a message changes. */
#define FL_HELPER_PROTOCOL 17u

/* Room for a configuration (a path and a symbol) or the located frames of one crash. */
#define FL_MESSAGE_TEXT 32768

typedef struct fl_message {
    int32_t type;
    int32_t pid;
    union {
        struct {
            uint32_t protocol;       /* FL_HELPER_PROTOCOL */
            uint32_t sandbox;        /* 1: a SANDBOX message follows */
            uint64_t image_offset;   /* without a library: the function's offset in the main executable */
            int32_t worker_goal;     /* workers to keep alive */
            int32_t options;         /* FL_CAPTURE_BACKTRACE, FL_POOL_SYMBOLIZE */
            int32_t recycle_after;   /* calls per worker; 0 = no limit */
            int32_t parent;          /* the supervisor's pid (the helper checks it is still its parent) */
            int32_t library_length;  /* bytes of the path at the start of text; -1: the main executable */
            int32_t symbol_length;   /* bytes of the symbol after it */
            int32_t init_length;     /* bytes of the init symbol after that; 0: none */
            uint32_t signature_result;                        /* FL_TYPE_* */
            uint32_t signature_count;                         /* FL_POOL_INT_FUNCTION: int32(int32) */
            uint32_t signature_types[FL_SIGNATURE_MAX_PARAMETERS];
            uint64_t signature_capacities[FL_SIGNATURE_MAX_PARAMETERS];
            uint64_t memory_limit;   /* RLIMIT_AS of the workers; 0: none */
        } configure;
        struct {
            uint32_t flags;          /* FL_SANDBOX_* */
            uint32_t filter_length;  /* BPF instructions */
            uint32_t read_count;
            uint32_t write_count;
            uint64_t cpu_seconds;
            uint64_t file_size;
            uint64_t open_files;
        } sandbox;
        struct {
            int32_t kind;            /* FL_POOL_ERROR_LIBRARY, _SYMBOL, _INIT_SYMBOL, _INIT_FAILED, _SIGNATURE, _SANDBOX */
            int32_t error_number;    /* errno, when there is one */
            int32_t init_kind;       /* INIT_FAILED: FL_KIND_RETURNED or FL_KIND_SIGNALED */
            int32_t init_value;
            int32_t init_signo;
            uint64_t init_address;
            fl_sandbox_status sandbox; /* SANDBOX: what was enforced, or the path that failed */
        } error;
        struct {
            fl_sandbox_status sandbox; /* with a sandbox: what its probe enforced */
        } ready;
        struct {
            uint64_t secret;         /* the worker's secret (integrity.h) */
            uint32_t channel;        /* the channel's id (< FL_POOL_CHANNELS) */
            uint32_t channel_flags;  /* FL_SPAWNED_MEMFD, FL_SPAWNED_KEPT */
        } spawned;
        struct {
            uint32_t channel;        /* a kept channel whose worker the supervisor has freed */
        } release;
        struct {
            int32_t wait_status;     /* waitpid's status of the worker */
        } exited;
        struct {
            int32_t signo;           /* the signal its handler caught */
        } crashed;
    };
    int32_t text_length;
    char text[FL_MESSAGE_TEXT];
} fl_message;

#define FL_MESSAGE_SIZE(m) (offsetof(fl_message, text) + (size_t)(m)->text_length)

/* The helper's configuration, decoded from CONFIGURE. Strings are NUL-terminated copies. */
typedef struct fl_helper_config {
    char *library; /* NULL: the main executable */
    char *symbol;
    char *init;    /* NULL: none */
    uint32_t signature_result;
    uint32_t signature_count; /* FL_POOL_INT_FUNCTION: int32(int32) */
    uint32_t signature_types[FL_SIGNATURE_MAX_PARAMETERS];
    uint64_t signature_capacities[FL_SIGNATURE_MAX_PARAMETERS];
    uint64_t memory_limit;
    uint64_t image_offset;
    int worker_goal;
    int options;
    int recycle_after;
    pid_t parent;
    int sandboxed;              /* 1: `sandbox` holds the SANDBOX message (paths and program malloc'd) */
    fl_sandbox_config sandbox;
} fl_helper_config;

/* frames.c: writes the located frames of `crash` into `out` (at most `capacity`
   bytes, whole frames only); returns the bytes written. Helper only. */
size_t fl_frames_encode(const fl_report *crash, char *out, size_t capacity);

/* helper.c: the helper's whole life after its configuration; never returns.
   Runs in the helper's single thread, outside any handler. */
void fl_helper_main(int control, const fl_helper_config *config) __attribute__((noreturn));
/* worker.c: a worker's whole life, straight after fork() in the helper; never
   returns. Async-signal-safe up to the callee (see the top of worker.c). */
typedef struct fl_worker_config {
    int socket_fd;                 /* batches in, "done" out */
    fl_channel *channel;           /* FL_CHANNEL_SIZE(signature != NULL) bytes */
    fl_function function;          /* the callee */
    const fl_signature *signature; /* NULL: int32(int32) */
    int options;                   /* FL_CAPTURE_BACKTRACE */
    pid_t helper;                  /* its parent */
    int recycle_after;             /* calls, then exit; 0: never */
    uint64_t secret;               /* integrity.h */
    uint64_t memory_limit;         /* RLIMIT_AS; 0: none */
    struct fl_sandbox *sandbox;    /* applied before the first batch (the worker's own copy); NULL: none */
} fl_worker_config;
void fl_worker_main(const fl_worker_config *config) __attribute__((noreturn));
/* In the helper, before it forks any worker: makes once, harmlessly, every
   call the workers' fault handler (and set-up) makes through the procedure
   linkage table, so that the dynamic linker's lazy binding (a symbol search
   through every loaded library, page faults included) happens here, once, and
   never in a handler or in every worker. */
void fl_worker_bind_handler_calls(void);
/* In the helper, before it forks any worker: maps the alternate stack (with a
   guard page below it, altstack.c) that every worker's fault handler runs on.
   0 or an errno value. */
int fl_worker_map_altstack(void);
/* In the helper, after fl_worker_map_altstack and before it forks any worker
   (options: FL_CAPTURE_BACKTRACE, else nothing): one fault caught through the
   workers' own reporter, on their alternate stack, then the helper's signal
   state put back. The return addresses of the reporter's walk are then in the
   libunwind caches every worker inherits: a worker's walks look up only its
   own frames (each miss costs a search of the loaded modules, ~4 sigprocmask
   system calls, and the copy of a cache page). */
void fl_worker_rehearse_fault_path(int options);

#endif
