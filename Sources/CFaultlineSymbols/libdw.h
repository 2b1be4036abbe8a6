/*
 * libdw.h: elfutils' libdw and libdwfl, loaded on first use (libdw.c).
 *
 * Every file of CFaultlineSymbols includes this header instead of the
 * elfutils headers: the declarations come from those, and each function
 * used is redirected to a pointer filled by fl_dw_load. Nothing calls
 * libdw before fl_dw_load returned 1.
 */
#ifndef CFAULTLINE_SYMBOLS_LIBDW_H
#define CFAULTLINE_SYMBOLS_LIBDW_H

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>

/* Every libdw, libdwfl, libdwelf and libelf function CFaultlineSymbols calls. */
#define FL_DW_FUNCTIONS(X) \
    X(dwarf_attr) X(dwarf_attr_integrate) X(dwarf_child) X(dwarf_filesrc) X(dwarf_formref_die) \
    X(dwarf_formstring) X(dwarf_formudata) X(dwarf_get_units) X(dwarf_getsrc_die) X(dwarf_getsrcfiles) \
    X(dwarf_haspc) X(dwarf_linecol) X(dwarf_lineno) X(dwarf_linesrc) X(dwarf_lowpc) X(dwarf_ranges) \
    X(dwarf_siblingof) X(dwarf_tag) X(dwelf_elf_gnu_build_id) X(dwfl_begin) X(dwfl_build_id_find_debuginfo) \
    X(dwfl_end) X(dwfl_module_build_id) X(dwfl_module_getdwarf) X(dwfl_module_getsym_info) \
    X(dwfl_module_getsymtab) X(dwfl_module_info) X(dwfl_offline_section_address) X(dwfl_report_begin) \
    X(dwfl_report_elf) X(dwfl_report_end) X(dwfl_standard_find_debuginfo) X(elf_begin) X(elf_end)

/* The loaded functions, each with the type of its declaration. */
typedef struct fl_dw_api {
#define FL_DW_POINTER(name) __typeof__(name) *name;
    FL_DW_FUNCTIONS(FL_DW_POINTER)
#undef FL_DW_POINTER
} fl_dw_api;

extern fl_dw_api fl_dw;

/* Loads libdw.so.1 (RTLD_LOCAL) and every function once; 1 when all are there. Thread-safe. */
int fl_dw_load(void);

#ifndef FL_DW_NO_REDIRECT
#define dwarf_attr fl_dw.dwarf_attr
#define dwarf_attr_integrate fl_dw.dwarf_attr_integrate
#define dwarf_child fl_dw.dwarf_child
#define dwarf_filesrc fl_dw.dwarf_filesrc
#define dwarf_formref_die fl_dw.dwarf_formref_die
#define dwarf_formstring fl_dw.dwarf_formstring
#define dwarf_formudata fl_dw.dwarf_formudata
#define dwarf_get_units fl_dw.dwarf_get_units
#define dwarf_getsrc_die fl_dw.dwarf_getsrc_die
#define dwarf_getsrcfiles fl_dw.dwarf_getsrcfiles
#define dwarf_haspc fl_dw.dwarf_haspc
#define dwarf_linecol fl_dw.dwarf_linecol
#define dwarf_lineno fl_dw.dwarf_lineno
#define dwarf_linesrc fl_dw.dwarf_linesrc
#define dwarf_lowpc fl_dw.dwarf_lowpc
#define dwarf_ranges fl_dw.dwarf_ranges
#define dwarf_siblingof fl_dw.dwarf_siblingof
#define dwarf_tag fl_dw.dwarf_tag
#define dwelf_elf_gnu_build_id fl_dw.dwelf_elf_gnu_build_id
#define dwfl_begin fl_dw.dwfl_begin
#define dwfl_build_id_find_debuginfo fl_dw.dwfl_build_id_find_debuginfo
#define dwfl_end fl_dw.dwfl_end
#define dwfl_module_build_id fl_dw.dwfl_module_build_id
#define dwfl_module_getdwarf fl_dw.dwfl_module_getdwarf
#define dwfl_module_getsym_info fl_dw.dwfl_module_getsym_info
#define dwfl_module_getsymtab fl_dw.dwfl_module_getsymtab
#define dwfl_module_info fl_dw.dwfl_module_info
#define dwfl_offline_section_address fl_dw.dwfl_offline_section_address
#define dwfl_report_begin fl_dw.dwfl_report_begin
#define dwfl_report_elf fl_dw.dwfl_report_elf
#define dwfl_report_end fl_dw.dwfl_report_end
#define dwfl_standard_find_debuginfo fl_dw.dwfl_standard_find_debuginfo
#define elf_begin fl_dw.elf_begin
#define elf_end fl_dw.elf_end
#endif

#endif
