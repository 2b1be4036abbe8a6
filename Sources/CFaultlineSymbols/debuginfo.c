/*
 * debuginfo.c: where a Dwfl looks for DWARF that is not in the image itself.
 *
 * Locally, always: by build-id under /usr/lib/debug/.build-id/xx/yyyy.debug
 * (dwfl_build_id_find_debuginfo, which also finds dwz's .gnu_debugaltlink
 * files), then by .gnu_debuglink name in the image's directory, its .debug/
 * subdirectory and /usr/lib/debug/<directory>/, for the path as given and
 * for its real path. A debug file found by name must carry the image's
 * build-id when the image has one (a stale debug file would name the wrong
 * lines); without a build-id its CRC is not checked.
 *
 * debuginfod (downloads from the servers in DEBUGINFOD_URLS) is OFF unless
 * the environment has FAULTLINE_DEBUGINFOD=1 when an image is opened: a
 * crash report must not wait on the network, nor reveal which builds ran,
 * just because a distribution sets DEBUGINFOD_URLS for every login shell.
 * With FAULTLINE_DEBUGINFOD=1 the standard callback runs
 * (dwfl_standard_find_debuginfo: the local search, then debuginfod when
 * DEBUGINFOD_URLS is set).
 */
#include "symbols_internal.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The image is reported with its file: there is never an ELF file to find by other means. */
static int no_elf(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr base, char **file_name, Elf **elf) {
    (void)module; (void)userdata; (void)name; (void)base; (void)file_name; (void)elf;
    return -1;
}

/* 1 when the ELF file open at `fd` has the build-id `bits` (length `length`). */
static int has_build_id(int fd, const unsigned char *bits, int length) {
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf) return 0;
    const void *found = NULL;
    ssize_t found_length = dwelf_elf_gnu_build_id(elf, &found);
    int same = found_length == length && memcmp(found, bits, (size_t)length) == 0;
    elf_end(elf);
    return same;
}

/* Opens `candidate` if it is a debug file for the module: not the image itself, the right build-id. */
static int try_candidate(const char *candidate, const struct stat *image, const unsigned char *bits, int length,
                         char **debuginfo_file_name) {
    int fd = open(candidate, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat found;
    if (fstat(fd, &found) != 0 || (image && found.st_dev == image->st_dev && found.st_ino == image->st_ino)
        || (length > 0 && !has_build_id(fd, bits, length))) {
        close(fd);
        return -1;
    }
    *debuginfo_file_name = strdup(candidate);
    return fd;
}

/* The .gnu_debuglink search next to `file` (the image's path, or its real path). */
static int find_by_debuglink(const char *file, const char *debuglink, const struct stat *image,
                             const unsigned char *bits, int length, char **debuginfo_file_name) {
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof copy, "%s", file) >= (int)sizeof copy) return -1;
    const char *directory = dirname(copy);
    const char *formats[] = { "%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s" };
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        char candidate[PATH_MAX];
        if (snprintf(candidate, sizeof candidate, formats[i], directory, debuglink) >= (int)sizeof candidate) continue;
        int fd = try_candidate(candidate, image, bits, length, debuginfo_file_name);
        if (fd >= 0) return fd;
    }
    return -1;
}

static int find_local_debuginfo(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr base,
                                const char *file_name, const char *debuglink, GElf_Word crc,
                                char **debuginfo_file_name) {
    int fd = dwfl_build_id_find_debuginfo(module, userdata, name, base, file_name, debuglink, crc, debuginfo_file_name);
    if (fd >= 0 || debuglink == NULL || file_name == NULL) return fd;
    const char *main_file = NULL;
    dwfl_module_info(module, NULL, NULL, NULL, NULL, NULL, &main_file, NULL);
    int alternate = main_file == NULL || strcmp(main_file, file_name) != 0; /* dwz's supplementary file */
    const unsigned char *bits = NULL;
    GElf_Addr vaddr = 0;
    int length = alternate ? 0 : dwfl_module_build_id(module, &bits, &vaddr);
    if (length < 0) length = 0;
    if (debuglink[0] == '/') return try_candidate(debuglink, NULL, bits, length, debuginfo_file_name);
    struct stat image;
    int known = stat(file_name, &image) == 0;
    fd = find_by_debuglink(file_name, debuglink, known ? &image : NULL, bits, length, debuginfo_file_name);
    if (fd >= 0) return fd;
    char *real = realpath(file_name, NULL);
    if (real && strcmp(real, file_name) != 0)
        fd = find_by_debuglink(real, debuglink, known ? &image : NULL, bits, length, debuginfo_file_name);
    free(real);
    return fd;
}

static Dwfl_Callbacks local_callbacks, standard_callbacks;

/* Under the lock, after fl_dw_load: the callbacks point at libdw's functions, known only now. */
const Dwfl_Callbacks *fl_symbols_callbacks(void) {
    if (!local_callbacks.find_debuginfo) {
        local_callbacks = (Dwfl_Callbacks){
            .find_elf = no_elf, .find_debuginfo = find_local_debuginfo, .section_address = dwfl_offline_section_address };
        standard_callbacks = (Dwfl_Callbacks){
            .find_elf = no_elf, .find_debuginfo = dwfl_standard_find_debuginfo, .section_address = dwfl_offline_section_address };
    }
    const char *allowed = getenv("FAULTLINE_DEBUGINFOD");
    return allowed && strcmp(allowed, "1") == 0 ? &standard_callbacks : &local_callbacks;
}
