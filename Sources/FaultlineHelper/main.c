/*
 * faultline-helper: the small image the pool's helper runs (pool_helper.c).
 *
 * Purpose. Every crash in a pool costs one fresh worker, forked by the helper,
 * and a fork costs in proportion to what the forking process has mapped.
 * Re-executing the supervisor's own executable gives the helper the Swift
 * runtime, Foundation and everything else that executable links; this image
 * links only CFaultline (and what the Swift toolchain adds to every linked
 * program), so its workers start and end with fewer pages to copy and free.
 *
 * The work is done by CFaultline's helper_config.c: a constructor that, when
 * FAULTLINE_HELPER_FD is in the environment, reads the CONFIGURE message and
 * never returns. main() only runs when someone starts this program by hand:
 * it says what the program is for and exits with status 2.
 *
 * Found by the pool beside the running executable, or at $FAULTLINE_HELPER
 * (pool_helper.c). Built from the same sources as the library it serves: the
 * CONFIGURE message has no version of its own.
 */
#include <stdio.h>

/* Tells CFaultline's helper_fork.c that this program is the dedicated helper:
   its only fork handler is the fork strategy's lock, which a helper never uses. */
const int fl_helper_program = 1;

int main(void) {
    fputs("faultline-helper: started by Faultline's worker pools, not by hand\n", stderr);
    return 2;
}
