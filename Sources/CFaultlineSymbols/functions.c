/*
 * functions.c: which DWARF function contains an address, by binary search.
 *
 * For a compile unit, on its first look-up (units.c keeps the result), one
 * walk of its DIE tree collects the address ranges of every DW_TAG_subprogram
 * with code (through
 * namespaces, classes, lexical blocks, nested functions, and units imported
 * with DW_TAG_imported_unit, as dwz makes them), sorted by start. A look-up
 * is then a binary search: the smallest range containing the address (a
 * nested function inside its parent's range wins). dwarf_getscopes walks the
 * whole unit for every address instead (tens of µs for a small unit).
 *
 * Inlined instances (DW_TAG_inlined_subroutine) are not indexed: resolve.c
 * walks down from the function found.
 */
#include "symbols_internal.h"

#include <dwarf.h>
#include <stdlib.h>

#define MAX_DEPTH 32

typedef struct range_entry {
    Dwarf_Addr low, high;
    Dwarf_Die die;
} range_entry;

struct fl_functions {
    size_t count, capacity;
    Dwarf_Addr longest;  /* the largest range: how far back a containing one may start */
    range_entry *entries;
};

static int add(struct fl_functions *unit, Dwarf_Addr low, Dwarf_Addr high, const Dwarf_Die *die) {
    if (unit->count == unit->capacity) {
        size_t capacity = unit->capacity ? unit->capacity * 2 : 64;
        range_entry *grown = realloc(unit->entries, capacity * sizeof *grown);
        if (!grown) return -1;
        unit->entries = grown;
        unit->capacity = capacity;
    }
    unit->entries[unit->count++] = (range_entry){ .low = low, .high = high, .die = *die };
    if (high - low > unit->longest) unit->longest = high - low;
    return 0;
}

/* Collects the functions among the children of `parent`. */
static void collect(struct fl_functions *unit, Dwarf_Die *parent, int depth) {
    Dwarf_Die child;
    if (depth >= MAX_DEPTH || dwarf_child(parent, &child) != 0) return;
    do {
        switch (dwarf_tag(&child)) {
        case DW_TAG_subprogram: {
            Dwarf_Addr base = 0, start = 0, end = 0;
            ptrdiff_t offset = 0;
            while ((offset = dwarf_ranges(&child, offset, &base, &start, &end)) > 0) {
                if (end > start) add(unit, start, end, &child);
            }
            collect(unit, &child, depth + 1);
            break;
        }
        case DW_TAG_namespace: case DW_TAG_class_type: case DW_TAG_structure_type: case DW_TAG_union_type:
        case DW_TAG_module: case DW_TAG_lexical_block:
            collect(unit, &child, depth + 1);
            break;
        case DW_TAG_imported_unit: {
            Dwarf_Attribute attribute;
            Dwarf_Die imported;
            if (dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &attribute), &imported)) collect(unit, &imported, depth + 1);
            break;
        }
        default:
            break;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
}

static int by_low(const void *a, const void *b) {
    const range_entry *left = a, *right = b;
    return left->low < right->low ? -1 : left->low > right->low;
}

struct fl_functions *fl_functions_build(Dwarf_Die *unit_die) {
    struct fl_functions *unit = calloc(1, sizeof *unit);
    if (!unit) return NULL;
    collect(unit, unit_die, 0);
    qsort(unit->entries, unit->count, sizeof(range_entry), by_low);
    return unit;
}

int fl_functions_find(const struct fl_functions *unit, Dwarf_Addr pc, Dwarf_Die *function) {
    if (!unit || unit->count == 0) return 0;
    size_t low = 0, high = unit->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (unit->entries[middle].low <= pc) low = middle + 1; else high = middle;
    }
    const range_entry *best = NULL;
    for (size_t i = low; i-- > 0;) {
        const range_entry *entry = &unit->entries[i];
        if (pc - entry->low >= unit->longest) break;
        if (pc < entry->high && (!best || entry->high - entry->low < best->high - best->low)) best = entry;
    }
    if (!best) return 0;
    *function = best->die;
    return 1;
}

void fl_functions_free(struct fl_functions *unit) {
    if (!unit) return;
    free(unit->entries);
    free(unit);
}
