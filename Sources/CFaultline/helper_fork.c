/*
 * helper_fork.c: how the helper forks a worker: _Fork() when nothing loaded
 * in it can have registered a fork handler, fork() otherwise.
 *
 * Why. The helper has two threads (helper_config.c: its work runs on a thread
 * of its own, the constructor's only waits), so glibc's fork() takes the
 * multi-threaded path on every worker: it locks and unlocks the malloc arenas
 * and the stdio list around the fork and resets them in the child. Those
 * writes land on pages the helper shares with its live workers and standby,
 * so each costs a copy-on-write fault in the helper and another in the child:
 * ~5 % of the CPU a pool spends per crash here (faultline bench). Nothing
 * needs them: the thread that forks holds none of those locks, and the other
 * one only sleeps in pause().
 *
 * What _Fork() does not do is run the handlers libraries register with
 * pthread_atfork (a thread pool that must start again in the child, a random
 * generator that must be reseeded). So the helper uses it only when no object
 * loaded in it — the library, its dependencies, what --init opened — refers to
 * __register_atfork or pthread_atfork in its relocations: such a handler
 * cannot exist then. The helper's own program refers to it only for the fork
 * strategy's lock (fork_call.c), which the helper never uses; when the helper
 * is the supervisor's re-executed program, that program counts like the others.
 *
 * Decided once (fl_helper_choose_fork), after the library is loaded and init
 * has run, before the first worker is forked; runs in the helper's thread.
 *
 * Limits: a library that finds __register_atfork with dlsym and registers a
 * handler after the decision is not seen. Without _Fork (glibc < 2.34) or
 * with a dynamic section this file cannot read, fork() is used.
 */
#include "helper_internal.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

/* glibc >= 2.34; absent before (a weak reference is then NULL). */
extern pid_t _Fork(void) __attribute__((weak));
/* Defined by the faultline-helper program only (Sources/FaultlineHelper/main.c). */
extern const int fl_helper_program __attribute__((weak));

static int use_bare_fork;

/* An address of the dynamic section: relocated in place by the loader on most targets, else relative. */
static const void *dynamic_address(const struct dl_phdr_info *info, ElfW(Addr) value) {
    return (const void *)(value < info->dlpi_addr ? info->dlpi_addr + value : value);
}

static int names_fork_handlers(const ElfW(Sym) *symbols, const char *strings, const ElfW(Rela) *relocations, size_t bytes) {
    for (size_t i = 0; i < bytes / sizeof *relocations; i++) {
        size_t index = ELF64_R_SYM(relocations[i].r_info);
        if (index == 0) continue;
        const char *name = strings + symbols[index].st_name;
        if (strcmp(name, "__register_atfork") == 0 || strcmp(name, "pthread_atfork") == 0) return 1;
    }
    return 0;
}

/* 1 when this object may register a fork handler (or cannot be read), 0 when it cannot. */
static int may_register(struct dl_phdr_info *info, size_t size, void *unused) {
    (void)size;
    (void)unused;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (name[0] == '\0' && &fl_helper_program != NULL) return 0; /* this program: fork_call.c's lock only */
    if (strstr(name, "linux-vdso") || strstr(name, "/libc.so") || strstr(name, "/ld-linux")) return 0;
    const ElfW(Dyn) *dynamic = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dynamic = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    }
    if (dynamic == NULL) return 0; /* nothing to relocate, nothing imported */
    const ElfW(Sym) *symbols = NULL;
    const char *strings = NULL;
    const ElfW(Rela) *plt = NULL, *data = NULL;
    size_t plt_bytes = 0, data_bytes = 0;
    for (const ElfW(Dyn) *entry = dynamic; entry->d_tag != DT_NULL; entry++) {
        switch (entry->d_tag) {
        case DT_SYMTAB: symbols = dynamic_address(info, entry->d_un.d_ptr); break;
        case DT_STRTAB: strings = dynamic_address(info, entry->d_un.d_ptr); break;
        case DT_JMPREL: plt = dynamic_address(info, entry->d_un.d_ptr); break;
        case DT_PLTRELSZ: plt_bytes = entry->d_un.d_val; break;
        case DT_RELA: data = dynamic_address(info, entry->d_un.d_ptr); break;
        case DT_RELASZ: data_bytes = entry->d_un.d_val; break;
        case DT_PLTREL: if (entry->d_un.d_val != DT_RELA) return 1; break;
        case DT_REL: return 1; /* not this target's format: assume the worst */
        default: break;
        }
    }
    if ((plt_bytes || data_bytes) && (symbols == NULL || strings == NULL)) return 1;
    return (plt && names_fork_handlers(symbols, strings, plt, plt_bytes)) ||
           (data && names_fork_handlers(symbols, strings, data, data_bytes));
}

void fl_helper_choose_fork(void) {
#if defined(__x86_64__) || defined(__aarch64__)
    use_bare_fork = _Fork != NULL && dl_iterate_phdr(may_register, NULL) == 0;
#else
    use_bare_fork = 0;
#endif
}

pid_t fl_helper_fork(void) { return use_bare_fork ? _Fork() : fork(); }
