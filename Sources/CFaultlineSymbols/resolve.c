/*
 * resolve.c: the frames of one image offset.
 *
 * The real function's name comes from the symbol table (symtab.c: .symtab
 * when the image or its debug file has one, else .dynsym), and only when the
 * symbol is sized and [start, start + size) contains the address. A stripped
 * library's local function thus gets no name rather than the name of the
 * exported function before it (addr2line's mistake). Without a symbol, the
 * DWARF subprogram containing the address names it.
 *
 * file:line:column of the address come from its unit's line table (units.c
 * finds the unit, dwarf_getsrc_die the row). Inlined functions come from the
 * DIE tree: the subprogram containing the address (functions.c), then, level by level, the child scope containing
 * it (lexical blocks, inlined instances) down to the innermost. Each
 * DW_TAG_inlined_subroutine is a frame at the current location, innermost
 * first; its DW_AT_call_file/line/column become the location of the frame
 * outside it. The DW_TAG_subprogram ends the chain: the real function.
 *
 * Names are returned raw (linkage names, mangled): the Swift side demangles.
 * The result is one malloc'd block: the header, the frames, then the strings.
 */
#include "symbols_internal.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 64

/* The linkage name of a function DIE (following abstract origins and specifications), else its name. */
static const char *die_name(Dwarf_Die *die) {
    Dwarf_Attribute attribute;
    const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attribute));
    if (!name) name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attribute));
    if (!name) name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attribute));
    return name;
}

static int is_function(Dwarf_Die *die) {
    int tag = dwarf_tag(die);
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_entry_point;
}

static int32_t attribute_number(Dwarf_Die *die, unsigned int name) {
    Dwarf_Attribute attribute;
    Dwarf_Word value = 0;
    if (dwarf_formudata(dwarf_attr(die, name, &attribute), &value) != 0 || value > INT32_MAX) return 0;
    return (int32_t)value;
}

/* 1 for the DIEs that may hold the scopes around an address inside a function. */
static int is_scope(Dwarf_Die *die) {
    int tag = dwarf_tag(die);
    return tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_try_block
        || tag == DW_TAG_catch_block || tag == DW_TAG_with_stmt;
}

/* The scopes from `function` down to the innermost one containing `pc`, outermost first. Returns the count. */
static int scopes_down(Dwarf_Die *function, Dwarf_Addr pc, Dwarf_Die *chain, int capacity) {
    int depth = 0;
    chain[depth++] = *function;
    while (depth < capacity) {
        Dwarf_Die child;
        if (dwarf_child(&chain[depth - 1], &child) != 0) break;
        int found = 0;
        do {
            if (is_scope(&child) && dwarf_haspc(&child, pc) == 1) {
                chain[depth++] = child;
                found = 1;
                break;
            }
        } while (dwarf_siblingof(&child, &child) == 0);
        if (!found) break;
    }
    return depth;
}

/* `file`, with `directory` in front when it is relative: its length, and the text in `out` (when not NULL). */
static size_t full_path(const char *file, const char *directory, char *out) {
    size_t length = strlen(file);
    if (file[0] == '/' || !directory || !directory[0]) {
        if (out) memcpy(out, file, length + 1);
        return length;
    }
    size_t prefix = strlen(directory);
    int slash = directory[prefix - 1] != '/';
    if (out) {
        memcpy(out, directory, prefix);
        if (slash) out[prefix] = '/';
        memcpy(out + prefix + slash, file, length + 1);
    }
    return prefix + slash + length;
}

/* Copies `count` frames and their strings into one block (relative files under `directory`). */
static fl_source_frames *copy_out(const fl_source_frame *frames, uint32_t count, const char *directory) {
    size_t size = sizeof(fl_source_frames) + count * sizeof(fl_source_frame);
    for (uint32_t i = 0; i < count; i++) {
        if (frames[i].symbol) size += strlen(frames[i].symbol) + 1;
        if (frames[i].file) size += full_path(frames[i].file, directory, NULL) + 1;
    }
    fl_source_frames *result = malloc(size);
    if (!result) return NULL;
    result->count = count;
    result->frames = (fl_source_frame *)(result + 1);
    char *strings = (char *)(result->frames + count);
    for (uint32_t i = 0; i < count; i++) {
        fl_source_frame *frame = &result->frames[i];
        *frame = frames[i];
        if (frames[i].symbol) {
            size_t length = strlen(frames[i].symbol) + 1;
            memcpy(strings, frames[i].symbol, length);
            frame->symbol = strings;
            strings += length;
        }
        if (frames[i].file) {
            frame->file = strings;
            strings += full_path(frames[i].file, directory, strings) + 1;
        }
    }
    return result;
}

/* The frames of `pc` in the image, written to `frames` (strings owned by libdw), and the unit's
   compilation directory in *directory (NULL when unknown). Returns the count. */
static uint32_t collect(fl_image *image, uint64_t offset, uint64_t pc, fl_source_frame *frames, const char **directory) {
    uint64_t symbol_start = 0;
    const char *name = fl_symbol_containing(image, pc, &symbol_start);

    const char *file = NULL;
    int line = 0, column = 0;
    uint32_t count = 0;
    Dwarf_Addr address = 0;
    fl_unit *unit = fl_unit_containing(image, pc, &address);
    Dwarf_Line *row = unit ? dwarf_getsrc_die(&unit->lines, address) : NULL;
    if (row && dwarf_lineno(row, &line) == 0 && line > 0) { /* line 0: code of no source line */
        file = dwarf_linesrc(row, NULL, NULL);
        dwarf_linecol(row, &column);
    } else {
        line = 0;
    }
    Dwarf_Attribute attribute;
    *directory = unit ? dwarf_formstring(dwarf_attr(&unit->lines, DW_AT_comp_dir, &attribute)) : NULL;
    if (unit && !unit->functions) unit->functions = fl_functions_build(&unit->code);
    Dwarf_Die function, chain[MAX_FRAMES];
    int scopes = unit && fl_functions_find(unit->functions, address, &function)
        ? scopes_down(&function, address, chain, MAX_FRAMES) : 0;
    Dwarf_Files *files = NULL;
    if (scopes > 0 && dwarf_getsrcfiles(&unit->code, &files, NULL) != 0) files = NULL;
    for (int i = scopes - 1; i >= 0 && count < MAX_FRAMES; i--) {
        Dwarf_Die *die = &chain[i];
        if (!is_function(die)) continue;
        fl_source_frame *frame = &frames[count++];
        memset(frame, 0, sizeof *frame);
        frame->symbol = die_name(die);
        frame->file = file;
        frame->line = line;
        frame->column = column;
        if (i == 0) { /* the real function */
            Dwarf_Addr low = 0;
            if (dwarf_lowpc(die, &low) == 0 && low + (pc - address) <= offset) {
                frame->symbol_offset = offset - (low + (pc - address));
                frame->has_symbol_offset = 1;
            }
            break;
        }
        frame->inlined = 1;
        Dwarf_Word index = 0;
        file = files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attribute), &index) == 0
            ? dwarf_filesrc(files, index, NULL, NULL) : NULL;
        line = attribute_number(die, DW_AT_call_line);
        column = attribute_number(die, DW_AT_call_column);
    }
    if (scopes == 0 && (name || file)) {
        /* No DWARF function around the address (no DWARF, or only a line table): one frame. */
        fl_source_frame *frame = &frames[count++];
        memset(frame, 0, sizeof *frame);
        frame->file = file;
        frame->line = line;
        frame->column = column;
    }
    if (count > 0 && name) {
        /* The symbol table names the real function, with the compiler's suffixes (.cold, .isra.0). */
        fl_source_frame *outermost = &frames[count - 1];
        outermost->symbol = name;
        outermost->symbol_offset = offset - symbol_start;
        outermost->has_symbol_offset = 1;
    }
    return count;
}

int fl_symbols_resolve(const char *path, const uint8_t *build_id, size_t build_id_length, uint64_t offset,
                       int is_return_address, fl_source_frames **result) {
    *result = NULL;
    if (!fl_dw_load()) return FL_SYMBOLS_UNAVAILABLE;
    uint64_t pc = is_return_address && offset > 0 ? offset - 1 : offset;
    pthread_mutex_lock(&fl_symbols_lock);
    int status = FL_SYMBOLS_OK;
    fl_image *image = fl_symbols_image(path, build_id, build_id_length, &status);
    if (image) {
        fl_source_frame frames[MAX_FRAMES];
        const char *directory = NULL;
        uint32_t count = collect(image, offset, pc, frames, &directory);
        *result = copy_out(frames, count, directory);
        if (!*result) status = FL_SYMBOLS_NO_MEMORY;
    }
    pthread_mutex_unlock(&fl_symbols_lock);
    return status;
}

void fl_symbols_free(fl_source_frames *frames) { free(frames); }

int fl_symbols_available(void) { return fl_dw_load(); }
