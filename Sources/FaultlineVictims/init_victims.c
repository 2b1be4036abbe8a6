/*
 * init_victims.c: initializers (`int init(void)`, 0 for success) and the
 * functions that see the state they set, for ForkStrategy and GuardStrategy
 * with an initializer. Each initializer does one checkable thing: sets a
 * global, counts its runs, returns 7, crashes, exits, or never returns.
 */
#include "FaultlineVictims.h"

#include <time.h>
#include <unistd.h>

static volatile int *volatile init_null_pointer = 0;
static volatile int32_t init_state;
static volatile int32_t init_runs;

int fl_init_setup(void) {
    init_state = 42;
    return 0;
}

int fl_init_read(int r) { return init_state + r; }

int32_t fl_init_state(void) { return init_state; }

int fl_init_count_runs(void) {
    init_runs = init_runs + 1;
    return 0;
}

int fl_init_runs(int r) { return init_runs * 1000 + r; }

int fl_init_returns_7(void) { return 7; }

int fl_init_crashes(void) {
    *init_null_pointer = 1;
    return 0;
}

int fl_init_exits(void) { _exit(3); }

int fl_init_hangs(void) {
    for (;;) {
        struct timespec pause = {1, 0};
        nanosleep(&pause, NULL);
    }
}
