/*
 * libdw.c: loads elfutils' libdw.so.1 the first time an address is named.
 *
 * Linking libdw would map it, libelf, liblzma, libbz2 and libz into every
 * process that links Faultline (26 more memory mappings here), and every
 * fork of such a process pays for them: fork + exit + waitpid measured
 * ~150 µs without them and ~200 µs with them on this 2-core VM, a cost
 * ForkStrategy would pay per call for a symbolizer it may never use. So it
 * is loaded with dlopen(RTLD_LOCAL), as backtrace.c loads libunwind, and
 * called through pointers (libdw.h). Without libdw.so.1 (package libdw1)
 * fl_symbols_resolve answers FL_SYMBOLS_UNAVAILABLE.
 */
#define FL_DW_NO_REDIRECT
#include "libdw.h"

#include <dlfcn.h>
#include <pthread.h>

fl_dw_api fl_dw;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;

static void load(void) {
    void *library = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) return;
    int missing = 0;
#define FL_DW_LOOKUP(name) missing |= (fl_dw.name = (__typeof__(name) *)dlsym(library, #name)) == NULL;
    FL_DW_FUNCTIONS(FL_DW_LOOKUP)
#undef FL_DW_LOOKUP
    loaded = !missing;
}

int fl_dw_load(void) {
    pthread_once(&once, load);
    return loaded;
}
