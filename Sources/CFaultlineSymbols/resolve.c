/*
 * resolve.c: the frames of one image offset.
 *
 * The real function's name comes from the symbol table (dwfl_module_addrinfo:
 * .symtab when the image or its debug file has one, else .dynsym), and only
 * when the symbol is sized and [start, start + size) contains the address.
 * A stripped library's local function thus gets no name rather than the
 * name of the exported function before it (addr2line's mistake). Without a
 * symbol, the DWARF subprogram containing the address names it.
 *
 * file:line:column of the address come from the line table (dwfl_module_getsrc).
 * Inlined functions come from the DIE tree: the innermost scope containing the
 * address (dwarf_getscopes), then its parents in the tree (dwarf_getscopes_die),
 * which for an inlined instance run through the functions it was inlined
 * into. Each DW_TAG_inlined_subroutine is a frame at the current location;
 * its DW_AT_call_file/line/column become the location of the frame outside
 * it. The DW_TAG_subprogram ends the chain: the real function.
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

/* The function DIEs around `pc` (address in the module's DWARF), innermost first: a malloc'd array or NULL. */
static int function_scopes(Dwfl_Module *module, Dwarf_Addr pc, Dwarf_Die *cu, Dwarf_Die **chain) {
    *chain = NULL;
    Dwarf_Die *scopes = NULL;
    int count = dwarf_getscopes(cu, pc, &scopes);
    if (count <= 0) {
        free(scopes);
        return 0;
    }
    /* A fresh DIE of the innermost scope: its parents in the tree, not the abstract origin's. */
    Dwarf_Addr bias = 0;
    Dwarf_Die innermost;
    Dwarf *dwarf = dwfl_module_getdwarf(module, &bias);
    Dwarf_Die *found = dwarf ? dwarf_offdie(dwarf, dwarf_dieoffset(&scopes[0]), &innermost) : NULL;
    free(scopes);
    if (!found) return 0;
    count = dwarf_getscopes_die(&innermost, chain);
    if (count <= 0) {
        free(*chain);
        *chain = NULL;
        return 0;
    }
    return count;
}

/* Copies `count` frames and their strings into one block. */
static fl_source_frames *copy_out(const fl_source_frame *frames, uint32_t count) {
    size_t size = sizeof(fl_source_frames) + count * sizeof(fl_source_frame);
    for (uint32_t i = 0; i < count; i++) {
        if (frames[i].symbol) size += strlen(frames[i].symbol) + 1;
        if (frames[i].file) size += strlen(frames[i].file) + 1;
    }
    fl_source_frames *result = malloc(size);
    if (!result) return NULL;
    result->count = count;
    result->frames = (fl_source_frame *)(result + 1);
    char *strings = (char *)(result->frames + count);
    for (uint32_t i = 0; i < count; i++) {
        fl_source_frame *frame = &result->frames[i];
        *frame = frames[i];
        const char *texts[2] = { frames[i].symbol, frames[i].file };
        const char **targets[2] = { &frame->symbol, &frame->file };
        for (int t = 0; t < 2; t++) {
            if (!texts[t]) continue;
            size_t length = strlen(texts[t]) + 1;
            memcpy(strings, texts[t], length);
            *targets[t] = strings;
            strings += length;
        }
    }
    return result;
}

/* The frames of `pc` in `module`, written to `frames` (strings owned by libdwfl). Returns the count. */
static uint32_t collect(Dwfl_Module *module, uint64_t offset, uint64_t pc, fl_source_frame *frames) {
    GElf_Off symbol_offset = 0;
    GElf_Sym symbol;
    const char *name = dwfl_module_addrinfo(module, pc, &symbol_offset, &symbol, NULL, NULL, NULL);
    if (name && !(symbol.st_size > 0 && symbol_offset < symbol.st_size)) name = NULL;
    uint64_t symbol_start = pc - symbol_offset;

    const char *file = NULL;
    int line = 0, column = 0;
    Dwfl_Line *source = dwfl_module_getsrc(module, pc);
    if (source) file = dwfl_lineinfo(source, NULL, &line, &column, NULL, NULL);

    uint32_t count = 0;
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(module, pc, &bias);
    Dwarf_Die *chain = NULL;
    int scopes = cu ? function_scopes(module, pc - bias, cu, &chain) : 0;
    Dwarf_Files *files = NULL;
    if (scopes > 0 && dwarf_getsrcfiles(cu, &files, NULL) != 0) files = NULL;
    int outermost_found = 0;
    for (int i = 0; i < scopes && count < MAX_FRAMES; i++) {
        Dwarf_Die *die = &chain[i];
        if (!is_function(die)) continue;
        fl_source_frame *frame = &frames[count++];
        memset(frame, 0, sizeof *frame);
        frame->symbol = die_name(die);
        frame->file = file;
        frame->line = line;
        frame->column = column;
        if (dwarf_tag(die) != DW_TAG_inlined_subroutine) {
            Dwarf_Addr low = 0;
            if (dwarf_lowpc(die, &low) == 0 && low + bias <= offset) {
                frame->symbol_offset = offset - (low + bias);
                frame->has_symbol_offset = 1;
            }
            outermost_found = 1;
            break;
        }
        frame->inlined = 1;
        Dwarf_Word index = 0;
        Dwarf_Attribute attribute;
        file = files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attribute), &index) == 0
            ? dwarf_filesrc(files, index, NULL, NULL) : NULL;
        line = attribute_number(die, DW_AT_call_line);
        column = attribute_number(die, DW_AT_call_column);
    }
    free(chain);
    if (!outermost_found && count < MAX_FRAMES && (name || file)) {
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
    uint64_t pc = is_return_address && offset > 0 ? offset - 1 : offset;
    pthread_mutex_lock(&fl_symbols_lock);
    int status = FL_SYMBOLS_OK;
    Dwfl_Module *module = fl_symbols_module(path, build_id, build_id_length, &status);
    if (module) {
        fl_source_frame frames[MAX_FRAMES];
        uint32_t count = collect(module, offset, pc, frames);
        *result = copy_out(frames, count);
        if (!*result) status = FL_SYMBOLS_NO_MEMORY;
    }
    pthread_mutex_unlock(&fl_symbols_lock);
    return status;
}

void fl_symbols_free(fl_source_frames *frames) { free(frames); }
