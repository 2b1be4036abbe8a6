/*
 * worker.c: one worker process of the pool, forked by the helper.
 *
 * It runs C only (the helper is single-threaded, so everything here is as
 * safe as in any fresh process), and makes no system call per call: the
 * inputs, the records and the progress marks live in the shared channel;
 * one order on its socket starts a batch and one message ends it.
 *
 * Trust nothing a callee can touch (see integrity.h). The worker keeps its
 * secret, its channel and its socket in locals of its loop, on its own stack;
 * the inputs are mapped read-only here; after every call it compares two
 * canaries (one in the shared channel, one in its private memory) with the
 * secret and writes the call's record — RETURNED, or CORRUPTED when a canary
 * changed — with a keyed check the supervisor verifies. A worker whose call
 * corrupted it reports that call and exits: the next call gets a fresh one.
 *
 * The worker is a copy of the helper's thread (helper_config.c), an ordinary
 * thread: a callee's pthread_exit() ends it the ordinary way, and with it the
 * process, with status 0 — what pthread_exit does in a single-threaded program.
 *
 * A fault is recorded in the channel by an async-signal-safe handler (on an
 * alternate stack, so stack overflows are reported too) — only in this very
 * process: a child the callee forked dies of its fault without writing
 * anything — which it announces to the supervisor on its socket (the outcome
 * first) and to the helper with SIGUSR1, and re-raises the signal with
 * the default action so the helper's waitpid sees the real cause. exit(n)
 * from the callee ends the worker with _exit(n).
 *
 * The worker has a process group of its own: a callee that signals or stops
 * its group (kill(0, …)) reaches itself and its own children, never the
 * helper or the supervisor.
 *
 * Safety: set-up (fl_child_setup), the handler (report, check, atomic store,
 * clock_gettime, getpid, send, kill, raise) and the I/O (io.c) are async-signal-safe; the only
 * other calls are mprotect and madvise in a fresh single-threaded child. The
 * handler's alternate stack, with a guard page below it, is mapped by the
 * helper before it forks (fl_worker_map_altstack).
 *
 * Warm-up: before its first call, a worker that serves many calls maps what
 * libunwind reads (every module's headers), touches the top of its handler's
 * stack and the crash record, and takes one fault on purpose through its own
 * reporter (caught with siglongjmp, thrown away; the same call of the capture
 * as a real fault's): its first real fault then walks in ~40-50 µs instead of
 * 100-200 µs. The helper rehearsed that path once before forking any worker
 * (fl_worker_rehearse_fault_path), so a worker's walks look up only its own
 * frames: each frame libunwind's cache lacks costs a search of the loaded
 * modules with ~8 sigprocmask calls. A standby worker does this while the
 * others work. One-call workers (the fork server) skip it.
 *
 * Sandbox (opt-in): after the warm-up, with its fault handlers installed
 * (SIGSYS too, sandboxed), the worker applies the sandbox the helper prepared
 * (sandbox_apply.c: rlimits, network namespace, Landlock, seccomp last) and
 * only then takes its first batch. A step the helper's probe applied that
 * fails here ends the worker with status 125 before any call. After the
 * seccomp program, the loop and the handler make only calls it allows:
 * recvfrom and sendto on the worker's socket, kill(helper, SIGUSR1),
 * getpid, gettid, tgkill on itself, rt_sigaction (never for SIGSYS),
 * rt_sigprocmask, process_vm_readv on itself, munmap, exit_group.
 *
 * Limits: a callee thread other than the calling one that overflows its own
 * stack dies without a report (the signal is still exact). The worker dies
 * with the helper (PR_SET_PDEATHSIG) and when its socket closes. The warm-up
 * walk, like the handler's, enters libunwind, which takes the loader's lock
 * (dl_iterate_phdr): a thread the library's init left in the helper holding
 * that lock at the fork would hang the worker (a deadline ends it).
 */
#include "channel.h"
#include "internal.h"
#include "sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Code that calls a callee: its frames end a backtrace (internal.h). */
FL_CALLS_SECTION

/* For the fault handler only (a callee may overwrite them; the checks then fail). */
static fl_channel *handler_channel;
static int handler_options;
static pid_t handler_helper;
static int handler_socket;
static pid_t handler_pid;
static uint64_t handler_secret;
static volatile uint64_t handler_seq;
static volatile uint32_t handler_index;
/* The private canary: FL_CANARY_PRIVATE(secret) for as long as nobody writes over it. */
static volatile uint64_t private_canary;
/* The handler's stack: mapped once in the helper before it forks any worker
   (altstack.c: a guard page below it, so that a callee's SA_ONSTACK handler that
   recurses without end faults instead of running on through memory below), and
   inherited by every worker; its pages cost nothing until touched. */
#define FL_WORKER_ALTSTACK_SIZE (128 * 1024)
static fl_altstack worker_altstack;
/* The top of the handler's stack that a fault report uses (the handler and a libunwind walk: ~12 KiB
   here, in the helper's rehearsal), touched before the first call. */
#define FL_WARM_ALTSTACK (16 * 1024)

/* Set while this thread is in the handler (thread-local: it lives with the
   thread's stack, which the contract leaves alone). */
static FL_TLS int in_fault;

/* The warm-up fault (see warm_up_fault_path): WARMING_MARK while it runs, 0 otherwise.
   A keyed value, not a flag: a callee that scribbles over it cannot make a real
   fault look like the warm-up's (which jumps back into a frame long gone). */
static volatile uint64_t warming;
#define WARMING_MARK (fl_mix64(handler_secret ^ 0x7761726d2d7570ULL))
static sigjmp_buf warm_return;

static void worker_fault(int signo, siginfo_t *info, void *context) {
    fl_channel *channel = handler_channel;
    /* The warm-up (this worker's, or the helper's rehearsal): the very walk of a
       report, into a scratch record, through the same call as a real fault's, so
       that every return address of this handler is in libunwind's cache. */
    const int warm_up = warming == WARMING_MARK && getpid() == handler_pid;
    /* A fault inside this handler (its state was written over) ends here: the
       signal still tells the truth, without details. */
    if (!warm_up && in_fault++) fl_die_of_signal(signo);
    int64_t entered = fl_now_ns();
    /* A child the callee forked inherits this handler: it must not speak for the
       worker. And when the callee wrote over this process's memory, the state
       the handler would use is garbage: die with the bare signal. */
    if (warm_up || (getpid() == handler_pid && channel != NULL && private_canary == FL_CANARY_PRIVATE(handler_secret))) {
        static fl_report scratch;
        uint64_t seq = handler_seq;
        uint64_t index = handler_index;
        fl_report_capture(warm_up ? &scratch : &channel->crash, signo, info, context, handler_options);
        if (warm_up) {
            warming = 0;
            siglongjmp(warm_return, 1);
        }
        const fl_report *crash = &channel->crash;
        channel->crash_seq = seq;
        channel->crash_index = index;
        channel->crash_check = fl_crash_check(handler_secret, seq, index, crash);
        atomic_store_explicit(&channel->fault_ns, entered, memory_order_relaxed);
        atomic_store_explicit(&channel->reported_ns, fl_now_ns(), memory_order_relaxed);
        /* The report is complete, the rest is dying: tell the supervisor (the
           outcome) and the helper (names, a replacement) now. */
        atomic_store_explicit(&channel->crash_ready, 1, memory_order_release);
        fl_batch_done notice = {.seq = seq, .count = FL_CRASH_NOTICE,
                                .check = fl_event_check(handler_secret, FL_SALT_NOTICE, seq, index, (uint64_t)(uint32_t)crash->signo)};
        send(handler_socket, &notice, sizeof notice, MSG_DONTWAIT | MSG_NOSIGNAL);
        kill(handler_helper, SIGUSR1);
    }
    fl_die_of_signal(signo);
}

static void worker_exit(int status, void *unused) {
    (void)unused;
    _exit(status);
}

/* The kind of a call's record once it returned: RETURNED, unless a canary changed. */
static inline int32_t kind_after_call(const fl_channel *channel, uint64_t secret) {
    if (FL_UNLIKELY(channel->canary != FL_CANARY_SHARED(secret))) {
        return FL_KIND_CORRUPTED | (FL_CORRUPTION_SHARED_OVERWRITTEN << 8);
    }
    if (FL_UNLIKELY(private_canary != FL_CANARY_PRIVATE(secret))) {
        return FL_KIND_CORRUPTED | (FL_CORRUPTION_PRIVATE_OVERWRITTEN << 8);
    }
    return FL_KIND_RETURNED;
}

/* Call i of a batch with a signature: its argument record comes from the
   read-only argument area, its result record goes to the result area (zeroed
   first: out buffers start zero-filled), and the record's check covers a hash
   of the result bytes. The record's value is fl_signature_invoke's status. */
static int32_t call_record(const fl_worker_config *loop, fl_channel *channel, uint32_t i, uint64_t *hash) {
    const uint8_t *arguments = FL_CHANNEL_ARGUMENTS(channel);
    uint64_t offset, size;
    memcpy(&offset, arguments + (uint64_t)i * 16, 8);
    memcpy(&size, arguments + (uint64_t)i * 16 + 8, 8);
    if (offset < FL_ARGUMENT_TABLE || offset > FL_ARGUMENT_AREA || size > FL_ARGUMENT_AREA - offset) _exit(126);
    uint64_t result_size = fl_signature_result_size(loop->signature);
    uint8_t *result = FL_CHANNEL_RESULTS(channel) + (uint64_t)i * FL_RESULT_STRIDE(result_size);
    memset(result, 0, result_size);
    int32_t status = fl_signature_invoke(loop->signature, (void *)loop->function, arguments + offset, size, result);
    *hash = fl_bytes_hash(result, result_size);
    return status;
}

static void __attribute__((noinline)) warm_up_write(void) {
    *(volatile int *)(uintptr_t)8 = 0; /* SIGSEGV, on purpose */
}

/* Before the first call, with the reporter installed: one fault through the
   reporter's own path (reporter_entry, worker_fault, the report's walk, the
   signal frame), caught and thrown away, so that these frames are in
   libunwind's caches of this process when a callee faults. */
static void warm_up_fault_path(void) {
    if (sigsetjmp(warm_return, 1) == 0) {
        warming = WARMING_MARK;
        warm_up_write();
    }
    warming = 0;
}

static void call_loop(const fl_worker_config *argument) {
    const fl_worker_config loop = *(const fl_worker_config *)argument;
    fl_channel *const channel = loop.channel;
    const uint64_t secret = loop.secret;
    fl_install_fault_reporter(worker_fault, worker_altstack.base, worker_altstack.size);
    if ((handler_options & FL_CAPTURE_BACKTRACE) && loop.recycle_after != 1) warm_up_fault_path();
    if (loop.sandbox != NULL) {
        fl_install_sigsys_reporter();
        uint32_t required = loop.sandbox->enforced;
        if ((fl_sandbox_apply(loop.sandbox) & required) != required) _exit(125);
    }
    uint64_t calls = 0;
    for (;;) {
        fl_batch_order order;
        if (fl_recv_all(loop.socket_fd, &order, sizeof order) != 0) _exit(0); /* supervisor gone */
        if (order.count > FL_CHANNEL_CAPACITY) _exit(126);
        const uint64_t seq = order.seq;
        handler_seq = seq;
        uint32_t i = 0;
        for (; i < order.count; i++) {
            handler_index = i;
            if (order.timed) {
                int64_t now = fl_now_ns();
                atomic_store_explicit(&channel->call_started_ns, now, memory_order_relaxed);
                atomic_store_explicit(&channel->begun_check, fl_event_check(secret, FL_SALT_BEGUN, seq, i + 1, (uint64_t)now),
                                      memory_order_relaxed);
            }
            atomic_store_explicit(&channel->started, i + 1, memory_order_release);
            int32_t input, value;
            if (loop.signature == NULL) {
                input = channel->inputs[i];
                value = loop.function(input);
            } else {
                uint64_t hash;
                value = call_record(&loop, channel, i, &hash);
                input = (int32_t)(uint32_t)(hash ^ (hash >> 32));
            }
            const int32_t kind = kind_after_call(channel, secret);
            channel->records[i].value = value;
            channel->records[i].kind = kind;
            channel->records[i].check = fl_pool_record_check(secret, seq, i, input, kind, value);
            atomic_store_explicit(&channel->finished, i + 1, memory_order_release);
            /* This process can no longer be trusted: the supervisor reads the
               record and requeues the rest of the batch. */
            if (FL_UNLIKELY(kind != FL_KIND_RETURNED)) _exit(0);
        }
        fl_batch_done done = {.seq = seq, .count = i, .check = fl_event_check(secret, FL_SALT_DONE, seq, i, 0)};
        if (fl_send_all(loop.socket_fd, &done, sizeof done) != 0) _exit(0);
        calls += i;
        if (loop.recycle_after > 0 && calls >= (uint64_t)loop.recycle_after) _exit(0);
    }
}

/* on_exit through a pointer the loader fills at start-up: a worker binds no symbol
   lazily (a search of every loaded library, in every worker). */
static int (*volatile const register_on_exit)(void (*)(int, void *), void *) = on_exit;

void fl_worker_bind_handler_calls(void) {
    (void)setpgid(-1, -1); /* EINVAL: binds the symbol each worker's set-up calls */
    (void)fl_now_ns();
    (void)send(-1, NULL, 0, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)kill(getpid(), 0);
    (void)raise(0);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGSEGV);
    sigprocmask(SIG_BLOCK, NULL, &mask);
    struct sigaction current;
    sigaction(SIGSEGV, NULL, &current);
}

int fl_worker_map_altstack(void) {
    return worker_altstack.base != NULL ? 0 : fl_altstack_map(FL_WORKER_ALTSTACK_SIZE, &worker_altstack);
}

void fl_worker_rehearse_fault_path(int options) {
    if (!(options & FL_CAPTURE_BACKTRACE) || worker_altstack.base == NULL || !fl_backtrace_load()) return;
    sigset_t kept;
    sigprocmask(SIG_BLOCK, NULL, &kept);
    handler_pid = getpid();
    handler_options = options;
    fl_install_fault_reporter(worker_fault, worker_altstack.base, worker_altstack.size);
    warm_up_fault_path();
    /* Back to the helper's own state: default actions, no alternate stack, its mask. */
    size_t count;
    const int *signals = fl_fault_signals(&count);
    for (size_t i = 0; i < count; i++) fl_set_default_action(signals[i]);
    stack_t none = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&none, NULL);
    sigprocmask(SIG_SETMASK, &kept, NULL);
    handler_pid = 0;
}

void fl_worker_main(const fl_worker_config *config) {
    fl_channel *channel = config->channel;
    /* A group of its own: kill(0, …) from a callee reaches only this worker and its children. */
    fl_child_setup(config->helper, 1);
    if (config->memory_limit > 0) {
        struct rlimit limit = {config->memory_limit, config->memory_limit};
        setrlimit(RLIMIT_AS, &limit);
    }
    handler_channel = channel;
    handler_options = config->options;
    handler_helper = config->helper;
    handler_socket = config->socket_fd;
    handler_pid = getpid();
    handler_secret = config->secret;
    private_canary = FL_CANARY_PRIVATE(config->secret);
    channel->canary = FL_CANARY_SHARED(config->secret);
    atomic_store_explicit(&channel->crash_ready, 0, memory_order_relaxed);
    /* The inputs are the supervisor's: nothing in this process may change them. */
    mprotect(channel->inputs, sizeof channel->inputs, PROT_READ);
    if (config->signature) mprotect(FL_CHANNEL_ARGUMENTS(channel), FL_ARGUMENT_AREA, PROT_READ);
    /* A process the callee forks does not inherit the channel at all. */
    madvise(channel, FL_CHANNEL_SIZE(config->signature != NULL), MADV_DONTFORK);
    register_on_exit(worker_exit, NULL);
    if ((config->options & FL_CAPTURE_BACKTRACE) && config->recycle_after != 1) {
        /* Before the first call, off any crash's path (a standby worker does
           this while the others work): libunwind's caches, the top of the
           handler's stack and the crash record written once here, so that a
           fault in the first call walks and reports as fast as in a warm
           worker. Not for a one-call worker (the fork server): there it would
           cost every call ~250 µs of CPU for a crash that is also its end. */
        fl_backtrace_map_headers(); /* the walk itself: warm_up_fault_path, through the handler */
        for (size_t at = worker_altstack.size - FL_WARM_ALTSTACK; at < worker_altstack.size; at += 4096) worker_altstack.base[at] = 0;
        memset(&channel->crash, 0, sizeof channel->crash);
    }

    call_loop(config);
    _exit(0); /* not reached: the loop ends the process itself */
}
