/* Where addresses lie: dladdr, demangling, the loaded object of an address.
   Part of CFaultline's API (pulled in by CFaultline.h). */
#ifndef CFAULTLINE_IMAGES_H
#define CFAULTLINE_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- symbol.c: dladdr and demangling ------------------------------------ */

/** What dladdr knows about an address (strings owned by the loader). */
typedef struct fl_symbol {
    const char *symbol;      /**< nearest dynamic symbol, or NULL */
    uint64_t symbol_address; /**< its start */
    const char *image;       /**< path of the containing object, or NULL */
    uint64_t image_base;     /**< load address of that object */
} fl_symbol;

/** Looks an address up with dladdr. Returns 1 when the address is in a loaded object. Not for handlers. */
int fl_symbol_lookup(uint64_t address, fl_symbol *symbol);

/** Demangles a C++ (`_Z`) or Swift (`$s`, `$S`, `_T`) name into `buffer` (NUL-terminated, cut to
    `capacity`); an unknown name is copied unchanged. Returns the full length. Not for handlers. */
size_t fl_demangle(const char *name, char *buffer, size_t capacity);

/* ---- image.c: the loaded object of an address ---------------------------- */

/** Where an instruction address lies: the object's file, load bias and build-id. */
typedef struct fl_image_location {
    /** The object's path (dlpi_name; the program's real path for the main program; "[vdso]"),
        owned by the loader or by image.c: valid while the object stays loaded. */
    const char *path;
    /** dlpi_addr, the load bias: `pc - bias` is the image offset (the ELF virtual address). */
    uint64_t bias;
    /** The NT_GNU_BUILD_ID note read from memory (the first `build_id_length` bytes). */
    uint8_t build_id[40];
    /** Bytes of `build_id`; 0 when the object has no build-id note. */
    uint32_t build_id_length;
} fl_image_location;

/**
 * Finds the loaded object with a PT_LOAD segment containing `pc` (dl_iterate_phdr)
 * and fills `out`. Returns 1 when found, 0 otherwise (`out` zeroed).
 * Not for signal handlers: dl_iterate_phdr takes the loader's lock.
 */
int fl_image_locate(uint64_t pc, fl_image_location *out);

#ifdef __cplusplus
}
#endif
#endif
