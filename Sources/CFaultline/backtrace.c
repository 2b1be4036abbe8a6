/*
 * backtrace.c: return addresses of the interrupted frames, from a signal context.
 *
 * libunwind is loaded with dlopen(RTLD_LOCAL) and called through pointers.
 * Linking libunwind.so instead would make every `_Unwind_*` reference in the
 * process (C++ throw/catch, Swift) bind to libunwind's, which is about 17x
 * slower for C++ exceptions on our machines. Here only this file uses it.
 *
 * Async-signal-safety: dlopen/dlsym run once, outside any handler
 * (fl_backtrace_load, called when the guard is installed and before a fork).
 * In the handler the first choice is unw_backtrace, libunwind's fast path:
 * it walks from the handler itself, through the signal frame, with a
 * per-thread cache of frame layouts, and takes about 0.2 µs once warm (a full
 * unw_step walk costs ~7 µs here, mostly in signal-mask system calls of
 * libunwind's locks). We keep the frames from the one whose address is the
 * interrupted instruction on. If that frame is not found, the slow path
 * (unw_init_local2 on the signal context, then unw_step) runs instead.
 * libunwind documents both as signal-safe. Names are never resolved here:
 * the Swift side symbolizes addresses afterwards (a ~0.5 ms job).
 *
 * Limits: without libunwind (libunwind-dev not installed) the report holds
 * only the faulting instruction. A stack too corrupt to walk ends the walk.
 */
#include "internal.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <ucontext.h>
/* Local unwinding only: the _UL* symbols, which libunwind.so.8 exports. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#define FL_STRINGIFY2(x) #x
#define FL_STRINGIFY(x) FL_STRINGIFY2(x)

static int (*unwind_init_local2)(unw_cursor_t *, unw_context_t *, int);
static int (*unwind_step)(unw_cursor_t *);
static int (*unwind_get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
static int (*unwind_backtrace)(void **, int);
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;

static void load(void) {
    static const char *const names[] = {"libunwind.so.8", "libunwind.so"};
    void *handle = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && handle == NULL; i++) {
        handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (handle == NULL) return;
    /* unw_init_local2 is a macro naming the architecture's symbol, e.g. _ULx86_64_init_local2. */
    unwind_init_local2 = (int (*)(unw_cursor_t *, unw_context_t *, int))dlsym(handle, FL_STRINGIFY(unw_init_local2));
    unwind_step = (int (*)(unw_cursor_t *))dlsym(handle, FL_STRINGIFY(unw_step));
    unwind_get_reg = (int (*)(unw_cursor_t *, unw_regnum_t, unw_word_t *))dlsym(handle, FL_STRINGIFY(unw_get_reg));
    unwind_backtrace = (int (*)(void **, int))dlsym(handle, "unw_backtrace");
    loaded = unwind_init_local2 && unwind_step && unwind_get_reg;
}

int fl_backtrace_load(void) {
    pthread_once(&load_once, load);
    fl_fault_facts_load();
    fl_image_notes_prepare();
    return loaded;
}

uint64_t fl_context_pc(void *context) {
    const ucontext_t *uc = context;
#if defined(__x86_64__)
    return (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uint64_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

static uint32_t walk(unw_cursor_t *cursor, uint64_t *frames, uint32_t capacity) {
    uint32_t count = 0;
    do {
        unw_word_t ip = 0;
        if (unwind_get_reg(cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
        frames[count++] = (uint64_t)ip;
    } while (count < capacity && unwind_step(cursor) > 0);
    return count;
}

/* Reads every program header of a module, as libunwind's search for a
   frame's unwind table does: the pages they are on get mapped in this process. */
static int touch_headers(struct dl_phdr_info *info, size_t size, void *sum) {
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) *(volatile uint64_t *)sum += info->dlpi_phdr[i].p_type;
    return 0;
}

void fl_backtrace_walk_once(void) {
    /* unw_backtrace is the walk the handler tries first (libunwind >= 1.1). */
    if (!loaded || !unwind_backtrace) return;
    void *raw[FL_MAX_FRAMES];
    unwind_backtrace(raw, FL_MAX_FRAMES);
}

void fl_backtrace_map_headers(void) {
    if (!loaded) return;
    /* A frame the caches do not know (the callee's) makes libunwind look at
       every loaded module's headers: map those pages now, not in the handler
       (in a forked process each is a page fault of several µs). */
    uint64_t sum = 0;
    dl_iterate_phdr(touch_headers, &sum);
}

void fl_backtrace_warm_up(void) {
    fl_backtrace_walk_once();
    fl_backtrace_map_headers();
}

uint32_t fl_backtrace_from_pushed_return(void *context, uint64_t *frames, uint32_t capacity) {
#if defined(__x86_64__)
    if (capacity < 2 || context == NULL || !loaded) return 0;
    const ucontext_t *uc = context;
    uint64_t sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP], pushed = 0;
    if (fl_copy_checked(&pushed, (const void *)(uintptr_t)sp, sizeof pushed) != sizeof pushed || pushed == 0) return 0;
    /* The state of the caller just after its call: every register as the call
       left it, the return address popped. Not a signal frame: the look-up of
       the return address is at pc - 1, as for any caller. */
    ucontext_t caller = *uc;
    caller.uc_mcontext.gregs[REG_RIP] = (greg_t)pushed;
    caller.uc_mcontext.gregs[REG_RSP] = (greg_t)(sp + sizeof pushed);
    unw_cursor_t cursor;
    if (unwind_init_local2(&cursor, (unw_context_t *)&caller, 0) < 0) return 0;
    frames[0] = fl_context_pc(context);
    return 1 + walk(&cursor, frames + 1, capacity - 1);
#else
    (void)context;
    (void)frames;
    (void)capacity;
    return 0;
#endif
}

uint32_t fl_backtrace_from_context(void *context, uint64_t *frames, uint32_t capacity) {
    if (capacity == 0) return 0;
    if (!loaded) {
        frames[0] = fl_context_pc(context);
        return 1;
    }
    if (unwind_backtrace) {
        /* The handler's own frames and the signal trampoline come first. */
        enum { HANDLER_FRAMES = 8 };
        void *raw[FL_MAX_FRAMES + HANDLER_FRAMES];
        int count = unwind_backtrace(raw, FL_MAX_FRAMES + HANDLER_FRAMES);
        uint64_t pc = fl_context_pc(context);
        for (int first = 0; first < count && first < HANDLER_FRAMES; first++) {
            if ((uint64_t)(uintptr_t)raw[first] != pc) continue;
            uint32_t kept = 0;
            for (int i = first; i < count && kept < capacity; i++) frames[kept++] = (uint64_t)(uintptr_t)raw[i];
            return kept;
        }
    }
    unw_cursor_t cursor;
    if (unwind_init_local2(&cursor, (unw_context_t *)context, UNW_INIT_SIGNAL_FRAME) < 0) {
        frames[0] = fl_context_pc(context);
        return 1;
    }
    return walk(&cursor, frames, capacity);
}
