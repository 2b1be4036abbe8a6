/*
 * probe.c: probes the tests run in a child process, never in the library.
 *
 * fl_probe_fault_outside_guard() checks the guard's promise about faults that
 * are not its own: once the guard is installed, a fault outside any guarded
 * call must reach the handler that was there before (or the default action),
 * never be recovered. It uses only the public fl_guard_install().
 *
 * Limits: it kills the process that calls it (SIGSEGV); call it only in a
 * forked child, e.g. through ForkStrategy.
 */
#include "CFaultlineLab.h"

int fl_probe_fault_outside_guard(int input) {
    fl_guard_install();
    static volatile int *volatile nowhere = 0;
    *nowhere = input; /* not inside fl_guard_call: must not be recovered */
    return input;
}
