/*
 * symtab.c: which function symbol contains an address, by binary search.
 *
 * The table is built once per image from the symbols libdwfl chose for the
 * module (dwfl_module_getsym_info: .symtab of the image or of its debug file,
 * else .dynsym, plus a MiniDebugInfo table): only defined, sized symbols of
 * functions (STT_FUNC, STT_GNU_IFUNC, or STT_NOTYPE code labels with a size),
 * sorted by start. A look-up names an address only when it lies in
 * [start, start + size) of a symbol: never the nearest symbol before it (a
 * stripped library's local function has no name rather than its neighbour's).
 * Among symbols containing the address, the one starting last wins, then a
 * global one over a weak one over a local one (aliases at the same start).
 *
 * dwfl_module_addrinfo does a linear scan of the whole table per address;
 * this costs one scan per image, then O(log n) per address.
 */
#include "symbols_internal.h"

#include <stdlib.h>

typedef struct symbol_entry {
    uint64_t start;
    uint64_t size;
    const char *name;
    int rank; /* 2 global, 1 weak, 0 local */
} symbol_entry;

struct fl_symbol_table {
    size_t count;
    uint64_t longest; /* the largest size: how far back a containing symbol may start */
    symbol_entry entries[];
};

static int by_start(const void *a, const void *b) {
    const symbol_entry *left = a, *right = b;
    if (left->start != right->start) return left->start < right->start ? -1 : 1;
    return left->rank - right->rank; /* the best alias last */
}

static struct fl_symbol_table *build(Dwfl_Module *module) {
    int total = dwfl_module_getsymtab(module);
    if (total < 0) total = 0;
    struct fl_symbol_table *table = malloc(sizeof *table + (size_t)total * sizeof(symbol_entry));
    if (!table) return NULL;
    table->count = 0;
    table->longest = 0;
    for (int i = 1; i < total; i++) {
        GElf_Sym symbol;
        GElf_Addr address = 0;
        GElf_Word section = 0;
        const char *name = dwfl_module_getsym_info(module, i, &symbol, &address, &section, NULL, NULL);
        int type = GELF_ST_TYPE(symbol.st_info);
        if (!name || !name[0] || symbol.st_size == 0 || section == SHN_UNDEF || section == SHN_ABS) continue;
        if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) continue;
        int binding = GELF_ST_BIND(symbol.st_info);
        symbol_entry *entry = &table->entries[table->count++];
        entry->start = address;
        entry->size = symbol.st_size;
        entry->name = name;
        entry->rank = binding == STB_GLOBAL ? 2 : binding == STB_WEAK ? 1 : 0;
        if (entry->size > table->longest) table->longest = entry->size;
    }
    qsort(table->entries, table->count, sizeof(symbol_entry), by_start);
    return table;
}

const char *fl_symbol_containing(fl_image *image, uint64_t address, uint64_t *start) {
    if (!image->symbols) image->symbols = build(image->module);
    struct fl_symbol_table *table = image->symbols;
    if (!table || table->count == 0) return NULL;
    /* The last entry starting at or before the address. */
    size_t low = 0, high = table->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (table->entries[middle].start <= address) low = middle + 1; else high = middle;
    }
    for (size_t i = low; i-- > 0;) {
        const symbol_entry *entry = &table->entries[i];
        if (address - entry->start >= table->longest) break;
        if (address - entry->start < entry->size) { /* the latest start; the best alias sorts last */
            *start = entry->start;
            return entry->name;
        }
    }
    return NULL;
}

void fl_symbol_table_free(struct fl_symbol_table *table) { free(table); }
