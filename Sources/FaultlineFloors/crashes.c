/*
 * crashes.c: the floor of the pool's crash rate, fork_crash_unwind.
 *
 * What a pool worker's crash cannot cost less than, measured with no
 * Faultline code: this process loads what a worker has loaded (libffi,
 * libunwind by dlopen as backtrace.c does, the victims library), walks its
 * stack once (libunwind's lazy bindings and caches, as the helper's warm-up
 * does), then two forkers run in parallel (one per core of the 2-core
 * machines the targets are set for), each forking one child per crash: the
 * child calls fl_mixed(-1) of the victims library (a write through NULL),
 * its SIGSEGV handler, on an alternate stack, walks the stack once with
 * unw_backtrace and _exit()s with the number of frames it found; the forker
 * waitpid()s and checks that status. The figure is crashes per second: all
 * crashes of both forkers over the wall time from "go" to the last forker
 * done. Nothing is pinned; a loaded machine lowers it.
 *
 * Between fork() and _exit() the child runs the callee and the handler:
 * unw_backtrace (documented signal-safe by libunwind) and _exit only, each
 * bound before the fork (libunwind loaded RTLD_NOW, _exit through a pointer).
 *
 * Limits: without libunwind, libffi or the victims library the figure is an
 * error (ENOENT), not a floor without them.
 */
#include "floors.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { FRAMES = 64, ALTSTACK = 128 * 1024, EXPECTED_FRAMES = 3 };

static int (*unwind_backtrace)(void **, int);
static int (*victim)(int);
/* _exit through a pointer the loader fills at start-up: the child never binds a
   symbol lazily (a search through every loaded library, as the pool's helper
   avoids with fl_worker_bind_handler_calls). */
static void (*volatile const exit_now)(int) = _exit;

static void crash_handler(int signo, siginfo_t *info, void *context) {
    (void)signo;
    (void)info;
    (void)context;
    void *frames[FRAMES];
    int count = unwind_backtrace(frames, FRAMES);
    exit_now(count > 100 ? 100 : count);
}

/* Loads the libraries and walks once; 0 or an errno value (the reason on stderr). */
static int load(const char *library) {
    static const char *const libffi[] = {"libffi.so.8", "libffi.so"};
    static const char *const libunwind[] = {"libunwind.so.8", "libunwind.so"};
    void *ffi = NULL, *unwind = NULL;
    for (int i = 0; i < 2 && ffi == NULL; i++) ffi = dlopen(libffi[i], RTLD_NOW | RTLD_GLOBAL);
    for (int i = 0; i < 2 && unwind == NULL; i++) unwind = dlopen(libunwind[i], RTLD_NOW | RTLD_LOCAL);
    void *victims = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (unwind) unwind_backtrace = (int (*)(void **, int))dlsym(unwind, "unw_backtrace");
    if (victims) victim = (int (*)(int))dlsym(victims, "fl_mixed");
    if (!ffi || !unwind_backtrace || !victim) {
        const char *error = dlerror();
        fprintf(stderr, "faultline-floors: fork_crash_unwind: %s\n", error ? error : "no fl_mixed or unw_backtrace");
        return ENOENT;
    }
    void *frames[FRAMES];
    return unwind_backtrace(frames, FRAMES) > 0 ? 0 : ENOTSUP;
}

/* One forker: `crashes` children, one after the other; exits 0, or 1 on a wrong death. */
static void forker(pid_t parent, int go, int crashes) {
    follow_parent(parent);
    void *stack = mmap(NULL, ALTSTACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) _exit(1);
    stack_t alternate = {.ss_sp = stack, .ss_size = ALTSTACK, .ss_flags = 0};
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = crash_handler;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaltstack(&alternate, NULL) != 0 || sigaction(SIGSEGV, &action, NULL) != 0) _exit(1);
    char byte;
    if (read_all(go, &byte, 1) != 0) _exit(1);
    for (int i = 0; i < crashes; i++) {
        pid_t pid = fork();
        if (pid < 0) _exit(1);
        if (pid == 0) exit_now(victim(-1) == -1 ? 101 : 102); /* not reached: fl_mixed(-1) faults */
        int status = reap(pid);
        if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) < EXPECTED_FRAMES || WEXITSTATUS(status) > 100) _exit(1);
    }
    _exit(0);
}

int measure_crash_rate(const char *library, int crashes, double *per_second) {
    int error = load(library);
    if (error != 0) return error;
    int go[2];
    if (pipe(go) != 0) return errno;
    pid_t parent = getpid(), forkers[2] = {0, 0};
    int half = crashes / 2 > 0 ? crashes / 2 : 1;
    for (int f = 0; f < 2; f++) {
        forkers[f] = fork();
        if (forkers[f] == 0) {
            close(go[1]);
            forker(parent, go[0], half);
        }
        if (forkers[f] < 0) error = errno;
    }
    close(go[0]);
    int64_t start = now_ns();
    if (error == 0 && write_all(go[1], "gg", 2) != 0) error = EPIPE;
    close(go[1]);
    for (int f = 0; f < 2; f++) {
        if (forkers[f] <= 0) continue;
        current_child = forkers[f];
        int status = reap(forkers[f]);
        if (error == 0 && (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) error = ECHILD;
    }
    int64_t elapsed = now_ns() - start;
    if (error == 0) *per_second = elapsed > 0 ? (double)(2 * half) * 1e9 / (double)elapsed : 0;
    return error;
}
