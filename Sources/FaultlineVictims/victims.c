/*
 * The victim zoo. Each function misbehaves in exactly one way.
 * Limits: x86_64 and aarch64 Linux with glibc; fl_breakpoint and
 * fl_illegal_instruction use one instruction of the target architecture.
 */
#include "FaultlineVictims.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* A pointer the optimizer cannot see through. */
static volatile int *volatile null_pointer = 0;
static volatile int zero = 0;

static NOINLINE void write_through_null(int value) {
    *null_pointer = value;
}

int raise_a_fault(int r) {
    printf("r is %d\n", r);
    fflush(stdout);
    if (r > 3) {
        write_through_null(0x1337D00D);
    }
    return r;
}

int fl_identity(int r) { return r; }

int fl_null_write(int r) {
    write_through_null(r);
    return r;
}

static char *bus_page;
static void make_bus_page(void) {
    int fd = memfd_create("faultline-bus", MFD_CLOEXEC);
    if (fd < 0) return;
    /* The file stays empty: touching the mapping raises SIGBUS. */
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p != MAP_FAILED) bus_page = p;
}

int fl_bus_error(int r) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_bus_page);
    if (bus_page == NULL) abort();
    volatile char *page = bus_page;
    return page[r & 63] + r;
}

int fl_divide_by_zero(int r) { return r / zero; }

int fl_illegal_instruction(int r) {
    __builtin_trap();
    return r;
}

int fl_breakpoint(int r) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("int3");
#elif defined(__aarch64__)
    __asm__ volatile("brk #0");
#else
    raise(SIGTRAP);
#endif
    return r;
}

int fl_abort(int r) {
    abort();
    return r;
}

static NOINLINE int recurse(volatile int depth) {
    volatile char frame[512];
    frame[depth & 511] = (char)depth;
    return recurse(depth + 1) + frame[(depth * 7) & 511];
}

int fl_stack_overflow(int r) { return recurse(r); }

static NOINLINE int use_stack(volatile int kib) {
    volatile char frame[1024];
    frame[kib & 1023] = (char)kib;
    if (kib <= 1) return 1;
    return use_stack(kib - 1) + (frame[kib & 1023] == (char)kib ? 1 : 0);
}

int fl_stack_use(int kib) { return kib > 0 ? use_stack(kib) : 0; }

static void *thread_that_faults(void *arg) {
    write_through_null((int)(long)arg);
    return NULL;
}

int fl_fault_in_thread(int r) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_that_faults, (void *)(long)r) != 0) return -1;
    pthread_join(thread, NULL);
    return r;
}

int fl_exit(int r) { exit(r); }

int fl_exit_zero(int r) {
    (void)r;
    exit(0);
}

int fl_infinite_loop(int r) {
    volatile int spin = 1;
    while (spin) {
    }
    return r;
}

int fl_slow(int r) {
    usleep((useconds_t)(r > 0 ? r : 0) * 1000u);
    return r;
}

int fl_double_free(int r) {
    char *volatile block = malloc(32);
    free(block);
    free(block);
    return r;
}

int fl_raise_segv(int r) {
    raise(SIGSEGV);
    return r;
}

int fl_fault_with_segv_blocked(int r) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    write_through_null(r);
    return r;
}

int fl_noisy(int r) {
    printf("noisy: stdout line for %d {\"not\":\"json\"}\n", r);
    fflush(stdout);
    fprintf(stderr, "noisy: stderr line for %d\n", r);
    return r;
}

static pthread_mutex_t library_lock = PTHREAD_MUTEX_INITIALIZER;

int fl_fault_holding_lock(int r) {
    pthread_mutex_lock(&library_lock);
    if (r > 0) write_through_null(r);
    pthread_mutex_unlock(&library_lock);
    return r;
}

int fl_locked_identity(int r) {
    pthread_mutex_lock(&library_lock);
    pthread_mutex_unlock(&library_lock);
    return r;
}

int fl_leak_then_fault(int r) {
    size_t bytes = (size_t)(r > 0 ? r : 1) * 1024u;
    char *volatile block = malloc(bytes);
    if (block) for (size_t i = 0; i < bytes; i += 4096) block[i] = 1;
    volatile int fd = open("/dev/null", O_RDONLY);
    (void)fd;
    write_through_null(r);
    free(block);
    return r;
}

static volatile int resources_in_use = 0;

int fl_cleanup_skipped(int r) {
    resources_in_use = resources_in_use + 1;
    if (r > 0) write_through_null(r);
    resources_in_use = resources_in_use - 1;
    return r;
}

int fl_resources_in_use(int r) {
    (void)r;
    return resources_in_use;
}

int fl_mixed(int r) {
    switch (r) {
    case -1: return fl_null_write(r);
    case -2: return fl_divide_by_zero(r);
    case -3: return fl_illegal_instruction(r);
    case -4: return fl_abort(r);
    case -5: return fl_stack_overflow(r);
    case -6: return fl_bus_error(r);
    case -7: exit(7);
    default: return r;
    }
}
