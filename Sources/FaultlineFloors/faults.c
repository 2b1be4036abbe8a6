/*
 * faults.c: the floors of a fault: fault_seen_by_parent (a forked child
 * faults, its parent sees it die) and sigsetjmp_fault_longjmp (caught in
 * the same process). See main.c for what each is the floor of. Between
 * fork() and _exit() the child makes system calls and plain stores only.
 */
#include "floors.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Writes through NULL: a SIGSEGV at address 0. The pointer and the store are
   volatile, so no compiler can prove the address or delete the store. */
static void write_through_null(void) {
    static int *volatile null_pointer;
    *(volatile int *)null_pointer = 1;
}

/* The faulting child: no core, default SIGSEGV, waits for "go", writes through NULL. */
static void faulting_child(pid_t parent, int ready, int go) {
    follow_parent(parent);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, NULL);
    char byte = 0, word[2];
    if (write_all(ready, &byte, 1) == 0 && read_all(go, word, sizeof word) == 0) write_through_null();
    _exit(0);
}

/* One faulting child; its sample, or a negative errno. */
static int64_t fault_once(void) {
    int ready[2], go[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return -errno;
    if (pipe2(go, O_CLOEXEC) != 0) {
        int error = errno;
        close_pair(ready);
        return -error;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        faulting_child(parent, ready[1], go[0]);
    }
    int error = pid < 0 ? errno : 0;
    close(ready[1]);
    close(go[0]);
    int64_t result = -error;
    if (pid > 0) {
        current_child = pid;
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        char byte;
        if (pidfd < 0) result = -errno;
        else if (read_all(ready[0], &byte, 1) != 0) result = -ECHILD;
        else {
            int64_t start = now_ns();
            int written = write_all(go[1], "go", 2);
            struct pollfd watched = {.fd = pidfd, .events = POLLIN};
            int polled;
            while ((polled = poll(&watched, 1, 10000)) < 0 && errno == EINTR) {
            }
            int status = written == 0 && polled == 1 ? reap(pid) : -1;
            int64_t end = now_ns();
            if (status >= 0) {
                result = WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV ? end - start : -ECHILD;
                pid = 0;
            } else {
                result = -ETIMEDOUT;
            }
        }
        if (pidfd >= 0) close(pidfd);
        abandon(pid);
    }
    close(ready[0]);
    close(go[1]);
    return result;
}

int measure_fault(int64_t *samples, int count) {
    for (int i = 0; i < count; i++) {
        int64_t sample = fault_once();
        if (sample < 0) return (int)-sample;
        samples[i] = sample;
    }
    return 0;
}

static sigjmp_buf fault_return;
static volatile sig_atomic_t faults_caught;

static void fault_handler(int signal_number) {
    (void)signal_number;
    faults_caught++;
    siglongjmp(fault_return, 1);
}

int measure_longjmp(int64_t *samples, int count) {
    struct sigaction action, previous;
    memset(&action, 0, sizeof action);
    action.sa_handler = fault_handler;
    action.sa_flags = SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSEGV, &action, &previous) != 0) return errno;
    faults_caught = 0;
    for (int i = 0; i < count; i++) {
        volatile int64_t start = now_ns();
        if (sigsetjmp(fault_return, 0) == 0) write_through_null();
        samples[i] = now_ns() - start;
    }
    sigaction(SIGSEGV, &previous, NULL);
    return faults_caught == count ? 0 : EPROTO;
}
