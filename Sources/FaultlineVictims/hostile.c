/*
 * hostile.c: victims that misbehave the way buggy C and C++ really does, aimed
 * at the machinery around them: they corrupt their process's memory, write
 * into its descriptors, kill or stop their parent and process group, leave
 * children, threads and alarms behind, or exit their thread.
 *
 * Each takes r; a negative r triggers the behaviour and every other r
 * returns r unchanged, so that tests can mix innocent and hostile inputs.
 * After the behaviour the function returns -r (unless it died).
 *
 * Limits: Linux with glibc. The scribblers use only system calls and byte
 * loops after the first write: libc's own data is part of what they destroy.
 */

#include "FaultlineVictims.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static volatile int *volatile nowhere = 0;

static NOINLINE void hostile_null_write(int value) { *nowhere = value; }

/* Writable mappings of this process, read from /proc/self/maps into the
   caller's stack: [start, end) pairs, flagged shared or not. */
typedef struct { uintptr_t start, end; int shared; } region;

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int writable_regions(region *out, int capacity) {
    char text[65536];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, text + used, sizeof text - 1 - used);
        if (n <= 0) break;
        used += (size_t)n;
        if (used >= sizeof text - 1) break;
    }
    close(fd);
    text[used] = '\0';
    int count = 0;
    char *line = text;
    while (*line && count < capacity) {
        uintptr_t start = 0, end = 0;
        char *p = line;
        int d;
        while ((d = hex_value(*p)) >= 0) start = start * 16 + (uintptr_t)d, p++;
        if (*p == '-') p++;
        while ((d = hex_value(*p)) >= 0) end = end * 16 + (uintptr_t)d, p++;
        while (*p == ' ') p++;
        int writable = p[0] && p[1] == 'w';
        int shared = p[0] && p[1] && p[2] && p[3] == 's';
        char *eol = strchr(line, '\n');
        size_t length = eol ? (size_t)(eol - line) : strlen(line);
        int is_stack = memmem(line, length, "[stack]", 7) != NULL;
        int is_vsyscall = memmem(line, length, "[vsyscall]", 10) != NULL || memmem(line, length, "[vvar]", 6) != NULL;
        /* fl_bus_error's page maps an empty file: writing it raises SIGBUS, which would end
           the scribble before it is done. Real scribblers meet such pages rarely; these skip it. */
        int is_bus_page = memmem(line, length, "faultline-bus", 13) != NULL;
        if (writable && !is_vsyscall && !is_stack && !is_bus_page) {
            out[count].start = start;
            out[count].end = end;
            out[count].shared = shared;
            count++;
        }
        if (!eol) break;
        line = eol + 1;
    }
    return count;
}

/* Fills the writable mappings (only the shared ones when `shared_only`) with
   garbage, skipping the mapping that holds the current stack. No libc call
   after the first byte written. */
static NOINLINE void scribble(int shared_only) {
    region regions[512];
    int count = writable_regions(regions, 512);
    uintptr_t here = (uintptr_t)&count;
    uint32_t state = 0x9e3779b9u;
    for (int i = 0; i < count; i++) {
        if (shared_only && !regions[i].shared) continue;
        if (here >= regions[i].start && here < regions[i].end) continue;
        for (volatile uint8_t *byte = (volatile uint8_t *)regions[i].start; (uintptr_t)byte < regions[i].end; byte++) {
            state = state * 1664525u + 1013904223u;
            *byte = (uint8_t)(state >> 24);
        }
    }
}

int fl_scribble_shared(int r) {
    if (r >= 0) return r;
    scribble(1);
    return -r;
}

int fl_scribble_shared_then_fault(int r) {
    if (r >= 0) return r;
    scribble(1);
    hostile_null_write(r);
    return -r;
}

int fl_scribble_private(int r) {
    if (r >= 0) return r;
    scribble(0);
    return -r;
}

int fl_write_into_sockets(int r) {
    if (r >= 0) return r;
    static const char garbage[16] = "\x01\x00\x00\x00\x02\x00\x00\x00\xff\xff\xff\xff\x07\x00\x00\x00";
    for (int fd = 0; fd < 1024; fd++) {
        struct stat info;
        if (fstat(fd, &info) == 0 && S_ISSOCK(info.st_mode)) {
            send(fd, garbage, sizeof garbage, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
    }
    return -r;
}

int fl_write_every_descriptor(int r) {
    if (r >= 0) return r;
    signal(SIGPIPE, SIG_IGN); /* a pipe nobody reads is one more descriptor to try */
    static const char garbage[] = "GARBAGE from the callee\n";
    for (int fd = 0; fd < 1024; fd++) {
        if (fd != STDERR_FILENO) (void)!write(fd, garbage, sizeof garbage - 1);
    }
    return -r;
}

int fl_read_standard_input(int r) {
    char buffer[4096];
    ssize_t got = read(STDIN_FILENO, buffer, sizeof buffer);
    return got < 0 ? -1 : (int)got + (r > 0 ? r : 0);
}

int fl_kill_parent(int r) {
    if (r >= 0) return r;
    kill(getppid(), SIGKILL);
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    return -r;
}

int fl_kill_group_term(int r) {
    if (r >= 0) return r;
    kill(0, SIGTERM);
    return -r;
}

int fl_kill_group_kill(int r) {
    if (r >= 0) return r;
    kill(0, SIGKILL);
    return -r;
}

int fl_stop_group(int r) {
    if (r >= 0) return r;
    kill(0, SIGSTOP);
    return -r;
}

int fl_child_segfaults(int r) {
    if (r >= 0) return r;
    pid_t child = fork();
    if (child == 0) {
        hostile_null_write(r);
        _exit(0);
    }
    if (child > 0) {
        while (waitpid(child, NULL, 0) < 0) {
        }
    }
    return -r;
}

int fl_child_crashes_later(int r) {
    if (r >= 0) return r;
    pid_t child = fork();
    if (child == 0) {
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
        hostile_null_write(r);
        _exit(0);
    }
    return -r;
}

int fl_pthread_exit(int r) {
    if (r >= 0) return r;
    pthread_exit(NULL);
}

int fl_daemon(int r) {
    if (r >= 0) return r;
    pid_t first = fork();
    if (first == 0) {
        if (fork() == 0) {
            setsid();
            prctl(PR_SET_NAME, "fl-daemon");
            for (;;) pause();
        }
        _exit(0);
    }
    if (first > 0) {
        while (waitpid(first, NULL, 0) < 0) {
        }
    }
    return -r;
}

int fl_alarm(int r) {
    if (r >= 0) return r;
    alarm(1);
    return -r;
}

static void *fault_later(void *unused) {
    (void)unused;
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    hostile_null_write(1);
    return NULL;
}

int fl_thread_faults_later(int r) {
    if (r >= 0) return r;
    pthread_t thread;
    if (pthread_create(&thread, NULL, fault_later, NULL) == 0) pthread_detach(thread);
    return -r;
}

/* Recursion without end in small frames, each written (a return address and
   a local): whatever memory it runs through is overwritten word by word. */
static NOINLINE int recurse_without_end(int depth) {
    volatile int here = depth;
    return recurse_without_end(depth + 1) + here;
}

static void overflowing_handler(int signo) { recurse_without_end(signo); }

/* A SIGUSR1 handler of the callee's own, on the alternate signal stack in
   force (SA_ONSTACK: Faultline's), that recurses without end, then SIGUSR1.
   Below an alternate stack without a guard page the recursion runs on
   through whatever memory lies there. */
int fl_altstack_overflow(int r) {
    if (r >= 0) return r;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = overflowing_handler;
    action.sa_flags = SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    return -r;
}

/* A fault two frames below a function whose name is 1,000 characters long,
   as C++ template instantiations often are. */
NOINLINE int fl_long_named_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiati(int r) {
    hostile_null_write(r);
    return r;
}

int fl_fault_in_long_name(int r) {
    if (r >= 0) return r;
    return fl_long_named_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiation_template_instantiati(r) + 1;
}

/* State left for later calls, then slow innocent calls that it hits:
   r == -1: alarm(1), returns 1; r == -2: a thread that writes through NULL
   300 ms later, returns 2; r > 0: sleeps r milliseconds, returns r. */
int fl_leave_state_then_sleep(int r) {
    if (r == -1) {
        alarm(1);
        return 1;
    }
    if (r == -2) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, fault_later, NULL) == 0) pthread_detach(thread);
        return 2;
    }
    struct timespec pause = {r / 1000, (long)(r % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    return r;
}
