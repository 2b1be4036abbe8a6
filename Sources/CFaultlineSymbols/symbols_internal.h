/* Declarations shared between CFaultlineSymbols' C files; not part of the API. */
#ifndef CFAULTLINE_SYMBOLS_INTERNAL_H
#define CFAULTLINE_SYMBOLS_INTERNAL_H

#include "include/CFaultlineSymbols.h"

#include <elfutils/libdwfl.h>
#include <pthread.h>

/* images.c: serializes everything that touches a Dwfl (libdwfl is not thread-safe). */
extern pthread_mutex_t fl_symbols_lock;

/* images.c, under the lock: the module of the ELF file at `path` (with that build-id, when one is
   given), opened now or earlier; NULL with *status (FL_SYMBOLS_NO_IMAGE or _BUILD_ID_MISMATCH). */
Dwfl_Module *fl_symbols_module(const char *path, const uint8_t *build_id, size_t build_id_length, int *status);

/* debuginfo.c: the callbacks of a new Dwfl (debuginfod only with FAULTLINE_DEBUGINFOD=1, read now). */
const Dwfl_Callbacks *fl_symbols_callbacks(void);

#endif
