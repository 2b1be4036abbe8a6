/*
 * sandbox_victims.c: callees that try what a sandbox (--sandbox) forbids, and
 * ones that only compute, for the sandbox's tests.
 *
 * The int f(int) ones take r: a negative r tries the forbidden thing, any
 * other r returns r unchanged (so innocent and hostile inputs mix in one
 * run). After a forbidden thing that did not end the call, they return what
 * it gave: a descriptor or count (>= 0), or -errno. The path ones take
 * strings (--signature 'int32(string)' and the like).
 *
 * Limits: Linux, glibc. fl_sb_int80 is x86-64 only (elsewhere it returns r).
 */
#include "FaultlineVictims.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static int result(long value) { return value >= 0 ? (int)value : -errno; }

NOINLINE int fl_sb_compute(int r) {
    if (r < 0) r = -r;
    size_t count = (size_t)r % 4096 + 16;
    uint64_t *values = malloc(count * sizeof *values);
    if (values == NULL) return -ENOMEM;
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++) values[i] = (uint64_t)i * (uint64_t)r + 7;
    for (size_t i = 0; i < count; i++) sum = sum * 31 + values[i];
    free(values);
    fprintf(stderr, "fl_sb_compute(%d)\n", r);
    printf("fl_sb_compute stdout %d\n", r);
    fflush(stdout);
    return (int)(sum & 0x7fffffff);
}

NOINLINE int fl_sb_open_etc(int r) {
    if (r >= 0) return r;
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    return result(fd);
}

NOINLINE int fl_sb_socket(int r) {
    if (r >= 0) return r;
    return result(socket(AF_INET, SOCK_STREAM, 0));
}

NOINLINE int fl_sb_connect_tcp(int r) {
    if (r >= 0) return r;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(-r)), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int connected = connect(fd, (struct sockaddr *)&to, sizeof to);
    int error = errno;
    close(fd);
    return connected == 0 ? 0 : -error;
}

NOINLINE int fl_sb_sendto_udp(int r) {
    if (r >= 0) return r;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ssize_t sent = sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof to);
    int error = errno;
    close(fd);
    return sent >= 0 ? (int)sent : -error;
}

NOINLINE int fl_sb_fork_exec(int r) {
    if (r >= 0) return r;
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", "exit 3", (char *)NULL);
        _exit(127);
    }
    if (pid < 0) return -errno;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

NOINLINE int fl_sb_exec(int r) {
    if (r >= 0) return r;
    execl("/bin/sh", "sh", "-c", "exit 3", (char *)NULL);
    return -errno;
}

static void *double_it(void *argument) { return (void *)((intptr_t)argument * 2); }

NOINLINE int fl_sb_thread(int r) {
    if (r >= 0) return r;
    pthread_t thread;
    int error = pthread_create(&thread, NULL, double_it, (void *)(intptr_t)r);
    if (error != 0) return -error;
    void *value = NULL;
    pthread_join(thread, &value);
    return (int)(intptr_t)value;
}

NOINLINE int fl_sb_kill_parent(int r) {
    if (r >= 0) return r;
    return result(kill(getppid(), SIGKILL));
}

NOINLINE int fl_sb_ptrace_parent(int r) {
    if (r >= 0) return r;
    return result(ptrace(PTRACE_ATTACH, getppid(), NULL, NULL));
}

NOINLINE int fl_sb_mmap_exec(int r) {
    if (r >= 0) return r;
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return page == MAP_FAILED ? -errno : 1;
}

static void ignore_sigsys(int signo) { (void)signo; }

NOINLINE int fl_sb_sigsys_handler(int r) {
    if (r >= 0) return r;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = ignore_sigsys;
    if (sigaction(SIGSYS, &action, NULL) != 0) return -errno;
    return result(socket(AF_INET, SOCK_STREAM, 0));
}

NOINLINE int fl_sb_block_sigsys(int r) {
    if (r >= 0) return r;
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGSYS);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    return result(socket(AF_INET, SOCK_STREAM, 0));
}

NOINLINE int fl_sb_burn_cpu(int r) {
    if (r >= 0) return r;
    volatile uint64_t spins = 0;
    for (;;) spins++;
}

NOINLINE int fl_sb_io_uring(int r) {
    if (r >= 0) return r;
    char parameters[120] = {0};
    return result(syscall(SYS_io_uring_setup, 4, parameters));
}

NOINLINE int fl_sb_int80(int r) {
#if defined(__x86_64__)
    if (r >= 0) return r;
    long value;
    __asm__ volatile("int $0x80" : "=a"(value) : "a"(20L /* i386 getpid */) : "memory");
    return (int)value;
#else
    return r;
#endif
}

int fl_sb_read_file(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    char buffer[4096];
    ssize_t got = read(fd, buffer, sizeof buffer);
    int error = errno;
    close(fd);
    return got >= 0 ? (int)got : -error;
}

int fl_sb_write_file(const char *path, int32_t bytes) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    char block[4096];
    memset(block, 'x', sizeof block);
    int32_t written = 0;
    while (written < bytes) {
        size_t chunk = (size_t)(bytes - written) < sizeof block ? (size_t)(bytes - written) : sizeof block;
        ssize_t done = write(fd, block, chunk);
        if (done < 0) {
            int error = errno;
            close(fd);
            return -error;
        }
        written += (int32_t)done;
    }
    close(fd);
    return written;
}

int fl_sb_open_many(const char *path, int32_t count) {
    for (int32_t i = 0; i < count; i++) {
        if (open(path, O_RDONLY | O_CLOEXEC) < 0) return -errno;
    }
    return count;
}
