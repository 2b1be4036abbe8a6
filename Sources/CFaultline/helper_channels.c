/*
 * helper_channels.c: the helper's channels (channel.h), kept and reused.
 *
 * A channel is a memfd the helper maps and hands to the supervisor with the
 * first worker that uses it (SPAWNED carries it by SCM_RIGHTS and names it
 * by an id); the supervisor keeps its mapping by that id. When the worker
 * has been reaped, the channel is held until the supervisor releases it
 * (RELEASE: it reads nothing there any more), then the next worker takes it
 * over. A crash then costs neither process a memfd, a mapping, page faults
 * on fresh pages and an unmapping. Nothing of the old worker's is believed:
 * every record in a channel carries a check keyed by its worker's own secret.
 *
 * With a signature the argument and result areas are large: such channels
 * are used once (unmapped when their worker is reaped), so that their pages
 * go back to the system with their worker.
 *
 * Each channel is MADV_DONTFORK in the helper except while the worker that
 * uses it is forked: no worker maps another's channel (where madvise fails,
 * the child unmaps the ones it inherited).
 *
 * After CONFIGURE the supervisor sends only RELEASE; the helper reads them
 * when it needs a channel and none is free (the control socket wakes it only
 * at its end, the supervisor's), so a release costs it no wake-up.
 *
 * Runs in the single-threaded helper, outside any handler; only
 * fl_helper_channel_drop_inherited runs in a child before its worker starts
 * (munmap: async-signal-safe).
 *
 * Limits: at most FL_POOL_CHANNELS at once; none free and none left to make
 * fails the fork of a worker (the helper retries).
 */
#include "helper_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

enum { CHANNEL_NONE = 0, CHANNEL_FREE, CHANNEL_IN_USE, CHANNEL_HELD };

static struct {
    fl_channel *map;
    int memfd;     /* open until the supervisor has it (sent with a worker's SPAWNED) */
    int state;
    int kept;      /* reused after its worker (int32(int32)); otherwise unmapped with it */
    int dontfork;  /* MADV_DONTFORK is set: the next fork does not copy it */
    int inherited; /* MADV_DONTFORK failed: later forks inherit it (their children unmap it) */
} channels[FL_POOL_CHANNELS];

static size_t channel_size;
static int channel_count; /* ids in use so far: 0 ..< channel_count */

static void unmap(int id) {
    munmap(channels[id].map, channel_size);
    if (channels[id].memfd >= 0) close(channels[id].memfd);
    channels[id].map = NULL;
    channels[id].memfd = -1;
    channels[id].state = CHANNEL_NONE;
}

/* The id of a free channel, or -1. */
static int free_channel(void) {
    for (int id = 0; id < channel_count; id++) {
        if (channels[id].state == CHANNEL_FREE) return id;
    }
    return -1;
}

void fl_helper_read_control(int control) {
    static fl_message message; /* its header only */
    for (;;) {
        ssize_t got = recv(control, &message, offsetof(fl_message, text), MSG_DONTWAIT);
        if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (got <= 0) fl_helper_shut_down();
        if ((size_t)got >= offsetof(fl_message, text) && message.type == FL_MSG_RELEASE) {
            fl_helper_channel_released(message.release.channel);
        }
    }
}

int fl_helper_channel_take(int with_records, int control) {
    channel_size = FL_CHANNEL_SIZE(with_records);
    /* Releases are read only when no channel is free: one receive takes all that came meanwhile. */
    if (!with_records && free_channel() < 0) fl_helper_read_control(control);
    int empty = -1;
    for (int id = 0; id < channel_count; id++) {
        if (channels[id].state == CHANNEL_FREE) {
            /* Only hints are reset (every record is keyed by its worker's secret). */
            atomic_store_explicit(&channels[id].map->crash_ready, 0, memory_order_relaxed);
            channels[id].state = CHANNEL_IN_USE;
            return id;
        }
        if (channels[id].state == CHANNEL_NONE && empty < 0) empty = id;
    }
    if (empty < 0 && channel_count < FL_POOL_CHANNELS) empty = channel_count;
    if (empty < 0) return -1;
    int memory = memfd_create("faultline-channel", MFD_CLOEXEC);
    fl_channel *map = MAP_FAILED;
    if (memory >= 0 && ftruncate(memory, (off_t)channel_size) == 0) {
        map = mmap(NULL, channel_size, PROT_READ | PROT_WRITE, MAP_SHARED, memory, 0);
    }
    if (map == MAP_FAILED) {
        if (memory >= 0) close(memory);
        return -1;
    }
    channels[empty].map = map;
    channels[empty].memfd = memory;
    channels[empty].state = CHANNEL_IN_USE;
    channels[empty].kept = !with_records;
    channels[empty].dontfork = 0;
    channels[empty].inherited = 0;
    if (empty == channel_count) channel_count++;
    return empty;
}

fl_channel *fl_helper_channel_map(int id) { return channels[id].map; }

int fl_helper_channel_kept(int id) { return channels[id].kept; }

int fl_helper_channel_share(int id) {
    /* A new mapping is inherited by default; a reused one was made DONTFORK after its last fork. */
    if (!channels[id].dontfork) return 0;
    if (madvise(channels[id].map, channel_size, MADV_DOFORK) != 0) return -1;
    channels[id].dontfork = 0;
    return 0;
}

void fl_helper_channel_unshare(int id) {
    channels[id].dontfork = madvise(channels[id].map, channel_size, MADV_DONTFORK) == 0;
    channels[id].inherited = !channels[id].dontfork;
}

void fl_helper_channel_drop_inherited(int own) {
    for (int id = 0; id < channel_count; id++) {
        if (id != own && channels[id].map != NULL && channels[id].inherited) munmap(channels[id].map, channel_size);
        if (channels[id].memfd >= 0) close(channels[id].memfd); /* the worker uses its mapping only */
    }
}

int fl_helper_channel_descriptor(int id) { return channels[id].memfd; }

void fl_helper_channel_announced(int id) {
    if (channels[id].memfd >= 0 && channels[id].kept) {
        close(channels[id].memfd);
        channels[id].memfd = -1;
    }
}

void fl_helper_channel_worker_gone(int id, int announced) {
    if (id < 0 || id >= FL_POOL_CHANNELS || channels[id].state != CHANNEL_IN_USE) return;
    if (!channels[id].kept) {
        unmap(id);
        return;
    }
    /* Announced: the supervisor may still read it until it says RELEASE. Never
       announced (a spare that died): nobody else reads it. */
    channels[id].state = announced ? CHANNEL_HELD : CHANNEL_FREE;
}

void fl_helper_channel_released(uint32_t id) {
    if (id < FL_POOL_CHANNELS && channels[id].state == CHANNEL_HELD) channels[id].state = CHANNEL_FREE;
}

void fl_helper_channel_unused(int id) {
    if (channels[id].state != CHANNEL_IN_USE) return;
    if (channels[id].memfd >= 0 || !channels[id].kept) unmap(id); /* the supervisor never had it */
    else channels[id].state = CHANNEL_FREE;
}
