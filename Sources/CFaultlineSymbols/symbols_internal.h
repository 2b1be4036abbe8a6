/* Declarations shared between CFaultlineSymbols' C files; not part of the API. */
#ifndef CFAULTLINE_SYMBOLS_INTERNAL_H
#define CFAULTLINE_SYMBOLS_INTERNAL_H

#include "include/CFaultlineSymbols.h"

#include "libdw.h"

#include <pthread.h>

struct fl_symbol_table;
struct fl_unit_table;
struct fl_functions;

/* One opened image and the indexes built over it on first use (freed with it). */
typedef struct fl_image {
    Dwfl_Module *module;
    struct fl_symbol_table *symbols; /* symtab.c */
    struct fl_unit_table *units;     /* units.c */
} fl_image;

/* A compile unit with code: its line table's DIE, the DIE of its functions, their index (made on first use). */
typedef struct fl_unit {
    Dwarf_Die lines;
    Dwarf_Die code;
    struct fl_functions *functions;
} fl_unit;

/* images.c: serializes everything that touches a Dwfl (libdwfl is not thread-safe). */
extern pthread_mutex_t fl_symbols_lock;

/* images.c, under the lock: the ELF file at `path` (with that build-id, when one is given),
   opened now or earlier; NULL with *status (FL_SYMBOLS_NO_IMAGE or _BUILD_ID_MISMATCH, _NO_MEMORY). */
fl_image *fl_symbols_image(const char *path, const uint8_t *build_id, size_t build_id_length, int *status);

/* debuginfo.c: the callbacks of a new Dwfl (debuginfod only with FAULTLINE_DEBUGINFOD=1, read now). */
const Dwfl_Callbacks *fl_symbols_callbacks(void);

/* symtab.c, under the lock: the name of the sized function symbol containing `address` (its start in
   *start), or NULL. The string belongs to libdwfl (valid while the image is open). */
const char *fl_symbol_containing(fl_image *image, uint64_t address, uint64_t *start);
void fl_symbol_table_free(struct fl_symbol_table *table);

/* units.c, under the lock: the unit whose ranges contain image offset `address` (with *pc its DWARF
   address), or NULL. */
fl_unit *fl_unit_containing(fl_image *image, uint64_t address, Dwarf_Addr *pc);
void fl_unit_table_free(struct fl_unit_table *table);

/* functions.c: the ranges of the DW_TAG_subprograms of a unit (NULL without memory), and the
   innermost one containing `pc`: 1 with *function filled, else 0. */
struct fl_functions *fl_functions_build(Dwarf_Die *unit);
int fl_functions_find(const struct fl_functions *functions, Dwarf_Addr pc, Dwarf_Die *function);
void fl_functions_free(struct fl_functions *functions);

#endif
