/*
 * image_notes.c: the images a crashing process loaded after Faultline last
 * looked, noted by the crashing process itself.
 *
 * Frames are located outside the crashed process: by the pool's helper (its
 * workers are its forks) or by the caller of a forked call. A library the
 * callee dlopen()ed during the call exists only in the crashed process, so
 * neither could say where its frames are. fl_image_notes_prepare records the
 * executable segments of every object loaded so far (before a fork, or when
 * the guard is installed); in the handler, fl_image_notes_capture looks up
 * every frame outside those segments in the process's own list of loaded
 * objects (`_r_debug`'s link map) and notes the object's path, load bias,
 * executable segment and build-id in the report.
 *
 * Async-signal-safe capture: the link map, ELF headers and notes are read
 * with process_vm_readv on this process (a callee may have written anything
 * there: a wild pointer gives EFAULT, never a fault in the handler); no lock,
 * no allocation. Prepare is not (dl_iterate_phdr): call it outside handlers.
 *
 * Limits: FL_IMAGE_NOTES images per report, paths cut at FL_IMAGE_NOTE_PATH
 * bytes; an object whose first loadable segment does not map its ELF header
 * at its bias (unusual) is not noted; 256 segments are remembered, those
 * beyond count as unknown (their frames are then noted, at a small cost).
 */
#include "internal.h"

#include <elf.h>
#include <link.h>
#include <string.h>

#define MAX_KNOWN 256

static struct { uint64_t low, high; } known[MAX_KNOWN];
static volatile uint32_t known_count;

static int remember(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uint32_t *count = data;
    for (int i = 0; i < info->dlpi_phnum && *count < MAX_KNOWN; i++) {
        const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
        if (phdr->p_type != PT_LOAD || !(phdr->p_flags & PF_X)) continue;
        known[*count].low = (uint64_t)info->dlpi_addr + phdr->p_vaddr;
        known[*count].high = known[*count].low + phdr->p_memsz;
        (*count)++;
    }
    return 0;
}

void fl_image_notes_prepare(void) {
    uint32_t count = 0;
    known_count = 0;
    dl_iterate_phdr(remember, &count);
    known_count = count;
}

static int is_known(uint64_t pc) {
    uint32_t count = known_count;
    for (uint32_t i = 0; i < count; i++) {
        if (pc >= known[i].low && pc < known[i].high) return 1;
    }
    return 0;
}

/* Copies `size` bytes at any address; 1 when all were readable. */
static int copy_in(void *to, uint64_t from, size_t size) {
    return fl_copy_checked(to, (const void *)(uintptr_t)from, size) == size;
}

/* The build-id of the object at `bias` from its PT_NOTE segment `phdr`. */
static void read_build_id(uint64_t bias, const ElfW(Phdr) *phdr, fl_image_note *note) {
    uint64_t at = bias + phdr->p_vaddr, end = at + phdr->p_memsz;
    for (int guard = 0; guard < 16 && at + sizeof(ElfW(Nhdr)) <= end; guard++) {
        ElfW(Nhdr) header;
        if (!copy_in(&header, at, sizeof header)) return;
        uint64_t name = at + sizeof header;
        uint64_t desc = name + ((header.n_namesz + 3) & ~3u);
        if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == 4 && header.n_descsz <= sizeof note->build_id) {
            char owner[4];
            if (copy_in(owner, name, 4) && memcmp(owner, "GNU", 4) == 0 && copy_in(note->build_id, desc, header.n_descsz)) {
                note->build_id_length = header.n_descsz;
            }
            return;
        }
        at = desc + ((header.n_descsz + 3) & ~3u);
    }
}

/* Notes the object of the link map entry at `map` if one of its executable segments holds `pc`. */
static int note_if_holds(uint64_t map, uint64_t pc, fl_image_note *note) {
    struct link_map entry;
    ElfW(Ehdr) header;
    if (!copy_in(&entry, map, sizeof entry) || entry.l_addr == 0) return 0;
    uint64_t bias = (uint64_t)entry.l_addr;
    if (!copy_in(&header, bias, sizeof header) || memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
        header.e_phentsize != sizeof(ElfW(Phdr)) || header.e_phnum > 64) return 0;
    ElfW(Phdr) phdrs[64];
    if (!copy_in(phdrs, bias + header.e_phoff, sizeof(ElfW(Phdr)) * header.e_phnum)) return 0;
    for (int i = 0; i < header.e_phnum; i++) {
        if (phdrs[i].p_type != PT_LOAD || !(phdrs[i].p_flags & PF_X)) continue;
        uint64_t low = bias + phdrs[i].p_vaddr, high = low + phdrs[i].p_memsz;
        if (pc < low || pc >= high) continue;
        memset(note, 0, sizeof *note);
        note->bias = bias;
        note->low = low;
        note->high = high;
        /* The path, up to its NUL or the note's size, byte by byte across page ends. */
        uint32_t length = 0;
        while (length < FL_IMAGE_NOTE_PATH - 1 && copy_in(&note->path[length], (uint64_t)(uintptr_t)entry.l_name + length, 1) &&
               note->path[length] != '\0') length++;
        note->path[length] = '\0';
        for (int j = 0; j < header.e_phnum; j++) {
            if (phdrs[j].p_type == PT_NOTE && note->build_id_length == 0) read_build_id(bias, &phdrs[j], note);
        }
        return length > 0;
    }
    return 0;
}

void fl_image_notes_capture(fl_report *report) {
    report->image_note_count = 0;
    if (known_count == 0) return; /* never prepared: every frame would look unknown */
    uint32_t frames = report->frame_count > FL_MAX_FRAMES ? FL_MAX_FRAMES : report->frame_count;
    for (uint32_t i = 0; i < frames && report->image_note_count < FL_IMAGE_NOTES; i++) {
        uint64_t pc = report->frames[i] - (i > 0 ? 1 : 0);
        if (is_known(pc)) continue;
        int covered = 0;
        for (uint32_t n = 0; n < report->image_note_count && !covered; n++) {
            covered = pc >= report->image_notes[n].low && pc < report->image_notes[n].high;
        }
        if (covered) continue;
        struct r_debug debug;
        if (!copy_in(&debug, (uint64_t)(uintptr_t)&_r_debug, sizeof debug)) return;
        uint64_t map = (uint64_t)(uintptr_t)debug.r_map;
        for (int guard = 0; map != 0 && guard < 1024; guard++) {
            if (note_if_holds(map, pc, &report->image_notes[report->image_note_count])) {
                report->image_note_count++;
                break;
            }
            struct link_map entry;
            if (!copy_in(&entry, map, sizeof entry)) break;
            map = (uint64_t)(uintptr_t)entry.l_next;
        }
    }
}
