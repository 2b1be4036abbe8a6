/*
 * sandbox_netns.c: one network namespace per pool (or per forking process),
 * made once and held as two descriptors, so that no worker pays for one.
 *
 * unshare(CLONE_NEWUSER) needs a single-threaded process, and the helper has
 * two threads (helper_config.c). So a child is forked: it unshares a user
 * namespace and a network namespace (which holds only a loopback interface,
 * down), maps this process's uid and gid onto themselves (setgroups "deny"
 * first, as an unprivileged process must; files a worker creates then have
 * their owner), says so on a socket, and waits. The parent opens
 * /proc/PID/ns/user and /proc/PID/ns/net, closes the socket (the child then
 * exits) and reaps it. Each worker later setns()es into both
 * (sandbox_apply.c): the owner of a user namespace, in its parent namespace,
 * may enter it.
 *
 * The child runs system calls only between fork() and _exit(): open, write,
 * read, close, unshare, getuid, getgid (async-signal-safe).
 *
 * Limits: needs unprivileged user namespaces (or root); where they are off
 * the sandbox runs without a namespace of its own and says so (or refuses,
 * strict). ~0.5 ms, once.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes `text` into the file at `path`: 1 when all of it was written. */
static int write_file(const char *path, const char *text, size_t length) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t written = write(fd, text, length);
    close(fd);
    return written == (ssize_t)length;
}

/* "ID ID 1\n" into `text`; its length. */
static size_t identity_map(char *text, unsigned long id) {
    char digits[24];
    size_t count = 0, at = 0;
    do {
        digits[count++] = (char)('0' + id % 10);
        id /= 10;
    } while (id > 0);
    for (int copy = 0; copy < 2; copy++) {
        for (size_t i = count; i > 0; i--) text[at++] = digits[i - 1];
        text[at++] = ' ';
    }
    text[at++] = '1';
    text[at++] = '\n';
    return at;
}

static __attribute__((noreturn)) void holder(int socket_fd) {
    char answer = 'n';
    unsigned long uid = getuid(), gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
        char map[64];
        int mapped = write_file("/proc/self/setgroups", "deny", 4) || errno == ENOENT;
        mapped = mapped && write_file("/proc/self/uid_map", map, identity_map(map, uid));
        mapped = mapped && write_file("/proc/self/gid_map", map, identity_map(map, gid));
        answer = mapped ? 'y' : 'n';
    }
    if (write(socket_fd, &answer, 1) == 1) {
        char ignored;
        while (read(socket_fd, &ignored, 1) > 0) {
        }
    }
    _exit(0);
}

int fl_sandbox_make_netns(int *userns_fd, int *netns_fd) {
    *userns_fd = *netns_fd = -1;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return errno;
    pid_t pid = fork();
    if (pid == 0) {
        close(pair[0]);
        holder(pair[1]);
    }
    int error = pid < 0 ? errno : 0;
    close(pair[1]);
    if (pid > 0) {
        char answer = 0;
        ssize_t got;
        do {
            got = read(pair[0], &answer, 1);
        } while (got < 0 && errno == EINTR);
        if (got == 1 && answer == 'y') {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
            *userns_fd = open(path, O_RDONLY | O_CLOEXEC);
            snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
            *netns_fd = open(path, O_RDONLY | O_CLOEXEC);
            if (*userns_fd < 0 || *netns_fd < 0) error = errno ? errno : EIO;
        } else {
            error = EPERM; /* the kernel refused the namespaces */
        }
    }
    close(pair[0]);
    if (pid > 0) fl_wait_pid(pid, NULL, 0);
    if (error != 0) {
        if (*userns_fd >= 0) close(*userns_fd);
        if (*netns_fd >= 0) close(*netns_fd);
        *userns_fd = *netns_fd = -1;
    }
    return error;
}
