/*
 * pool_blame.c: what a worker's death means for the batch it was running.
 *
 * A pure function of what the channel says (how many calls started and
 * finished, the report the fault handler wrote) and of how the worker ended
 * (its wait status, or the supervisor's own deadline kill): no I/O, no
 * state, so it is unit-tested directly (Tests/FaultlineTests/BlameTests).
 *
 *   finished calls          returned; their values are in the channel
 *   the call in flight      (started == finished + 1) failed: TIMED_OUT when
 *                           the deadline killed it, SIGNALED with the handler's
 *                           report when its signal matches, else the bare
 *                           signal, else EXITED with the exit status
 *   the rest                go back to the front of the queue
 *
 * Limits: a worker that dies between two calls (a thread an earlier call left
 * behind) blames nobody: its unstarted calls are simply requeued. Not for
 * signal handlers (it is never called in one).
 */
#include "internal.h"

#include <string.h>
#include <sys/wait.h>

void fl_blame_death(const fl_blame_input *input, fl_blame *blame) {
    memset(blame, 0, sizeof *blame);
    uint32_t finished = input->finished > input->count ? input->count : input->finished;
    blame->returned = finished;
    blame->requeue_from = finished;
    if (input->started != finished + 1 || finished >= input->count) return;
    fl_report *report = &blame->report;
    int status = input->wait_status;
    if (input->killed_for_deadline) {
        report->kind = FL_KIND_TIMED_OUT;
        report->elapsed_ns = input->elapsed_ns;
    } else if (WIFSIGNALED(status)) {
        const fl_report *crash = input->crash;
        if (crash && crash->kind == FL_KIND_SIGNALED && crash->signo == WTERMSIG(status)) {
            memcpy(report, crash, sizeof *report);
        } else {
            report->kind = FL_KIND_SIGNALED;
            report->signo = WTERMSIG(status);
        }
    } else {
        report->kind = FL_KIND_EXITED;
        report->value = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    blame->blamed = 1;
    blame->requeue_from = finished + 1;
}
