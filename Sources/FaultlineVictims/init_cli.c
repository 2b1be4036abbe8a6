/*
 * init_cli.c: initializers for `faultline call --init` (int init(void), 0
 * for success) and functions that read the state they set, so that a call
 * can show that its process was initialized; and the double(double, double)
 * the bench's signature_guard_overhead target calls.
 */
#include "FaultlineVictims.h"

static volatile int *volatile cli_null_pointer = 0;
static volatile double cli_scale;
static volatile int32_t cli_init_runs;

int fl_cli_init_setup(void) {
    cli_scale = 10.0;
    cli_init_runs = cli_init_runs + 1;
    return 0;
}

double fl_cli_scaled(double x) { return x * cli_scale; }

int fl_cli_init_runs(int r) { return cli_init_runs * 1000 + r; }

int fl_cli_init_returns_7(void) { return 7; }

int fl_cli_init_crashes(void) {
    *cli_null_pointer = 1;
    return 0;
}

double fl_cli_add_d(double a, double b) { return a + b; }
