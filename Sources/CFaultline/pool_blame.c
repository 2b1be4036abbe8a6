/*
 * pool_blame.c: what a worker's death means for the batch it was running.
 *
 * A pure function of what could be verified (which records passed their
 * keyed check, whether a crash record or a "begun" mark is genuine) and of
 * how the worker ended: no I/O, no state, so it is unit-tested directly
 * (Tests/FaultlineTests/BlameTests).
 *
 *   genuine records           RECORDED (returned, or corrupted as the worker saw it)
 *   the call that died        BLAMED, only when certain: a genuine crash record
 *                             naming it and the same signal in the wait status;
 *                             a genuine begun mark naming it when the deadline
 *                             killed the worker; or the call in flight the
 *                             `started` mark names, when every record before
 *                             it is genuine and none after it exists
 *   destroyed records, and    SUSPECT: run again alone, in a fresh worker
 *   an unattributable death
 *   calls never started       REQUEUE
 *
 * A suspect run alone (`lone`) that still cannot be judged is CORRUPTED: no
 * outcome is ever guessed. A worker that dies between calls blames nobody.
 *
 * Not for signal handlers (it is never called in one).
 */
#include "internal.h"

#include <string.h>
#include <sys/wait.h>

static void corrupted(fl_report *report, int code) {
    memset(report, 0, sizeof *report);
    report->kind = FL_KIND_CORRUPTED;
    report->code = code;
}

void fl_blame_death(const fl_blame_input *input, uint8_t *verdicts, fl_blame *blame) {
    memset(blame, 0, sizeof *blame);
    blame->blamed = -1;
    uint32_t count = input->count;
    int64_t last_valid = -1;
    int64_t first_invalid = count;
    for (uint32_t i = 0; i < count; i++) {
        if (input->valid[i]) {
            last_valid = i;
        } else if (first_invalid == count) {
            first_invalid = i;
        }
    }
    /* Records after a missing one: the missing one was destroyed, not unwritten. */
    int anomaly = last_valid > first_invalid;
    int status = input->wait_status;
    fl_report *report = &blame->report;
    int64_t blamed = -1;
    if (input->helper_lost) {
        /* No wait status: nothing is certain, except for a lone call, which killed the helper. */
        if (input->lone && first_invalid < count) {
            blamed = first_invalid;
            corrupted(report, FL_CORRUPTION_HELPER_KILLED);
        }
    } else if (input->crash_index >= 0 && input->crash_index < count && !input->valid[input->crash_index] &&
               input->crash && WIFSIGNALED(status) && input->crash->signo == WTERMSIG(status)) {
        blamed = input->crash_index;
        memcpy(report, input->crash, sizeof *report);
    } else if (input->killed_for_deadline) {
        if (!anomaly && input->begun_index == first_invalid && first_invalid < count) {
            blamed = first_invalid;
            report->kind = FL_KIND_TIMED_OUT;
            report->elapsed_ns = input->elapsed_ns;
        }
    } else if (!input->killed_as_corrupt && !anomaly && first_invalid < count && input->started == first_invalid + 1) {
        blamed = first_invalid;
        if (WIFSIGNALED(status)) {
            report->kind = FL_KIND_SIGNALED;
            report->signo = WTERMSIG(status);
        } else {
            report->kind = FL_KIND_EXITED;
            report->value = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
    }
    /* A worker that died between calls (started == first_invalid) blames nobody:
       the unstarted calls go back to the queue. Anything else unexplained is suspect. */
    int between_calls = !anomaly && !input->helper_lost && !input->killed_as_corrupt && !input->killed_for_deadline &&
                        input->started == first_invalid;
    /* When records were destroyed, every unresolved call up to the one the mark
       says was in flight may have run: all of them are suspects. */
    int64_t horizon = last_valid;
    if (anomaly && input->started >= 1) {
        int64_t in_flight = (int64_t)(input->started > count ? count : input->started) - 1;
        if (in_flight > horizon) horizon = in_flight;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (input->valid[i]) {
            verdicts[i] = FL_VERDICT_RECORDED;
        } else if ((int64_t)i == blamed) {
            verdicts[i] = FL_VERDICT_BLAMED;
        } else if ((int64_t)i <= horizon || ((int64_t)i == first_invalid && !between_calls)) {
            verdicts[i] = FL_VERDICT_SUSPECT;
        } else {
            verdicts[i] = FL_VERDICT_REQUEUE;
        }
    }
    /* Alone in a fresh worker, a suspect that still cannot be judged has no other run to wait for. */
    if (input->lone && count == 1 && verdicts[0] == FL_VERDICT_SUSPECT) {
        verdicts[0] = FL_VERDICT_BLAMED;
        blamed = 0;
        corrupted(report, FL_CORRUPTION_RECORDS_OVERWRITTEN);
        if (!input->helper_lost && WIFSIGNALED(status)) report->signo = WTERMSIG(status);
    }
    blame->blamed = blamed;
}
