/*
 * helper_workers.c: the helper's workers: forking them (and one spare ahead
 * of need), handing them to the supervisor, and reporting their deaths.
 *
 * A worker gets a socketpair (batches) and a channel (helper_channels.c: a
 * memfd, reused once the supervisor releases it), handed to the supervisor
 * with the worker's pidfd (SPAWNED, SCM_RIGHTS; the memfd only the first time
 * a channel is used). The spare is forked in advance, so that replacing a
 * dead worker costs one message instead of a fork on the supervisor's
 * critical path.
 *
 * Deaths are events: a worker's fault handler sends SIGUSR1 once its report
 * is in the channel (CRASHED goes out at once, with the frames named here,
 * where the library is mapped at the worker's addresses), and SIGCHLD leads
 * to waitpid (EXITED, with the wait status). Both arrive on a signalfd.
 *
 * The child side of fork() runs only fl_worker_main (worker.c), after
 * closing descriptors (close: async-signal-safe). Other workers' channels are
 * not in it: the helper marks each channel MADV_DONTFORK once its worker is
 * forked (where that fails, the child unmaps it).
 *
 * Limits: at most 2 * FL_POOL_MAX_WORKERS + 1 processes at once (announced
 * workers, dying ones not yet reaped, the spare); the supervisor never asks
 * for more than FL_POOL_MAX_WORKERS.
 */
#include "helper_internal.h"
#include "helper_learn.h"
#include "sandbox.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELPER_SLOTS (2 * FL_POOL_MAX_WORKERS + 1)

struct helper_slot {
    pid_t pid;
    uint64_t secret;   /* the worker's (integrity.h): only a crash record with a matching check is relayed */
    fl_channel *channel;
    int channel_id;    /* helper_channels.c */
    int socket;        /* the supervisor's end of its socket, until announced */
    int pidfd;         /* likewise (-1: none) */
    int announced; /* 0 for the spare: forked ahead of need, not yet given to the supervisor */
    int crashed;   /* its handler reported a fault: already counted as gone */
};

static struct helper_slot slots[HELPER_SLOTS];
static int slots_used; /* the spare and dying workers included */

static pid_t spare_pid; /* the spare: forked ahead of need, not announced (0: none) */

static fl_message outgoing;

/* SPAWNED: its secret, its channel (with the memfd the first time), its socket and pidfd. */
static void announce(helper_workers *workers, struct helper_slot *slot) {
    memset(&outgoing, 0, offsetof(fl_message, text));
    outgoing.type = FL_MSG_SPAWNED;
    outgoing.pid = slot->pid;
    outgoing.spawned.secret = slot->secret;
    outgoing.spawned.channel = (uint32_t)slot->channel_id;
    int fds[3], fd_count = 0;
    fds[fd_count++] = slot->socket;
    int memory = fl_helper_channel_descriptor(slot->channel_id);
    if (memory >= 0) {
        fds[fd_count++] = memory;
        outgoing.spawned.channel_flags |= FL_SPAWNED_MEMFD;
    }
    if (fl_helper_channel_kept(slot->channel_id)) outgoing.spawned.channel_flags |= FL_SPAWNED_KEPT;
    if (slot->pidfd >= 0) fds[fd_count++] = slot->pidfd;
    fl_send_packet(workers->control, &outgoing, FL_MESSAGE_SIZE(&outgoing), fds, fd_count);
    close(slot->socket);
    if (slot->pidfd >= 0) close(slot->pidfd);
    slot->socket = slot->pidfd = -1;
    fl_helper_channel_announced(slot->channel_id);
    slot->announced = 1;
    workers->announced++;
}

static struct helper_slot *find_slot(pid_t pid) {
    for (int i = 0; i < slots_used; i++) {
        if (slots[i].pid == pid) return &slots[i];
    }
    return NULL;
}

/* Forks one worker; as the spare, or announced at once. */
static int spawn_worker(helper_workers *workers, int as_spare) {
    if (slots_used >= HELPER_SLOTS) return -1;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    int channel_id = fl_helper_channel_take(workers->signature != NULL, workers->control);
    if (channel_id < 0 || fl_helper_channel_share(channel_id) != 0) {
        if (channel_id >= 0) fl_helper_channel_unused(channel_id);
        close(pair[0]);
        close(pair[1]);
        return -1;
    }
    fl_channel *channel = fl_helper_channel_map(channel_id);
    uint64_t secret = fl_new_secret();
    pid_t helper = workers->pid;
    /* The frames above this one are the worker's too: walked here once (then
       cached), the worker's own walks find them in the caches it inherits. */
    static int walked;
    if ((workers->options & FL_CAPTURE_BACKTRACE) && !walked) {
        fl_backtrace_walk_once();
        walked = 1;
    }
    const int learning = workers->sandbox != NULL && (workers->sandbox->flags & FL_SANDBOX_LEARN);
    int handoff[2] = {-1, -1};
    if (learning && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, handoff) != 0) handoff[0] = handoff[1] = -1;
    pid_t pid = fl_helper_fork();
    if (pid == 0) {
        if (learning) {
            fl_helper_learn_close_in_child();
            close(handoff[0]);
            if (handoff[1] < 0 || dup2(handoff[1], FL_SANDBOX_LEARN_HANDOFF_FD) < 0) _exit(125);
            close(handoff[1]);
        }
        close(pair[0]);
        close(workers->control);
        close(workers->signal_fd);
        fl_helper_channel_drop_inherited(channel_id);
        for (int i = 0; i < slots_used; i++) {
            if (slots[i].socket >= 0) close(slots[i].socket); /* the spare's, not yet announced */
            if (slots[i].pidfd >= 0) close(slots[i].pidfd);
        }
        fl_worker_config config = {.socket_fd = pair[1], .channel = channel, .function = workers->function,
                                   .signature = workers->signature, .options = workers->options, .helper = helper,
                                   .recycle_after = workers->recycle_after, .secret = secret,
                                   .memory_limit = workers->memory_limit, .sandbox = workers->sandbox};
        fl_worker_main(&config);
    }
    close(pair[1]);
    if (learning) close(handoff[1]);
    /* Later workers must not see this channel: not copied into their forks at all (fewer
       mappings to copy and tear down per fork), or else unmapped in them first thing. */
    fl_helper_channel_unshare(channel_id);
    if (pid < 0) {
        if (learning) close(handoff[0]);
        close(pair[0]);
        fl_helper_channel_unused(channel_id);
        return -1;
    }
    struct helper_slot *slot = &slots[slots_used++];
    *slot = (struct helper_slot){.pid = pid, .secret = secret, .channel = channel, .channel_id = channel_id,
                                 .socket = pair[0], .pidfd = fl_pidfd_open(pid)};
    /* A worker whose listener did not arrive would wait for an answer forever. */
    if (learning && fl_helper_learn_receive(handoff[0], pid, channel) != 0) kill(pid, SIGKILL);
    if (as_spare) spare_pid = pid;
    else announce(workers, slot);
    return 0;
}

int fl_helper_add_worker(helper_workers *workers) {
    struct helper_slot *slot = spare_pid > 0 ? find_slot(spare_pid) : NULL;
    if (slot) {
        spare_pid = 0;
        announce(workers, slot);
        return 0;
    }
    return spawn_worker(workers, 0);
}

int fl_helper_ensure_spare(helper_workers *workers) {
    return spare_pid > 0 ? 0 : spawn_worker(workers, 1);
}

/* Names the crash's frames into `outgoing` when the pool symbolizes. */
static void name_frames(const helper_workers *workers, const fl_report *crash) {
    outgoing.text_length = 0;
    if (workers->options & FL_POOL_SYMBOLIZE) {
        outgoing.text_length = (int32_t)fl_frames_encode(crash, outgoing.text, FL_MESSAGE_TEXT);
    }
}

/* The crash record carries the worker's check: garbage a callee wrote over the
   channel (crash_ready included) is never relayed as a crash. */
static int crash_is_genuine(const struct helper_slot *slot) {
    const fl_channel *channel = slot->channel;
    const fl_report *crash = &channel->crash;
    if ((crash->kind != FL_KIND_SIGNALED && crash->kind != FL_KIND_VIOLATION) || crash->frame_count > FL_MAX_FRAMES) return 0;
    return channel->crash_check == fl_crash_check(slot->secret, channel->crash_seq, channel->crash_index, crash);
}

static void report_exit(helper_workers *workers, pid_t pid, int status) {
    for (int i = 0; i < slots_used; i++) {
        if (slots[i].pid != pid) continue;
        memset(&outgoing, 0, offsetof(fl_message, text));
        outgoing.type = FL_MSG_EXITED;
        outgoing.pid = pid;
        outgoing.exited.wait_status = status;
        int announced = slots[i].announced;
        int crashed = slots[i].crashed;
        const fl_report *crash = &slots[i].channel->crash;
        if (!crashed && WIFSIGNALED(status) && crash_is_genuine(&slots[i]) && crash->signo == WTERMSIG(status)) {
            name_frames(workers, crash);
        }
        fl_helper_learn_forget(pid);
        fl_helper_channel_worker_gone(slots[i].channel_id, announced);
        if (slots[i].socket >= 0) close(slots[i].socket);
        if (slots[i].pidfd >= 0) close(slots[i].pidfd);
        slots[i] = slots[--slots_used];
        if (announced) {
            if (!crashed) {
                workers->announced--;
                workers->deaths++;
            }
            fl_send_packet(workers->control, &outgoing, FL_MESSAGE_SIZE(&outgoing), NULL, 0);
        } else if (spare_pid == pid) { /* the spare died before it was needed */
            spare_pid = 0;
        }
        return;
    }
}

/* Workers whose handler wrote a crash report: tell the supervisor at once
   (with names), count them as gone, so the spare can take their place. */
static void report_crashes(helper_workers *workers) {
    for (int i = 0; i < slots_used; i++) {
        const fl_report *crash = &slots[i].channel->crash;
        if (slots[i].crashed || !slots[i].announced ||
            !atomic_load_explicit(&slots[i].channel->crash_ready, memory_order_acquire) || !crash_is_genuine(&slots[i])) {
            continue; /* no report, one still being written, or garbage */
        }
        memset(&outgoing, 0, offsetof(fl_message, text));
        outgoing.type = FL_MSG_CRASHED;
        outgoing.pid = slots[i].pid;
        outgoing.crashed.signo = crash->signo;
        name_frames(workers, crash);
        slots[i].crashed = 1;
        workers->announced--;
        workers->deaths++;
        fl_send_packet(workers->control, &outgoing, FL_MESSAGE_SIZE(&outgoing), NULL, 0);
    }
}

void fl_helper_collect_deaths(helper_workers *workers) {
    report_crashes(workers);
    int status;
    pid_t pid;
    while ((pid = fl_wait_pid(-1, &status, WNOHANG)) > 0) report_exit(workers, pid, status);
}

void fl_helper_shut_down(void) {
    /* Each worker leads a process group of its own, with whatever its callee started in it. */
    for (int i = 0; i < slots_used; i++) {
        kill(-slots[i].pid, SIGKILL);
        kill(slots[i].pid, SIGKILL);
    }
    for (int i = 0; i < slots_used; i++) fl_wait_pid(slots[i].pid, NULL, 0);
    /* What callees started and abandoned — even in a session of its own — was
       re-parented to us, the subreaper: take every child down, generation by
       generation, then our own group. */
    fl_kill_children();
    kill(0, SIGKILL);
    _exit(0);
}
