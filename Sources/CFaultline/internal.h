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

/* process.c: the one set-up of every process Faultline starts (forked call,
   pool worker, helper), async-signal-safe: dies with its parent (SIGKILL,
   PR_SET_PDEATHSIG, and _exit(127) if the parent is already not
   `expected_parent`), its own process group when `own_group`, no core dumps,
   stdout pointed at stderr, SIGINT/SIGTERM/SIGPIPE/SIGCHLD/SIGUSR1 at their
   default action. */
void fl_child_setup(pid_t expected_parent, int own_group);

/* io.c: EINTR-safe I/O, async-signal-safe (see the top of io.c). */
#define FL_IO_MAX_FDS 3
/* Sends / receives exactly `size` bytes on a stream socket. 0, or -1 with errno (EPIPE on end of file). */
int fl_send_all(int fd, const void *data, size_t size);
int fl_recv_all(int fd, void *data, size_t size);
/* One packet with up to FL_IO_MAX_FDS descriptors (SCM_RIGHTS). 0 or -1 with errno. */
int fl_send_packet(int fd, const void *data, size_t size, const int *fds, int fd_count);
/* Receives one packet (received descriptors are close-on-exec); returns recvmsg's result. */
ssize_t fl_receive_packet(int fd, void *data, size_t size, int *fds, int *fd_count, int flags);
/* waitpid, retried on EINTR (`status` may be NULL). */
pid_t fl_wait_pid(pid_t pid, int *status, int flags);
/* Waits until `fd` is readable: 1; the deadline (fl_now_ns, < 0: none) passed: 0; poll failed: -1. */
int fl_poll_until(int fd, int64_t deadline_ns);

/* Registers, once and in the parent, the on_exit handler that turns a
   callee's exit(n) in a forked child into _exit(n). Call before fork(). */
void fl_child_exit_hook(void);

/* process.c: 64 random bits for a worker's secret (getrandom; the clock when it has none). Not for handlers. */
uint64_t fl_new_secret(void);
/* process.c: kills and reaps every child of this process, adopted orphans included, generation by
   generation (for the helper, a subreaper, as it shuts down). Not for handlers. */
void fl_kill_children(void);

#endif
