/*
 * helper.c: the pool's helper process: its event loop.
 *
 * The helper is the small faultline-helper program, or the supervisor's own
 * executable re-executed (pool_helper.c chooses), taken over before any main
 * (helper_config.c). It loads the function once
 * (helper_load.c), says READY, and from then on keeps `worker_goal` workers
 * and one standby announced to the supervisor, plus one spare forked ahead
 * (helper_workers.c). It is single-threaded, so forking
 * workers from it is cheap (its page tables are small, whatever the
 * supervisor's size) and safe (no locks held by other threads).
 *
 * Events only: it waits in poll() on its control socket (EOF when the
 * supervisor dies — even by SIGKILL, the kernel closes the socket) and on a
 * signalfd for SIGCHLD and SIGUSR1 (a worker's handler: "I crashed, the report
 * is in the channel"). The only timeout is the pause before retrying a fork
 * that failed (out of processes); deaths are still events meanwhile.
 *
 * The helper is a subreaper in a process group of its own: processes a callee
 * starts (even daemonized ones, unless they leave the group with setsid) are
 * reaped by it and killed with it.
 *
 * With a sandbox, once the library is loaded, init has run and libunwind is
 * warm, the helper prepares it (sandbox_prepare.c: the Landlock ruleset, the
 * pool's network namespace, a probe of what is enforced) for every worker to
 * apply to itself, and READY says what the probe enforced. A strict sandbox
 * that cannot be enforced in full, or an allowed path that cannot be opened,
 * is an ERROR (FL_POOL_ERROR_SANDBOX) instead.
 *
 * Limits: while loading, the helper has PR_SET_PDEATHSIG toward the thread
 * waiting for it (a constructor that hangs cannot keep it alive); afterwards
 * it relies on the control socket, because that thread may end while the
 * supervisor lives.
 */
#include "helper_internal.h"
#include "helper_learn.h"
#include "sandbox.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Standby workers at most (announced beyond the goal), while deaths come faster than forks. */
#define FL_HELPER_MAX_STANDBY 4

static void send_ready(int control, const fl_sandbox_status *sandbox, int learn_record) {
    static fl_message message;
    memset(&message, 0, offsetof(fl_message, text));
    message.type = FL_MSG_READY;
    if (sandbox != NULL) message.ready.sandbox = *sandbox;
    fl_send_packet(control, &message, FL_MESSAGE_SIZE(&message), &learn_record, learn_record >= 0 ? 1 : 0);
}

/* The sandbox every worker applies to itself (its own copy, after fork). */
static struct fl_sandbox helper_sandbox;

/* Prepares the configured sandbox: its status, or ERROR and exit 3. */
static fl_sandbox_status prepare_sandbox(int control, const fl_helper_config *config) {
    fl_sandbox_status status;
    if (fl_sandbox_prepare(&helper_sandbox, &config->sandbox, getpid(), &status) != 0) {
        static fl_message message;
        memset(&message, 0, offsetof(fl_message, text));
        message.type = FL_MSG_ERROR;
        message.error.kind = FL_POOL_ERROR_SANDBOX;
        message.error.error_number = status.error_number;
        message.error.sandbox = status;
        fl_send_packet(control, &message, FL_MESSAGE_SIZE(&message), NULL, 0);
        _exit(3);
    }
    return status;
}

void fl_helper_main(int control, const fl_helper_config *config) {
    signal(SIGPIPE, SIG_IGN);
    /* Processes a callee starts and abandons are re-parented to us, not to
       init: we reap them, and they die with us. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    size_t count;
    const int *signals = fl_fault_signals(&count);
    for (size_t i = 0; i < count; i++) fl_set_default_action(signals[i]);
    sigset_t watched;
    sigemptyset(&watched);
    sigaddset(&watched, SIGCHLD);
    sigaddset(&watched, SIGUSR1);
    sigprocmask(SIG_BLOCK, &watched, NULL);
    int signal_fd = signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0) _exit(4);

    /* In this order: the library, then its signature and init. */
    fl_function function = fl_helper_load(control, config);
    const fl_signature *signature = fl_helper_prepare(control, config);
    helper_workers workers = {
        .control = control,
        .signal_fd = signal_fd,
        .function = function,
        .signature = signature,
        .memory_limit = config->memory_limit,
        .options = config->options,
        .recycle_after = config->recycle_after,
        .pid = getpid(),
    };
    fl_helper_warm_up_unwinder(config->options);
    fl_worker_bind_handler_calls();
    if (fl_worker_map_altstack() != 0) _exit(4);
    fl_worker_rehearse_fault_path(config->options);
    fl_sandbox_status sandbox;
    if (config->sandboxed) {
        sandbox = prepare_sandbox(control, config);
        workers.sandbox = &helper_sandbox;
    }
    int learn_record = -1;
    if (config->sandboxed && (config->sandbox.flags & FL_SANDBOX_LEARN) && (learn_record = fl_helper_learn_record()) < 0) _exit(4);
    fl_helper_choose_fork();
    send_ready(control, config->sandboxed ? &sandbox : NULL, learn_record);
    /* From here on the control socket's end-of-file tells us the supervisor is
       gone; the parent-death signal, tied to the thread that spawned us, would
       also fire when that thread ends while its process goes on. */
    prctl(PR_SET_PDEATHSIG, 0);

    /* The workers, and standby ones the supervisor holds ready beside them
       (each takes a dead worker's place without waiting for us): one, and up
       to FL_HELPER_MAX_STANDBY while workers die faster than we fork. */
    const int goal = config->worker_goal;
    int standby = goal > 0 ? 1 : 0;
    int64_t last_death_ns = 0, fork_ns = 0;
    int deaths_seen = 0;
    for (;;) {
        int spawn_failed = 0;
        if (goal > 0 && workers.deaths != deaths_seen) {
            int64_t now = fl_now_ns();
            int64_t interval = now - last_death_ns;
            if (interval < 2 * fork_ns && standby < FL_HELPER_MAX_STANDBY) standby++;
            else if (interval > 200 * fork_ns && standby > 1) standby--;
            last_death_ns = now;
            deaths_seen = workers.deaths;
        }
        while (workers.announced < goal + standby && !spawn_failed) {
            int64_t before = fl_now_ns();
            spawn_failed = fl_helper_add_worker(&workers) != 0;
            /* Handing over the spare takes no fork: such a quick hand-over
               does not count as the fork time. */
            int64_t took = fl_now_ns() - before;
            if (!spawn_failed && took > fork_ns / 2) fork_ns = took;
        }
        if (goal > 0 && !spawn_failed) spawn_failed = fl_helper_ensure_spare(&workers) != 0;
        /* The control socket wakes us only at its end (RELEASE messages are read when a channel is needed). */
        struct pollfd watch[2 + FL_HELPER_LEARN_MAX] = {{.fd = control, .events = POLLRDHUP}, {.fd = signal_fd, .events = POLLIN}};
        int listening = fl_helper_learn_poll(watch + 2, FL_HELPER_LEARN_MAX);
        if (poll(watch, 2 + (nfds_t)listening, spawn_failed ? 100 : -1) < 0 && errno != EINTR) fl_helper_shut_down();
        /* Learning: answer first, a worker waits on each. */
        if (listening > 0) fl_helper_learn_answer(watch + 2, listening);
        if (watch[1].revents) {
            struct signalfd_siginfo drained[16];
            while (read(signal_fd, drained, sizeof drained) > 0) {
            }
            fl_helper_collect_deaths(&workers);
        }
        if (watch[0].revents) fl_helper_read_control(control);
    }
}
