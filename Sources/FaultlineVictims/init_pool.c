/*
 * init_pool.c: init functions (`int init(void)`) for the pool's --init path.
 * fl_sig_touch / fl_sig_touched (signatures.c) keep the state they share;
 * failing inits are in init_victims.c.
 */
#include "FaultlineVictims.h"

int fl_init_returns_zero_after_touch(void) {
    fl_sig_touch();
    return 0;
}
