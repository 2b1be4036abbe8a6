/*
 * symbol.c: dladdr, for the Swift symbolizer. Dl_info needs _GNU_SOURCE,
 * which the Swift overlay of glibc does not define. Never used in a handler.
 * Limits: dladdr sees only dynamic symbols; a static function is named
 * after the nearest exported symbol before it, or not at all.
 */
#include "include/CFaultline.h"

#include <dlfcn.h>
#include <string.h>

int fl_symbol_lookup(uint64_t address, fl_symbol *symbol) {
    memset(symbol, 0, sizeof *symbol);
    Dl_info info;
    if (address == 0 || dladdr((void *)(uintptr_t)address, &info) == 0) return 0;
    symbol->symbol = info.dli_sname;
    symbol->symbol_address = (uint64_t)(uintptr_t)info.dli_saddr;
    symbol->image = info.dli_fname;
    symbol->image_base = (uint64_t)(uintptr_t)info.dli_fbase;
    return 1;
}
