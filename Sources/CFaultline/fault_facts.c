/*
 * fault_facts.c: what a handler learns about a fault beyond the signal and
 * the stack — the kind of access, the stack pointer, and for SIGABRT the
 * message the C runtime left for it — and where a backtrace is cut.
 *
 * Access kind (x86-64): a page fault (trap 14) leaves the CPU's error code in
 * the context: bit 4 an instruction fetch, bit 1 a write, else a read.
 *
 * Messages: glibc keeps the text of its fatal messages (malloc's checks,
 * `*** stack smashing detected ***`, fortify's `*** buffer overflow
 * detected ***`, a failed assert) in `__abort_msg` before it calls abort().
 * An uncaught C++ exception leaves its type with libstdc++
 * (`__cxa_current_exception_type`, called by the terminate handler itself).
 * Both are copied with process_vm_readv on this very process, which fails
 * with EFAULT where a plain load would fault: a callee may have left any
 * pointer there. glibc's buffer is taken (the pointer cleared and the pages
 * unmapped), so that a later abort in the same process never shows an
 * earlier message.
 *
 * A violation (SIGSYS with si_code SYS_SECCOMP, raised by a seccomp program's
 * SECCOMP_RET_TRAP): the system call's number and arch from the siginfo, its
 * six arguments from the context's registers (x86-64: rdi, rsi, rdx, r10,
 * r8, r9; aarch64: x0-x5), the address of the instruction after it.
 *
 * The cut: the frames of Faultline's call machinery (every file that calls a
 * callee is compiled into the `fl_calls` section, see FL_CALLS_SECTION) and
 * the libffi frames just above them end a backtrace: what remains starts at
 * the faulting pc and ends at the callee's entry.
 *
 * Async-signal-safe after fl_fault_facts_load (outside handlers): loads,
 * stores, process_vm_readv and munmap (plain system calls).
 *
 * Limits: access kinds on x86-64 only (aarch64 reports unknown). `__abort_msg`
 * is GLIBC_PRIVATE: a glibc without it gives no message, never a wrong one.
 * An exception's what() is never called (that would run the callee's code in
 * a handler); its type is. A callee that uses libffi itself and faults below
 * its own ffi_call keeps those frames (only libffi frames directly above
 * Faultline's are cut).
 */
#include "internal.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <ffi.h>

/* glibc's `struct abort_msg_s { unsigned int size; char msg[]; }`. */
struct fl_abort_msg {
    unsigned int size;
    char msg[];
};

static struct fl_abort_msg *volatile *abort_msg_slot;
static const void *(*volatile current_exception_type)(void);
static uint64_t ffi_low, ffi_high;
static pthread_once_t facts_once = PTHREAD_ONCE_INIT;

/* The bounds of the call machinery's code: the linker defines them for the section. */
extern char __start_fl_calls[] __attribute__((weak, visibility("hidden")));
extern char __stop_fl_calls[] __attribute__((weak, visibility("hidden")));

struct text_search {
    uint64_t address;
    uint64_t low, high;
};

/* The executable segment of the object that holds `address`. */
static int find_text(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct text_search *search = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
        if (phdr->p_type != PT_LOAD || !(phdr->p_flags & PF_X)) continue;
        uint64_t low = (uint64_t)info->dlpi_addr + phdr->p_vaddr;
        uint64_t high = low + phdr->p_memsz;
        if (search->address >= low && search->address < high) {
            search->low = low;
            search->high = high;
            return 1;
        }
    }
    return 0;
}

static void load_once(void) {
    abort_msg_slot = (struct fl_abort_msg *volatile *)dlvsym(RTLD_DEFAULT, "__abort_msg", "GLIBC_PRIVATE");
    struct text_search search = {.address = (uint64_t)(uintptr_t)&ffi_call};
    if (dl_iterate_phdr(find_text, &search)) {
        ffi_low = search.low;
        ffi_high = search.high;
    }
}

void fl_fault_facts_load(void) {
    pthread_once(&facts_once, load_once);
    /* libstdc++ may be loaded after the first call (with the callee's library). */
    if (current_exception_type == NULL) {
        void *found = dlsym(RTLD_DEFAULT, "__cxa_current_exception_type");
        /* A library loaded RTLD_LOCAL keeps its libstdc++ out of the global scope. */
        void *runtime = found ? NULL : dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
        if (runtime != NULL) {
            found = dlsym(runtime, "__cxa_current_exception_type");
            dlclose(runtime);
        }
        current_exception_type = (const void *(*)(void))found;
    }
}

size_t fl_copy_checked(void *to, const void *from, size_t size) {
    struct iovec local = {.iov_base = to, .iov_len = size};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)from, .iov_len = size};
    long copied = syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
    return copied > 0 ? (size_t)copied : 0;
}

/* Copies a NUL-terminated text at `from` (cut at the message's size) into the report. */
static void take_text(fl_report *report, const char *prefix, const char *from) {
    size_t length = 0;
    for (; prefix[length] != '\0' && length < FL_MESSAGE_MAX; length++) report->message[length] = prefix[length];
    /* Page by page: a text that ends just before an unmapped page is still read. */
    while (length < FL_MESSAGE_MAX) {
        size_t chunk = 4096 - ((uintptr_t)from & 4095);
        if (chunk > FL_MESSAGE_MAX - length) chunk = FL_MESSAGE_MAX - length;
        size_t copied = fl_copy_checked(report->message + length, from, chunk);
        size_t end = 0;
        while (end < copied && report->message[length + end] != '\0') end++;
        length += end;
        if (end < chunk) break;
        from += chunk;
    }
    while (length > 0 && (report->message[length - 1] == '\n' || report->message[length - 1] == ' ')) length--;
    report->message_length = (uint32_t)length;
}

static void capture_message(fl_report *report) {
    if (abort_msg_slot != NULL) {
        struct fl_abort_msg *message = NULL;
        if (fl_copy_checked(&message, (const void *)abort_msg_slot, sizeof message) == sizeof message && message != NULL) {
            unsigned int size = 0;
            fl_copy_checked(&size, &message->size, sizeof size);
            take_text(report, "", message->msg);
            *abort_msg_slot = NULL;
            if (size >= 4096 && size <= (1u << 20) && ((uintptr_t)message & 4095) == 0) syscall(SYS_munmap, message, (size_t)size);
            if (report->message_length > 0) return;
        }
    }
    const void *(*type_of)(void) = current_exception_type;
    if (type_of != NULL) {
        /* std::type_info: a vtable pointer, then the mangled name (a leading '*' marks a local type). */
        const void *type = type_of();
        const char *name = NULL;
        if (type != NULL && fl_copy_checked(&name, (const char *)type + sizeof(void *), sizeof name) == sizeof name && name != NULL) {
            char first = 0;
            fl_copy_checked(&first, name, 1);
            take_text(report, "typeinfo:", first == '*' ? name + 1 : name);
        }
    }
}

/* si_code of a SIGSYS raised by seccomp. */
#define FL_SYS_SECCOMP 1

static void capture_syscall(fl_report *report, const siginfo_t *info, const ucontext_t *uc) {
    report->kind = FL_KIND_VIOLATION;
    report->syscall_nr = info->si_syscall;
    report->syscall_arch = info->si_arch;
    report->address = (uint64_t)(uintptr_t)info->si_call_addr;
    if (uc == NULL) return;
#if defined(__x86_64__)
    static const int registers[6] = {REG_RDI, REG_RSI, REG_RDX, REG_R10, REG_R8, REG_R9};
    for (int i = 0; i < 6; i++) report->syscall_args[i] = (uint64_t)uc->uc_mcontext.gregs[registers[i]];
#elif defined(__aarch64__)
    for (int i = 0; i < 6; i++) report->syscall_args[i] = (uint64_t)uc->uc_mcontext.regs[i];
#endif
}

void fl_fault_facts_capture(fl_report *report, int signo, const siginfo_t *info, const void *context) {
    report->sp = 0;
    report->access = FL_ACCESS_UNKNOWN;
    report->message_length = 0;
    report->syscall_nr = -1;
    report->syscall_arch = 0;
    for (int i = 0; i < 6; i++) report->syscall_args[i] = 0;
    if (signo == SIGSYS && info != NULL && info->si_code == FL_SYS_SECCOMP) capture_syscall(report, info, context);
    if (context != NULL) {
        const ucontext_t *uc = context;
#if defined(__x86_64__)
        report->sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
        if ((signo == SIGSEGV || signo == SIGBUS) && report->code > 0 && uc->uc_mcontext.gregs[REG_TRAPNO] == 14) {
            uint64_t error = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
            report->access = (error & 0x10) ? FL_ACCESS_EXEC : (error & 0x2) ? FL_ACCESS_WRITE : FL_ACCESS_READ;
        }
#elif defined(__aarch64__)
        report->sp = (uint64_t)uc->uc_mcontext.sp;
#endif
    }
    if (signo == SIGABRT) capture_message(report);
}

/* 1 when `pc` is in Faultline's call machinery. */
static inline int in_machinery(uint64_t pc) {
    return __start_fl_calls != NULL && pc >= (uint64_t)(uintptr_t)__start_fl_calls && pc < (uint64_t)(uintptr_t)__stop_fl_calls;
}

static inline int in_ffi(uint64_t pc) { return pc >= ffi_low && pc < ffi_high; }

uint32_t fl_frames_cut_at_call(const uint64_t *frames, uint32_t count, int *cut) {
    *cut = 0;
    /* Frame 0 is the faulting pc: always the callee's (or a jump to nowhere). */
    for (uint32_t i = 1; i < count; i++) {
        if (!in_machinery(frames[i])) continue;
        uint32_t end = i;
        while (end > 1 && in_ffi(frames[end - 1])) end--;
        *cut = 1;
        return end;
    }
    return count;
}
