/*
 * fork_internal.h: what fork_call.c (the fork and the child) and
 * fork_classify.c (the parent's verdict) share. Internal.
 */
#ifndef CFAULTLINE_FORK_INTERNAL_H
#define CFAULTLINE_FORK_INTERNAL_H

#include "internal.h"
#include "sandbox.h"

/* What the child is to do: an `int f(int)` or a signature call, and an initializer. */
typedef struct fork_job {
    fl_function int_function;
    int input;
    const fl_signature *signature; /* NULL for int_function */
    void *function;
    const uint8_t *arguments;
    size_t arguments_size;
    fl_init_function init;
    uint64_t result_size; /* bytes of the result record; 0 for int_function */
    const struct fl_sandbox *sandbox; /* applied in the child before the call; NULL: none */
} fork_job;

/* fork_classify.c: the report of the call that `job` was, from its page
   (checked under `secret`) and waitpid's `status`; 0, or a negative errno. */
int fl_fork_classify(const fl_call_page *page, const fork_job *job, uint64_t secret, int status, int timed_out,
                    fl_report *report, uint8_t *result);

#endif
