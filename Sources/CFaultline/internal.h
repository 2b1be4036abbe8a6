/* Declarations shared between CFaultline's C files; not part of the API. */
#ifndef CFAULTLINE_INTERNAL_H
#define CFAULTLINE_INTERNAL_H

#include "include/CFaultline.h"
#include <signal.h>

#define FL_TLS __thread __attribute__((tls_model("initial-exec")))
#define FL_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Size of the report with only the header (no frames) and with n frames. */
#define FL_REPORT_SIZE(n) (offsetof(fl_report, frames) + (size_t)(n) * sizeof(uint64_t))

/* Fills signo/code/address of `report` from a siginfo. Async-signal-safe. */
void fl_report_fill_signal(fl_report *report, int signo, const siginfo_t *info);

/* Registers, once and in the parent, the on_exit handler that turns a
   callee's exit(n) in a forked child into _exit(n). Call before fork(). */
void fl_child_exit_hook(void);

#endif
