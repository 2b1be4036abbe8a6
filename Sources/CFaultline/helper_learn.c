/*
 * helper_learn.c: learning mode (FL_SANDBOX_LEARN) in the helper. NOT a
 * sandbox: every worker installs a program whose default action is
 * SECCOMP_RET_USER_NOTIF (built in the supervisor, CFaultlineSeccomp's
 * fl_seccomp_build_learning) with SECCOMP_FILTER_FLAG_NEW_LISTENER, and hands
 * the listener to the helper right after (sendmsg with SCM_RIGHTS on
 * FL_SANDBOX_LEARN_HANDOFF_FD, a socketpair the helper made before the fork).
 * The helper polls every listener in its event loop; per notification:
 * SECCOMP_IOCTL_NOTIF_RECV, a count for the number and, when the worker is in
 * a call (channel: started > finished), the input's index in its run (the
 * supervisor writes learn_index), then SECCOMP_IOCTL_NOTIF_SEND with
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE. The record lives in a memfd shared with
 * the supervisor (sent with READY), which reads it whenever it likes.
 *
 * Single-threaded helper code, outside any handler.
 *
 * Limits: a listener whose worker is reaped is closed (a process the callee
 * left behind then gets ENOSYS for every call); FL_HELPER_LEARN_MAX listeners.
 */
#include "helper_learn.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
    int fd;
    pid_t pid;
    fl_channel *channel;
} listeners[FL_HELPER_LEARN_MAX];
static int listener_count;
static fl_learned_syscall *record;
static int record_fd = -1;

int fl_helper_learn_record(void) {
    if (record_fd >= 0) return record_fd;
    size_t size = sizeof(fl_learned_syscall) * FL_SANDBOX_LEARN_SYSCALLS;
    int fd = memfd_create("faultline-learned", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) return -1;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return -1;
    record = map;
    for (int i = 0; i < FL_SANDBOX_LEARN_SYSCALLS; i++) record[i].first_input = -1;
    record_fd = fd;
    return fd;
}

int fl_helper_learn_receive(int handoff, pid_t pid, fl_channel *channel) {
    int listener = -1;
    if (fl_poll_until(handoff, fl_now_ns() + 2000000000LL) > 0) {
        char byte;
        struct iovec io = {&byte, 1};
        union {
            struct cmsghdr header;
            char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control};
        if (recvmsg(handoff, &message, MSG_CMSG_CLOEXEC) == 1) {
            struct cmsghdr *header = CMSG_FIRSTHDR(&message);
            if (header && header->cmsg_type == SCM_RIGHTS && header->cmsg_len == CMSG_LEN(sizeof(int)))
                memcpy(&listener, CMSG_DATA(header), sizeof(int));
        }
    }
    close(handoff);
    if (listener < 0) return -1;
    if (listener_count == FL_HELPER_LEARN_MAX) {
        close(listener);
        return -1;
    }
    listeners[listener_count++] = (typeof(listeners[0])){listener, pid, channel};
    return 0;
}

void fl_helper_learn_forget(pid_t pid) {
    for (int i = 0; i < listener_count; i++) {
        if (listeners[i].pid != pid) continue;
        close(listeners[i].fd);
        listeners[i] = listeners[--listener_count];
        return;
    }
}

void fl_helper_learn_close_in_child(void) {
    for (int i = 0; i < listener_count; i++) close(listeners[i].fd);
    if (record_fd >= 0) close(record_fd);
}

int fl_helper_learn_poll(struct pollfd *watch, int capacity) {
    int n = 0;
    for (int i = 0; i < listener_count && n < capacity; i++) watch[n++] = (struct pollfd){.fd = listeners[i].fd, .events = POLLIN};
    return n;
}

static void answer(int i) {
    struct seccomp_notif request;
    memset(&request, 0, sizeof request);
    if (ioctl(listeners[i].fd, SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) return;
    fl_channel *channel = listeners[i].channel;
    uint32_t started = atomic_load_explicit(&channel->started, memory_order_acquire);
    uint32_t finished = atomic_load_explicit(&channel->finished, memory_order_acquire);
    if (record != NULL && request.data.nr >= 0 && request.data.nr < FL_SANDBOX_LEARN_SYSCALLS) {
        fl_learned_syscall *entry = &record[request.data.nr];
        int64_t input = -1;
        if (started > finished && started <= FL_CHANNEL_CAPACITY) input = channel->learn_index[started - 1];
        __atomic_add_fetch(&entry->count, 1, __ATOMIC_RELAXED);
        if (input >= 0 && (entry->first_input < 0 || input < entry->first_input))
            __atomic_store_n(&entry->first_input, input, __ATOMIC_RELAXED);
    }
    struct seccomp_notif_resp response = {.id = request.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
    ioctl(listeners[i].fd, SECCOMP_IOCTL_NOTIF_SEND, &response); /* ENOENT: the caller died meanwhile */
}

void fl_helper_learn_answer(const struct pollfd *watch, int count) {
    for (int i = count - 1; i >= 0; i--) {
        if (!watch[i].revents) continue;
        int at = -1;
        for (int k = 0; k < listener_count; k++) {
            if (listeners[k].fd == watch[i].fd) at = k;
        }
        if (at < 0) continue;
        if (watch[i].revents & POLLIN) answer(at);
        else if (watch[i].revents & (POLLHUP | POLLERR | POLLNVAL)) fl_helper_learn_forget(listeners[at].pid);
    }
}
