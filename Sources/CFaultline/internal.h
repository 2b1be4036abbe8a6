/* Declarations shared between CFaultline's C files; not part of the API. */
#ifndef CFAULTLINE_INTERNAL_H
#define CFAULTLINE_INTERNAL_H

#include "include/CFaultline.h"
#include <signal.h>
#include <stdatomic.h>

#define FL_TLS __thread __attribute__((tls_model("initial-exec")))
#define FL_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Size of the report with only the header (no frames) and with n frames. */
#define FL_REPORT_SIZE(n) (offsetof(fl_report, frames) + (size_t)(n) * sizeof(uint64_t))

/* fault_report.c, all async-signal-safe: */
/* Fills signo/code/address of `report` from a siginfo. */
void fl_report_fill_signal(fl_report *report, int signo, const siginfo_t *info);
/* Fills the report and its frames (a libunwind walk with FL_CAPTURE_BACKTRACE, else the faulting pc). */
void fl_report_capture(fl_report *report, int signo, const siginfo_t *info, void *context, int options);
/* Puts back SIG_DFL for signo. */
void fl_set_default_action(int signo);
/* Default action, unblocked, raised: the process dies of signo. */
void fl_die_of_signal(int signo) __attribute__((noreturn));
/* For a process that reports its fault and dies (forked child, pool worker): `handler` on
   the given alternate stack for every fault signal, and an empty signal mask. */
void fl_install_fault_reporter(void (*handler)(int, siginfo_t *, void *), void *stack, size_t stack_size);

/* Where a forked child leaves its result: a MAP_SHARED page that the callee
   cannot close (a pipe descriptor it could). `state` is written last. */
typedef struct fl_shared_result {
    _Atomic uint32_t claimed; /* the first faulting thread takes it */
    _Atomic uint32_t state;   /* 0 nothing, FL_KIND_RETURNED or FL_KIND_SIGNALED */
    fl_report report;
} fl_shared_result;

/* child.c: prepares a freshly forked child to call a callee (async-signal-safe;
   see the top of child.c); its result and fault report go to `result`. */
void fl_child_prepare_shared(pid_t expected_parent, fl_shared_result *result, int options);

/* Registers, once and in the parent, the on_exit handler that turns a
   callee's exit(n) in a forked child into _exit(n). Call before fork(). */
void fl_child_exit_hook(void);

#endif
