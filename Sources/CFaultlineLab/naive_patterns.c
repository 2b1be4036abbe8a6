/*
 * naive_patterns.c: the naive fault "handling" that the experiments show failing.
 * Nothing in the library uses it; experiment 03 does, to measure the failure.
 *
 * fl_naive_install_returning_handler() installs a handler for SIGSEGV and
 * SIGBUS that counts its invocations and returns. For a fault raised by the
 * hardware, returning resumes the thread at the faulting instruction, which
 * faults again: the thread spins through the handler forever, at full CPU,
 * without making progress. That is exactly what experiment 03 demonstrates.
 *
 * Async-signal-safety: the handler does one lock-free atomic increment.
 *
 * Limits: process-wide (sigaction), not undone; a fault sent with kill() or
 * raise() would return normally instead of spinning; the counter wraps after
 * 2^64 invocations.
 */
#include "CFaultlineLab.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static volatile uint64_t returning_handler_count;

static void count_and_return(int signo, siginfo_t *info, void *context) {
    (void)signo;
    (void)info;
    (void)context;
    __atomic_fetch_add(&returning_handler_count, 1, __ATOMIC_RELAXED);
}

int fl_naive_install_returning_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = count_and_return;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSEGV, &action, NULL) != 0) return errno;
    if (sigaction(SIGBUS, &action, NULL) != 0) return errno;
    return 0;
}

uint64_t fl_naive_handler_count(void) {
    return __atomic_load_n(&returning_handler_count, __ATOMIC_RELAXED);
}
