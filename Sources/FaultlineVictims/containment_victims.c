/*
 * containment_victims.c: a taken-over callee reaching outside its process
 * (experiment 14), each aimed at something the caller sets up and then
 * inspects from outside: a file, a listener, a marker, a sibling process.
 * With the victims of sandbox_victims.c, what a sandbox forbids.
 *
 * Each returns what its attempt gave: a count or 0 on success, -errno on
 * failure (after a forbidden call that did not end the call). Signatures are
 * given for `faultline call --signature` and WorkerPool(signature:).
 *
 * fl_getppid_loop is the bench's allowed system call in a loop (the cost of
 * the seccomp program per call).
 *
 * Limits: Linux, glibc, IPv4 loopback.
 */
#include "FaultlineVictims.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static struct sockaddr_in loopback(int32_t port) {
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return to;
}

NOINLINE int fl_ct_sendto_udp(int32_t port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in to = loopback(port);
    ssize_t sent = sendto(fd, "fl14", 4, 0, (struct sockaddr *)&to, sizeof to);
    int error = errno;
    close(fd);
    return sent >= 0 ? (int)sent : -error;
}

NOINLINE int fl_ct_read_into(const char *path, char *out, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t got = size > 1 ? read(fd, out, size - 1) : 0;
    int error = errno;
    close(fd);
    return got >= 0 ? (int)got : -error;
}

NOINLINE int fl_ct_spawn_touch(const char *marker) {
    /* A copy on the stack: a pool's argument records are not mapped in the worker's children. */
    char path[4096];
    size_t length = strlen(marker);
    if (length >= sizeof path) return -ENAMETOOLONG;
    memcpy(path, marker, length + 1);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", "touch -- \"$1\"", "sh", path, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) return -errno;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -errno;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

NOINLINE int fl_ct_signal_parent(int32_t signo) {
    return kill(getppid(), signo) == 0 ? 0 : -errno;
}

NOINLINE int fl_ct_ptrace_seize(int32_t pid) {
    /* PTRACE_SEIZE stops nothing; the tracee stays attached until this process ends. */
    return ptrace(PTRACE_SEIZE, (pid_t)pid, NULL, NULL) == 0 ? 0 : -errno;
}

static void ignore_sigsys(int signo) { (void)signo; }

NOINLINE int fl_ct_sigsys_then_connect(int32_t port) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = ignore_sigsys;
    if (sigaction(SIGSYS, &action, NULL) != 0) return -errno;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in to = loopback(port);
    int connected = connect(fd, (struct sockaddr *)&to, sizeof to);
    int error = errno;
    close(fd);
    return connected == 0 ? 0 : -error;
}

NOINLINE int fl_getppid_loop(int32_t n) {
    for (int32_t i = 0; i < n; i++) (void)syscall(SYS_getppid);
    return n;
}
