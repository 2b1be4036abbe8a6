/*
 * images.c: one Dwfl per image path, opened on first use and kept.
 *
 * Each image is reported alone with dwfl_report_elf at base 0 (add_p_vaddr),
 * so that the module's addresses are the file's virtual addresses: the image
 * offsets fl_image_locate gives (pc - dlpi_addr). That holds for a shared
 * library or a PIE (ET_DYN, bias 0 here) and for a non-PIE executable
 * (ET_EXEC, whose dlpi_addr is 0: the pc is the virtual address).
 *
 * A look-up with a build-id uses the open image when the build-ids agree.
 * Otherwise (no build-id asked for, or another one) the file is stat'ed: a
 * file replaced since it was opened (device, inode, size, mtime) is opened
 * again; one that still has another build-id is a mismatch, never a source
 * of names. A path that cannot be opened is remembered as such until the
 * file changes.
 *
 * Each open image keeps the indexes built over it (symtab.c, units.c).
 * At most 64 images are open; the least recently used is ended to make room.
 * Everything here runs under fl_symbols_lock: libdwfl is not thread-safe.
 */
#include "symbols_internal.h"

#include <malloc.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_IMAGES 64

pthread_mutex_t fl_symbols_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct image {
    char *path;           /* malloc'd; NULL for a free slot */
    Dwfl *dwfl;           /* NULL when the file could not be reported */
    fl_image opened;      /* module NULL when the file could not be reported */
    struct stat identity; /* of the file when it was opened (st_ino 0: no file) */
    uint64_t last_use;
} image;

static image images[MAX_IMAGES];
static uint64_t use_clock;

static int same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
        && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void close_image(image *entry) {
    fl_symbol_table_free(entry->opened.symbols);
    fl_unit_table_free(entry->opened.units);
    if (entry->dwfl) dwfl_end(entry->dwfl);
    entry->dwfl = NULL;
    entry->opened = (fl_image){ 0 };
}

/* Reports the file at entry->path in a new Dwfl (or leaves the entry without a module). */
static void open_image(image *entry) {
    close_image(entry);
    memset(&entry->identity, 0, sizeof entry->identity);
    if (stat(entry->path, &entry->identity) != 0 || !S_ISREG(entry->identity.st_mode)) {
        memset(&entry->identity, 0, sizeof entry->identity);
        return;
    }
    Dwfl *dwfl = dwfl_begin(fl_symbols_callbacks());
    if (!dwfl) return;
    dwfl_report_begin(dwfl);
    Dwfl_Module *module = dwfl_report_elf(dwfl, entry->path, entry->path, -1, 0, true);
    dwfl_report_end(dwfl, NULL, NULL);
    if (!module) {
        dwfl_end(dwfl);
        return;
    }
    entry->dwfl = dwfl;
    entry->opened.module = module;
}

/* 1 when the entry's module has exactly this build-id. */
static int has_build_id(const image *entry, const uint8_t *build_id, size_t length) {
    const unsigned char *bits = NULL;
    GElf_Addr vaddr = 0;
    int found = entry->opened.module ? dwfl_module_build_id(entry->opened.module, &bits, &vaddr) : -1;
    return found > 0 && (size_t)found == length && memcmp(bits, build_id, length) == 0;
}

/* 1 when the file at the entry's path is no longer the one that was opened. */
static int changed(const image *entry) {
    struct stat now;
    if (stat(entry->path, &now) != 0) return entry->identity.st_ino != 0;
    return !same_file(&now, &entry->identity);
}

/* The entry for `path`, or a slot for it (free, or the least recently used, ended). NULL without memory. */
static image *entry_for(const char *path, int *fresh) {
    image *oldest = &images[0];
    for (size_t i = 0; i < MAX_IMAGES; i++) {
        if (images[i].path && strcmp(images[i].path, path) == 0) {
            *fresh = 0;
            return &images[i];
        }
        if (!images[i].path || (oldest->path && images[i].last_use < oldest->last_use)) oldest = &images[i];
    }
    char *copy = strdup(path);
    if (!copy) return NULL;
    close_image(oldest);
    free(oldest->path);
    oldest->path = copy;
    *fresh = 1;
    return oldest;
}

fl_image *fl_symbols_image(const char *path, const uint8_t *build_id, size_t build_id_length, int *status) {
    int fresh = 0;
    image *entry = entry_for(path, &fresh);
    if (!entry) {
        *status = FL_SYMBOLS_NO_MEMORY;
        return NULL;
    }
    entry->last_use = ++use_clock;
    if (fresh) {
        open_image(entry);
    } else if (!(build_id_length > 0 && has_build_id(entry, build_id, build_id_length)) && changed(entry)) {
        open_image(entry);
    }
    if (!entry->opened.module) {
        *status = FL_SYMBOLS_NO_IMAGE;
        return NULL;
    }
    if (build_id_length > 0 && !has_build_id(entry, build_id, build_id_length)) {
        *status = FL_SYMBOLS_BUILD_ID_MISMATCH;
        return NULL;
    }
    *status = FL_SYMBOLS_OK;
    return &entry->opened;
}

void fl_symbols_close_all(void) {
    pthread_mutex_lock(&fl_symbols_lock);
    for (size_t i = 0; i < MAX_IMAGES; i++) {
        close_image(&images[i]);
        free(images[i].path);
        images[i].path = NULL;
    }
    pthread_mutex_unlock(&fl_symbols_lock);
    /* The indexes were many small allocations: give the freed pages back. */
    malloc_trim(0);
}

size_t fl_symbols_open_images(void) {
    pthread_mutex_lock(&fl_symbols_lock);
    size_t count = 0;
    for (size_t i = 0; i < MAX_IMAGES; i++) count += images[i].opened.module != NULL;
    pthread_mutex_unlock(&fl_symbols_lock);
    return count;
}
