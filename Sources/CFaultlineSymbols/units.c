/*
 * units.c: which compile unit contains an address, by binary search.
 *
 * Built once per image from every unit's own ranges (dwarf_get_units, then
 * dwarf_ranges on the unit DIE: DW_AT_low_pc/high_pc or DW_AT_ranges). libdw
 * 0.188 finds units through .debug_aranges only (dwfl_module_addrdie,
 * dwfl_module_getsrc), and clang does not emit that section: without this
 * index, code built by clang (SwiftPM's C targets) would have no lines.
 *
 * For a skeleton unit (split DWARF) the line table is the skeleton's and the
 * functions are in the split unit, when libdw finds it. Each unit keeps its
 * function index (functions.c), made on its first look-up.
 */
#include "symbols_internal.h"

#include <dwarf.h>
#include <stdlib.h>

typedef struct unit_range {
    Dwarf_Addr low, high;
    size_t unit;
} unit_range;

struct fl_unit_table {
    Dwarf_Addr bias;
    size_t unit_count, range_count;
    fl_unit *units;
    unit_range *ranges;
};

static int by_low(const void *a, const void *b) {
    const unit_range *left = a, *right = b;
    return left->low < right->low ? -1 : left->low > right->low;
}

static void *grow(void *array, size_t *capacity, size_t count, size_t size) {
    if (count < *capacity) return array;
    size_t more = *capacity ? *capacity * 2 : 64;
    void *grown = realloc(array, more * size);
    if (grown) *capacity = more;
    return grown;
}

static struct fl_unit_table *build(Dwfl_Module *module) {
    struct fl_unit_table *table = calloc(1, sizeof *table);
    if (!table) return NULL;
    Dwarf *dwarf = dwfl_module_getdwarf(module, &table->bias);
    if (!dwarf) return table;
    size_t unit_capacity = 0, range_capacity = 0;
    Dwarf_CU *cu = NULL, *next = NULL;
    Dwarf_Half version = 0;
    uint8_t type = 0;
    Dwarf_Die unit_die, sub_die;
    while (dwarf_get_units(dwarf, cu, &next, &version, &type, &unit_die, &sub_die) == 0) {
        cu = next;
        if (type != DW_UT_compile && type != DW_UT_skeleton) continue;
        size_t index = table->unit_count;
        Dwarf_Addr base = 0, start = 0, end = 0;
        ptrdiff_t offset = 0;
        int ranges = 0;
        while ((offset = dwarf_ranges(&unit_die, offset, &base, &start, &end)) > 0) {
            if (end <= start) continue;
            unit_range *grown = grow(table->ranges, &range_capacity, table->range_count, sizeof(unit_range));
            if (!grown) return table;
            table->ranges = grown;
            table->ranges[table->range_count++] = (unit_range){ .low = start, .high = end, .unit = index };
            ranges++;
        }
        if (ranges == 0) continue;
        fl_unit *units = grow(table->units, &unit_capacity, table->unit_count, sizeof(fl_unit));
        if (!units) {
            table->range_count -= (size_t)ranges;
            return table;
        }
        table->units = units;
        int split = type == DW_UT_skeleton && sub_die.cu != NULL && dwarf_tag(&sub_die) == DW_TAG_compile_unit;
        table->units[table->unit_count++] = (fl_unit){ .lines = unit_die, .code = split ? sub_die : unit_die };
    }
    qsort(table->ranges, table->range_count, sizeof(unit_range), by_low);
    return table;
}

fl_unit *fl_unit_containing(fl_image *image, uint64_t address, Dwarf_Addr *pc) {
    if (!image->units) image->units = build(image->module);
    struct fl_unit_table *table = image->units;
    if (!table || table->range_count == 0 || address < table->bias) return NULL;
    *pc = address - table->bias;
    size_t low = 0, high = table->range_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (table->ranges[middle].low <= *pc) low = middle + 1; else high = middle;
    }
    for (size_t i = low; i-- > 0 && low - i <= 8;) { /* units do not overlap; a few steps back at most */
        if (*pc < table->ranges[i].high) return &table->units[table->ranges[i].unit];
    }
    return NULL;
}

void fl_unit_table_free(struct fl_unit_table *table) {
    if (!table) return;
    for (size_t i = 0; i < table->unit_count; i++) fl_functions_free(table->units[i].functions);
    free(table->units);
    free(table->ranges);
    free(table);
}
