/*
 * CFaultlineSymbols: source-level names of code addresses, through elfutils'
 * libdwfl. For crash reports, outside any signal handler.
 *
 * A dependency of the Swift module `Faultline` only, never of CFaultline, the
 * pool's small `faultline-helper` or the victims. libdw.so.1 is loaded with
 * dlopen on the first look-up (libdw.c), not linked: a process that never
 * names a frame maps none of it, and its forks stay as cheap as before.
 *
 *   libdw.c      loads libdw.so.1 (RTLD_LOCAL) and the functions used, once
 *   images.c     one Dwfl per image path, opened lazily, checked against a build-id; the lock
 *   debuginfo.c  where separate debug files are looked for (local only unless FAULTLINE_DEBUGINFOD=1)
 *   symtab.c     which sized function symbol contains an address
 *   units.c      which compile unit contains an address (no .debug_aranges needed)
 *   functions.c  which function of a unit contains an address
 *   resolve.c    one address: symbol, file:line:column, the inline chain
 *
 * Addresses are image offsets: an instruction's address minus its object's
 * load bias (dlpi_addr, see fl_image_locate), which is the ELF virtual address.
 */
#ifndef CFAULTLINE_SYMBOLS_H
#define CFAULTLINE_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One function frame of an address: the innermost inlined function first, the real function last. */
typedef struct fl_source_frame {
    /** The function's raw name as the object spells it (mangled for C++ and Swift), or NULL. */
    const char *symbol;
    /** The source file (as the DWARF line table names it, usually absolute), or NULL. */
    const char *file;
    /** The image offset asked for minus the function's start, when `has_symbol_offset`. */
    uint64_t symbol_offset;
    /** Source line, 0 when unknown. */
    int32_t line;
    /** Source column, 0 when unknown. */
    int32_t column;
    /** 1 when `symbol_offset` is set (the real function's frame with a known start). */
    uint8_t has_symbol_offset;
    /** 1 for a function inlined into the next frame; 0 for the last (real) frame. */
    uint8_t inlined;
} fl_source_frame;

/** The frames of one address. One allocation (strings included): free it with fl_symbols_free. */
typedef struct fl_source_frames {
    /** Entries of `frames`; 0 when nothing is known about the address. */
    uint32_t count;
    /** Innermost first. */
    fl_source_frame *frames;
} fl_source_frames;

/** fl_symbols_resolve's results. */
enum {
    FL_SYMBOLS_OK = 0,
    /** The image could not be opened as an ELF file (missing, "[vdso]", not ELF). */
    FL_SYMBOLS_NO_IMAGE = -1,
    /** The file at the path has another build-id than the one asked for: its names would be wrong. */
    FL_SYMBOLS_BUILD_ID_MISMATCH = -2,
    /** Out of memory. */
    FL_SYMBOLS_NO_MEMORY = -3,
    /** libdw.so.1 could not be loaded (package libdw1 missing): no look-up is possible. */
    FL_SYMBOLS_UNAVAILABLE = -4,
};

/**
 * The frames of image offset `offset` in the ELF file at `path`. A return
 * address (`is_return_address`) is looked up at `offset - 1`, so that a call
 * at the very end of a function names that function; a faulting pc at `offset`.
 *
 * With a `build_id` (`build_id_length` > 0), the file must have that build-id
 * (it is re-opened once when the file changed since it was opened). Names come
 * from .symtab, else .dynsym, and only from a symbol whose [start, start + size)
 * contains the address; file:line:column and inlined functions from DWARF (in
 * the file, or a separate debug file: see debuginfo.c).
 *
 * On FL_SYMBOLS_OK, `*result` is a malloc'd block the caller frees with
 * fl_symbols_free; otherwise `*result` is NULL. Thread-safe (one lock);
 * never for signal handlers (allocates, opens files, takes a lock).
 */
int fl_symbols_resolve(const char *path, const uint8_t *build_id, size_t build_id_length, uint64_t offset,
                       int is_return_address, fl_source_frames **result);

/** 1 when libdw.so.1 is loaded (loading it now if needed), 0 when it cannot be. */
int fl_symbols_available(void);

/** Frees what fl_symbols_resolve returned (NULL is fine). */
void fl_symbols_free(fl_source_frames *frames);

/** Ends every open Dwfl: the next look-up of each image opens it again (cold). Thread-safe. */
void fl_symbols_close_all(void);

/** How many images are open now. */
size_t fl_symbols_open_images(void);

#ifdef __cplusplus
}
#endif
#endif
