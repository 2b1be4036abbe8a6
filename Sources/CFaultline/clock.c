/*
 * clock.c: the one clock of Faultline: CLOCK_MONOTONIC in nanoseconds.
 *
 * Used by forked calls (elapsed time, deadlines), pool workers (when a call
 * started), the supervisor (deadlines) and Swift (ChildProcess, progress).
 * clock_gettime is async-signal-safe, so this is safe between fork() and
 * _exit() and in handlers.
 *
 * Limits: monotonic, not wall-clock; stops while the machine is suspended.
 */
#include "include/CFaultline.h"

#include <time.h>

int64_t fl_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}
