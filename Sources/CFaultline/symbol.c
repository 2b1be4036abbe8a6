/*
 * symbol.c: the one symbolizer. Both the pool's helper (frames.c, where the
 * library is mapped at the worker's addresses) and Swift's Symbolizer (in
 * this process) call fl_symbolize, so a frame gets the same name either way.
 *
 * dladdr finds the object and the nearest dynamic symbol; C++ names (`_Z`)
 * go through __cxa_demangle and Swift names (`$s`, `$S`, `_T`) through
 * swift_demangle, both looked up with dlsym so that neither is required.
 * Dl_info needs _GNU_SOURCE, which the Swift overlay of glibc does not define.
 *
 * Never used in a signal handler or between fork() and _exit(): dladdr and
 * the demanglers take locks and allocate.
 *
 * Limits: dladdr sees only dynamic symbols; a static function is named after
 * the nearest exported symbol before it, or not at all.
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

size_t fl_symbolize(uint64_t address, int is_return_address, fl_named_frame *frame, char *buffer, size_t capacity) {
    memset(frame, 0, sizeof *frame);
    frame->address = address;
    if (capacity > 0) buffer[0] = '\0';
    uint64_t lookup = (is_return_address && address > 0) ? address - 1 : address;
    fl_symbol info;
    if (!fl_symbol_lookup(lookup, &info)) return 0;
    frame->found = 1;
    frame->image = info.image ? info.image : "";
    frame->image_length = (uint32_t)strlen(frame->image);
    size_t length = 0;
    if (info.symbol && info.symbol_address) {
        length = fl_demangle(info.symbol, buffer, capacity);
        frame->has_symbol = 1;
        frame->symbol = buffer;
        frame->symbol_length = (uint32_t)(capacity == 0 ? 0 : (length < capacity ? length : capacity - 1));
        frame->offset = address - info.symbol_address;
    } else {
        frame->offset = address - info.image_base;
    }
    return length;
}
