/*
 * init_pool.c: init functions (`int init(void)`) for the pool's --init path.
 * fl_sig_touch / fl_sig_touched (signatures.c) keep the state they share.
 */
#include "FaultlineVictims.h"

static volatile int *volatile init_nowhere = 0;

int fl_init_returns_zero_after_touch(void) {
    fl_sig_touch();
    return 0;
}

int fl_init_returns_seven(void) { return 7; }

int fl_init_crashes(void) {
    *init_nowhere = 1;
    return 0;
}
