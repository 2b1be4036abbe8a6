/*
 * symbol.c: dladdr (where a function pointer of the program came from) and
 * demangling. Frames of backtraces are named elsewhere, from the images'
 * symbol tables and DWARF (CFaultlineSymbols, SourceSymbolizer.swift):
 * dladdr sees only exported symbols and would name a static function after
 * the nearest export before it.
 *
 * C++ names (`_Z`) go through __cxa_demangle and Swift names (`$s`, `$S`,
 * `_T`) through swift_demangle, both looked up with dlsym so that neither is
 * required. Dl_info needs _GNU_SOURCE, which the Swift overlay of glibc does
 * not define.
 *
 * Never used in a signal handler or between fork() and _exit(): dladdr and
 * the demanglers take locks and allocate.
 */
#include "include/CFaultline.h"

#include <dlfcn.h>
#include <stdlib.h>
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

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);
typedef char *(*swift_demangle_fn)(const char *, size_t, char *, size_t *, uint32_t);

/* A malloc'd demangled name, or NULL when `name` is not mangled (or no demangler is loaded). */
static char *demangled(const char *name) {
    if (strncmp(name, "_Z", 2) == 0) {
        cxa_demangle_fn demangle = (cxa_demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
        int status = 0;
        if (demangle) {
            char *result = demangle(name, NULL, NULL, &status);
            if (result && status == 0) return result;
            free(result);
        }
    } else if (strncmp(name, "$s", 2) == 0 || strncmp(name, "$S", 2) == 0 || strncmp(name, "_T", 2) == 0) {
        swift_demangle_fn demangle = (swift_demangle_fn)dlsym(RTLD_DEFAULT, "swift_demangle");
        if (demangle) return demangle(name, strlen(name), NULL, NULL, 0);
    }
    return NULL;
}

static size_t copy_out(const char *text, char *buffer, size_t capacity) {
    size_t length = strlen(text);
    if (capacity > 0) {
        size_t copied = length < capacity - 1 ? length : capacity - 1;
        memcpy(buffer, text, copied);
        buffer[copied] = '\0';
    }
    return length;
}

size_t fl_demangle(const char *name, char *buffer, size_t capacity) {
    char *pretty = demangled(name);
    size_t length = copy_out(pretty ? pretty : name, buffer, capacity);
    free(pretty);
    return length;
}
