/*
 * fork_classify.c: the parent's reading of a forked call: its page, checked,
 * and waitpid's status, turned into one report (the table at the top of
 * fork_call.c). Only the parent runs this, after the child's death; never in
 * a handler.
 */
#include "fork_internal.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

/* What the parent found in the page. */
enum record_state { RECORD_EMPTY, RECORD_VALID, RECORD_INVALID };

/* Reads the page once into `found` (and the result record into `result`),
   then checks the copy: a process still writing into the page afterwards
   cannot change what was checked. */
static enum record_state read_record(const fl_call_page *page, const fork_job *job, uint64_t secret,
                                     fl_call_page *found, uint8_t *result) {
    memcpy(found, page, sizeof *found);
    const fl_report *record = &found->record;
    if (found->check == 0 && record->kind == 0) {
        return RECORD_EMPTY;
    }
    uint64_t expected;
    switch (record->kind) {
    case FL_KIND_SIGNALED:
    case FL_KIND_VIOLATION:
        expected = fl_record_check(fl_derive(secret, FL_TAG_SIGNAL), record, NULL, 0);
        break;
    case FL_KIND_RETURNED:
    case FL_KIND_CORRUPTED: {
        uint64_t size = job->signature ? job->result_size : 0;
        if (size > 0) memcpy(result, (const uint8_t *)page + FL_CALL_PAGE_RESULT, size);
        expected = fl_record_check(fl_derive(secret, FL_TAG_RETURN), record, result, size);
        break;
    }
    case FL_KIND_INIT_FAILED:
    case FL_KIND_NONE:
        expected = fl_record_check(fl_derive(secret, FL_TAG_RETURN), record, NULL, 0);
        break;
    default:
        return RECORD_INVALID;
    }
    return found->check == expected ? RECORD_VALID : RECORD_INVALID;
}

/* A CORRUPTED report that keeps what the child recorded about the call's return. */
static void corrupted(fl_report *report, const fl_report *returned, uint32_t flags) {
    report->kind = FL_KIND_CORRUPTED;
    report->flags |= flags;
    if (returned != NULL) {
        report->flags |= FL_CORRUPT_RETURNED | (returned->kind == FL_KIND_CORRUPTED ? returned->flags : 0);
        report->value = returned->value;
    }
}

/* The table at the top of the file. `status` is waitpid's. Returns 0, or
   FL_SIGNATURE_MALFORMED when the child found the argument record malformed. */
int fl_fork_classify(const fl_call_page *page, const fork_job *job, uint64_t secret, int status, int timed_out,
                    fl_report *report, uint8_t *result) {
    fl_call_page found;
    enum record_state state = read_record(page, job, secret, &found, result);
    const fl_report *record = &found.record;
    int canary_ok = found.canary == fl_derive(secret, FL_TAG_PAGE);
    int valid = state == RECORD_VALID;
    int returned = valid && (record->kind == FL_KIND_RETURNED || record->kind == FL_KIND_CORRUPTED);
    int fault_record = valid && (record->kind == FL_KIND_SIGNALED || record->kind == FL_KIND_VIOLATION);
    /* With an initializer: did the process die inside it? Unknowable when the page was overwritten. */
    enum { IN_CALL, IN_INIT, UNKNOWN } phase = IN_CALL;
    if (job->init != NULL && !(valid && !fault_record)) {
        if (!canary_ok) {
            phase = UNKNOWN;
        } else if (found.init_done != fl_derive(secret, FL_TAG_INIT)) {
            phase = IN_INIT;
        }
    }
    if (!returned && (job->signature != NULL)) memset(result, 0, job->result_size);

    if (valid && record->kind == FL_KIND_NONE) return record->value < 0 ? record->value : FL_SIGNATURE_MALFORMED;
    if (valid && record->kind == FL_KIND_INIT_FAILED) {
        report->kind = FL_KIND_INIT_FAILED;
        report->flags = FL_INIT_RETURNED;
        report->value = record->value;
        return 0;
    }
    if (timed_out) {
        if (phase == IN_INIT) {
            report->kind = FL_KIND_INIT_FAILED;
            report->flags = FL_INIT_TIMED_OUT;
        } else {
            report->kind = FL_KIND_TIMED_OUT;
        }
        return 0;
    }
    if (WIFSIGNALED(status)) {
        int signo = WTERMSIG(status);
        if (phase == UNKNOWN) {
            corrupted(report, NULL, FL_CORRUPT_PAGE | FL_CORRUPT_SIGNALED);
            report->signo = signo;
        } else if (fault_record && record->signo == signo) {
            memcpy(report, record, FL_REPORT_SIZE(record->frame_count <= FL_MAX_FRAMES ? record->frame_count : 0));
            if (record->frame_count > FL_MAX_FRAMES) report->frame_count = 0;
            if (phase == IN_INIT) {
                report->kind = FL_KIND_INIT_FAILED;
                report->flags |= FL_INIT_SIGNALED;
            }
        } else if (returned) {
            corrupted(report, record, FL_CORRUPT_SIGNALED);
            report->signo = signo;
        } else {
            report->kind = phase == IN_INIT ? FL_KIND_INIT_FAILED : FL_KIND_SIGNALED;
            report->flags = phase == IN_INIT ? FL_INIT_SIGNALED : 0;
            report->signo = signo;
            /* Sandboxed, SIGSYS without a report: the kernel killed a denied call made with SIGSYS blocked. */
            if (job->sandbox != NULL && signo == SIGSYS && phase == IN_CALL) {
                report->kind = FL_KIND_VIOLATION;
                report->syscall_nr = -1;
            }
        }
        return 0;
    }
    if (!WIFEXITED(status)) return -ECHILD; /* stopped or continued: waitpid(0) never says so */
    int code = WEXITSTATUS(status);
    if (returned) {
        if (code == 0 && record->kind == FL_KIND_RETURNED) {
            report->kind = FL_KIND_RETURNED;
            report->value = record->value;
        } else {
            corrupted(report, record, code == 0 ? 0 : FL_CORRUPT_EXITED);
            report->code = code;
        }
    } else if (fault_record) {
        corrupted(report, NULL, FL_CORRUPT_FAULT_REPORT | FL_CORRUPT_EXITED);
        report->signo = record->signo;
        report->code = code;
    } else if (phase == UNKNOWN) {
        corrupted(report, NULL, FL_CORRUPT_PAGE | FL_CORRUPT_EXITED | (state == RECORD_INVALID ? FL_CORRUPT_CHECK : 0));
        report->code = code;
    } else if (phase == IN_INIT) {
        report->kind = FL_KIND_INIT_FAILED;
        report->flags = FL_INIT_EXITED;
        report->value = code;
    } else if (code == 0 && (state == RECORD_INVALID || !canary_ok)) {
        /* The child's own path exits 0 after a record: with the record gone, a
           return and a callee's exit(0) look alike. */
        corrupted(report, NULL, FL_CORRUPT_EXITED | (state == RECORD_INVALID ? FL_CORRUPT_CHECK : 0) |
                                    (canary_ok ? 0 : FL_CORRUPT_PAGE));
        report->code = 0;
    } else {
        report->kind = FL_KIND_EXITED;
        report->value = code;
    }
    return 0;
}

