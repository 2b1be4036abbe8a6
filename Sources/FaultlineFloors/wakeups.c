/*
 * wakeups.c: the floors of waking another process — a futex on a shared
 * page, a pair of eventfds, a pair of pipes — each a round trip to a partner
 * forked ahead (it dies with this process: follow_parent). The floor of the
 * pool's "batch done" and crash wake-ups. Only system calls in the children.
 */
#include "floors.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Futex on a shared word: FUTEX_WAIT while *word == expected, at most 1 s. */
static void futex_wait(uint32_t *word, uint32_t expected) {
    struct timespec second = {1, 0};
    syscall(SYS_futex, word, FUTEX_WAIT, expected, &second, NULL, 0);
}

static void futex_wake(uint32_t *word) { syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0); }

/* The shared page: the parent makes `counter` odd, the partner makes it even. */
struct shared {
    uint32_t counter;
    uint32_t stop;
};

static void futex_partner(pid_t parent, struct shared *page) {
    follow_parent(parent);
    uint32_t seen = 0;
    for (;;) {
        uint32_t value;
        while ((value = __atomic_load_n(&page->counter, __ATOMIC_ACQUIRE)) == seen) {
            if (getppid() != parent) _exit(1);
            futex_wait(&page->counter, seen);
        }
        if (__atomic_load_n(&page->stop, __ATOMIC_ACQUIRE)) _exit(0);
        seen = value + 1;
        __atomic_store_n(&page->counter, seen, __ATOMIC_RELEASE);
        futex_wake(&page->counter);
    }
}

int measure_futex(int64_t *samples, int count) {
    struct shared *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) futex_partner(parent, page);
    if (pid < 0) {
        int error = errno;
        munmap(page, 4096);
        return error;
    }
    current_child = pid;
    int error = 0;
    uint32_t value = 0;
    for (int i = 0; i < count && error == 0; i++) {
        int64_t start = now_ns();
        uint32_t sent = value + 1;
        __atomic_store_n(&page->counter, sent, __ATOMIC_RELEASE);
        futex_wake(&page->counter);
        int64_t deadline = start + 10000000000LL;
        while ((value = __atomic_load_n(&page->counter, __ATOMIC_ACQUIRE)) == sent) {
            if (now_ns() > deadline) {
                error = ETIMEDOUT;
                break;
            }
            futex_wait(&page->counter, sent);
        }
        samples[i] = now_ns() - start;
        if (error == 0 && value != sent + 1) error = EPROTO;
    }
    __atomic_store_n(&page->stop, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&page->counter, value + 1, __ATOMIC_RELEASE);
    futex_wake(&page->counter);
    int status = reap(pid);
    if (error == 0 && (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) error = ECHILD;
    if (status < 0) abandon(pid);
    munmap(page, 4096);
    return error;
}

/* eventfd partner: reads the request count; 1 is answered, anything else stops. */
static void eventfd_partner(pid_t parent, int request, int reply) {
    follow_parent(parent);
    uint64_t value;
    while (read_all(request, &value, sizeof value) == 0 && value == 1) {
        if (write_all(reply, &value, sizeof value) != 0) _exit(1);
    }
    _exit(0);
}

int measure_eventfd(int64_t *samples, int count) {
    int request = eventfd(0, EFD_CLOEXEC);
    if (request < 0) return errno;
    int reply = eventfd(0, EFD_CLOEXEC);
    if (reply < 0) {
        int error = errno;
        close(request);
        return error;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) eventfd_partner(parent, request, reply);
    int error = pid < 0 ? errno : 0;
    if (pid > 0) {
        current_child = pid;
        for (int i = 0; i < count && error == 0; i++) {
            uint64_t value = 1;
            int64_t start = now_ns();
            if (write_all(request, &value, sizeof value) != 0 || read_all(reply, &value, sizeof value) != 0) error = EPIPE;
            samples[i] = now_ns() - start;
        }
        uint64_t stop = 2;
        if (write_all(request, &stop, sizeof stop) != 0) abandon(pid);
        else reap(pid);
    }
    close(request);
    close(reply);
    return error;
}

/* Echo process: 4-byte messages back until end-of-file. */
static void echo_partner(pid_t parent, int request, int reply) {
    follow_parent(parent);
    uint32_t message;
    while (read_all(request, &message, sizeof message) == 0) {
        if (write_all(reply, &message, sizeof message) != 0) break;
    }
    _exit(0);
}

int measure_pipe(int64_t *samples, int count) {
    int request[2], reply[2];
    if (pipe2(request, O_CLOEXEC) != 0) return errno;
    if (pipe2(reply, O_CLOEXEC) != 0) {
        int error = errno;
        close_pair(request);
        return error;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(request[1]);
        close(reply[0]);
        echo_partner(parent, request[0], reply[1]);
    }
    int error = pid < 0 ? errno : 0;
    close(request[0]);
    close(reply[1]);
    if (pid > 0) {
        current_child = pid;
        for (int i = 0; i < count && error == 0; i++) {
            uint32_t message = (uint32_t)i, answer = 0;
            int64_t start = now_ns();
            if (write_all(request[1], &message, sizeof message) != 0 || read_all(reply[0], &answer, sizeof answer) != 0)
                error = EPIPE;
            samples[i] = now_ns() - start;
            if (error == 0 && answer != message) error = EPROTO;
        }
    }
    close(request[1]); /* end-of-file: the echo process exits */
    close(reply[0]);
    if (pid > 0) reap(pid);
    return error;
}

