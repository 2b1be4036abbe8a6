/*
 * hostile_slow.c: hostile victims whose innocent inputs are slow, for the
 * behaviours that strike later (experiment 10). A negative r triggers the
 * behaviour of the hostile.c victim of the same name and returns -r at once;
 * a positive r sleeps r milliseconds and returns r, so that the process that
 * ran the hostile call is still busy with innocent calls when the alarm, the
 * late thread or the late child strikes; 0 returns 0.
 *
 * Limits: Linux with glibc; the sleep is nanosleep, restarted on EINTR.
 */

#include "FaultlineVictims.h"

#include <errno.h>
#include <time.h>

/* Sleeps r milliseconds (r > 0) and returns r. */
static int sleep_then_return(int r) {
    struct timespec left = {r / 1000, (long)(r % 1000) * 1000 * 1000};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
    return r;
}

int fl_alarm_then_slow(int r) {
    if (r < 0) return fl_alarm(r);
    return r > 0 ? sleep_then_return(r) : 0;
}

int fl_thread_faults_later_then_slow(int r) {
    if (r < 0) return fl_thread_faults_later(r);
    return r > 0 ? sleep_then_return(r) : 0;
}

int fl_child_crashes_later_then_slow(int r) {
    if (r < 0) return fl_child_crashes_later(r);
    return r > 0 ? sleep_then_return(r) : 0;
}
