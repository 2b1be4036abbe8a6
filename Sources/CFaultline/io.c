/*
 * io.c: the EINTR-safe system calls every process of Faultline shares.
 *
 * One place retries on EINTR: sending and receiving whole buffers on stream
 * sockets, sending and receiving packets with descriptors (SCM_RIGHTS),
 * waiting for a child, and waiting for a descriptor until a deadline.
 * Workers, the helper, forked calls and the supervisor use these instead of
 * their own loops.
 *
 * Everything here calls only async-signal-safe functions (send, recv,
 * sendmsg, recvmsg, waitpid, poll, clock_gettime, memcpy), so it may run
 * between fork() and _exit().
 *
 * Limits: a packet carries at most FL_IO_MAX_FDS descriptors; extra ones
 * the kernel delivers are closed.
 */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int fl_send_all(int fd, const void *data, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = send(fd, (const char *)data + done, size - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return -1;
        }
    }
    return 0;
}

int fl_recv_all(int fd, void *data, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = recv(fd, (char *)data + done, size - done, 0);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            if (n == 0) errno = EPIPE;
            return -1;
        }
    }
    return 0;
}

int fl_send_packet(int fd, const void *data, size_t size, const int *fds, int fd_count) {
    struct iovec vector = {.iov_base = (void *)data, .iov_len = size};
    char space[CMSG_SPACE(sizeof(int) * FL_IO_MAX_FDS)];
    memset(space, 0, sizeof space);
    struct msghdr header = {.msg_iov = &vector, .msg_iovlen = 1};
    if (fd_count > FL_IO_MAX_FDS) fd_count = FL_IO_MAX_FDS;
    if (fd_count > 0) {
        header.msg_control = space;
        header.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)fd_count);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)fd_count);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)fd_count);
    }
    for (;;) {
        if (sendmsg(fd, &header, MSG_NOSIGNAL) >= 0) return 0;
        if (errno != EINTR) return -1;
    }
}

ssize_t fl_receive_packet(int fd, void *data, size_t size, int *fds, int *fd_count, int flags) {
    struct iovec vector = {.iov_base = data, .iov_len = size};
    char space[CMSG_SPACE(sizeof(int) * FL_IO_MAX_FDS)];
    struct msghdr header = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = space, .msg_controllen = sizeof space};
    ssize_t got;
    do {
        got = recvmsg(fd, &header, MSG_CMSG_CLOEXEC | flags);
    } while (got < 0 && errno == EINTR);
    if (fd_count) *fd_count = 0;
    if (got <= 0) return got;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header); cmsg; cmsg = CMSG_NXTHDR(&header, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        int n = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int received[FL_IO_MAX_FDS * 2];
        if (n > FL_IO_MAX_FDS * 2) n = FL_IO_MAX_FDS * 2;
        memcpy(received, CMSG_DATA(cmsg), sizeof(int) * (size_t)n);
        for (int i = 0; i < n; i++) {
            if (fds && fd_count && *fd_count < FL_IO_MAX_FDS) {
                fds[(*fd_count)++] = received[i];
            } else {
                close(received[i]);
            }
        }
    }
    return got;
}

pid_t fl_wait_pid(pid_t pid, int *status, int flags) {
    int ignored;
    pid_t got;
    do {
        got = waitpid(pid, status ? status : &ignored, flags);
    } while (got < 0 && errno == EINTR);
    return got;
}

int fl_poll_until(int fd, int64_t deadline_ns) {
    for (;;) {
        int timeout_ms = -1;
        if (deadline_ns >= 0) {
            int64_t left = deadline_ns - fl_now_ns();
            if (left <= 0) return 0;
            timeout_ms = (int)((left + 999999) / 1000000);
        }
        struct pollfd watch = {.fd = fd, .events = POLLIN};
        int ready = poll(&watch, 1, timeout_ms);
        if (ready > 0) return 1;
        if (ready < 0 && errno != EINTR) return -1;
    }
}
