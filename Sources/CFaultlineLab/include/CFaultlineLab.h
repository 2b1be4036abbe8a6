/*
 * CFaultlineLab: C code of the lab, never linked by a user of the library.
 *
 * The benchmark, the experiments and the tests need a little C of their own:
 * timing loops, a deliberately wrong fault handler, a probe that faults
 * outside the guard. None of it belongs in CFaultline, which holds only what
 * a program using Faultline runs. Everything here uses CFaultline's public
 * API only (CFaultline.h), never its internals:
 *
 *   floors.c          the floors of `faultline bench`: timing loops in C
 *   naive_patterns.c  the SIGSEGV handler that just returns (experiment 03)
 *   probe.c           test probes: a fault outside any guarded call
 */
#ifndef CFAULTLINE_LAB_H
#define CFAULTLINE_LAB_H

#include "CFaultline.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- floors.c: the floors of `faultline bench` ------------------------- */
/* Timing loops in C. Each returns the mean nanoseconds per operation over
   `iterations`, or a negative errno value when a system call failed. Where
   `samples` is not NULL it receives one duration per operation (nanoseconds). */

/** A plain call through a volatile function pointer. */
double fl_floor_plain_call_ns(fl_function function, int input, int64_t iterations);
/** sigsetjmp(env, 0) followed by the call: the guard's mechanism without its bookkeeping. */
double fl_floor_sigsetjmp_call_ns(fl_function function, int input, int64_t iterations);
/** fl_guard_call in a C loop: the guard's own cost, without any Swift around it. */
double fl_floor_guard_call_ns(fl_function function, int input, int options, int64_t iterations, int64_t *samples);
/** A caught fault and the siglongjmp back: fl_guard_call on a faulting callee
    (`options` FL_CAPTURE_BACKTRACE adds the libunwind walk). */
double fl_floor_fault_longjmp_ns(fl_function faulting, int input, int options, int64_t iterations, int64_t *samples);
/** fork(), the child calls _exit(0), the parent waitpid()s: the raw cost of a process per call. */
double fl_floor_fork_waitpid_ns(int64_t iterations, int64_t *samples);
/** A 4-byte message to a persistent forked echo process and back, over two pipes. */
double fl_floor_pipe_round_trip_ns(int64_t iterations, int64_t *samples);
/** A forked child, already waiting, is told to call `faulting` (fault signals at their
    default action, no core): from the word "go" to the parent seeing the death
    (pidfd readable, then waitpid). The floor of noticing a crashed worker. */
double fl_floor_fault_death_ns(fl_function faulting, int64_t iterations, int64_t *samples);

/* ---- naive_patterns.c: what NOT to do (experiments only) -------------- */

/**
 * Installs, for SIGSEGV and SIGBUS, a handler that counts and simply returns.
 * A hardware fault then re-executes the faulting instruction forever: the
 * thread spins at full CPU without progress. For experiment 03 only.
 * Returns 0 or an errno value.
 */
int fl_naive_install_returning_handler(void);

/** How many times the returning handler has run in this process. */
uint64_t fl_naive_handler_count(void);

/* ---- probe.c: probes for the tests ------------------------------------ */

/**
 * A probe for tests: installs the guard, then writes through NULL outside any
 * guarded call. The fault must reach the previously installed handler (or the
 * default action): the process dies of SIGSEGV. Run it only in a child.
 */
int fl_probe_fault_outside_guard(int input);

#ifdef __cplusplus
}
#endif
#endif
