/*
 * image.c: which loaded object an instruction address belongs to, and what a
 * symbolizer needs to know about it: its file, its load bias and its build-id.
 *
 * fl_image_locate walks the loaded objects with dl_iterate_phdr and picks the
 * one with a PT_LOAD segment that contains the address. The bias is the
 * object's dlpi_addr, so `pc - bias` is the image offset that symbolizers
 * (libdwfl, addr2line, llvm-symbolizer) expect: the ELF virtual address. That
 * is not `pc - dli_fbase`: for a non-PIE executable the two differ by the
 * first segment's address (0x400000). The build-id is read from the object's
 * PT_NOTE segments in memory (NT_GNU_BUILD_ID), so it is the build-id of the
 * code that ran, even if the file on disk was replaced since.
 *
 * The main program has an empty dlpi_name: its path is the target of
 * /proc/self/exe, read once and kept. The vDSO gets the path "[vdso]".
 *
 * NOT for signal handlers, nor between fork() and _exit() of a multi-threaded
 * process: dl_iterate_phdr takes the loader's lock. Record addresses in the
 * handler; locate them afterwards. The path points at the loader's string (or
 * at this file's copy of the program's path): valid while the object stays
 * loaded.
 */
#include "include/CFaultline.h"

#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static char program_path[4096];
static pthread_once_t program_path_once = PTHREAD_ONCE_INIT;

static void read_program_path(void) {
    ssize_t length = readlink("/proc/self/exe", program_path, sizeof program_path - 1);
    program_path[length > 0 ? (size_t)length : 0] = '\0';
}

typedef struct search {
    uint64_t pc;
    fl_image_location *out;
    int found;
} search;

/* 1 when [start, start + length) lies inside a PT_LOAD segment of the object (readable memory). */
static int is_loaded(const struct dl_phdr_info *info, uint64_t start, uint64_t length) {
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD) continue;
        uint64_t begin = info->dlpi_addr + segment->p_vaddr;
        if (start >= begin && length <= segment->p_memsz && start - begin <= segment->p_memsz - length) return 1;
    }
    return 0;
}

/* Copies the NT_GNU_BUILD_ID note of the object, if one of its PT_NOTE segments holds it. */
static void read_build_id(const struct dl_phdr_info *info, fl_image_location *out) {
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_NOTE) continue;
        uint64_t start = info->dlpi_addr + segment->p_vaddr;
        if (!is_loaded(info, start, segment->p_memsz)) continue;
        uint64_t align = segment->p_align == 8 ? 8 : 4;
        const unsigned char *notes = (const unsigned char *)(uintptr_t)start;
        uint64_t at = 0;
        while (segment->p_memsz - at >= sizeof(ElfW(Nhdr))) {
            ElfW(Nhdr) header;
            memcpy(&header, notes + at, sizeof header);
            uint64_t name_at = at + sizeof header;
            uint64_t descriptor_at = name_at + ((header.n_namesz + align - 1) & ~(align - 1));
            uint64_t next = descriptor_at + ((header.n_descsz + align - 1) & ~(align - 1));
            if (descriptor_at > segment->p_memsz || header.n_descsz > segment->p_memsz - descriptor_at) break;
            if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == 4 && memcmp(notes + name_at, "GNU", 4) == 0) {
                uint32_t length = header.n_descsz < sizeof out->build_id ? header.n_descsz : (uint32_t)sizeof out->build_id;
                memcpy(out->build_id, notes + descriptor_at, length);
                out->build_id_length = length;
                return;
            }
            at = next;
        }
    }
}

/* 1 when the object is the vDSO: its program headers are the ones the kernel's AT_SYSINFO_EHDR image names. */
static int is_vdso(const struct dl_phdr_info *info) {
    uintptr_t header = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    if (header == 0) return 0;
    const ElfW(Ehdr) *elf = (const ElfW(Ehdr) *)header;
    return (uintptr_t)info->dlpi_phdr == header + elf->e_phoff;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    search *query = data;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD) continue;
        uint64_t begin = info->dlpi_addr + segment->p_vaddr;
        if (query->pc < begin || query->pc - begin >= segment->p_memsz) continue;
        fl_image_location *out = query->out;
        out->bias = info->dlpi_addr;
        if (is_vdso(info)) {
            out->path = "[vdso]";
        } else if (info->dlpi_name && info->dlpi_name[0]) {
            out->path = info->dlpi_name;
        } else {
            pthread_once(&program_path_once, read_program_path);
            out->path = program_path;
        }
        read_build_id(info, out);
        query->found = 1;
        return 1;
    }
    return 0;
}

int fl_image_locate(uint64_t pc, fl_image_location *out) {
    memset(out, 0, sizeof *out);
    search query = { .pc = pc, .out = out, .found = 0 };
    dl_iterate_phdr(visit, &query);
    return query.found;
}
