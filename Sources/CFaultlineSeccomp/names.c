/*
 * names.c: system call names and numbers, from libseccomp's tables, for the
 * supervisor: a violation's number named (its arch is the si_arch the
 * kernel reported: x86-64, i386's int 0x80, x32, aarch64), a rule's name
 * checked. Not for signal handlers (malloc). Thread-safe.
 *
 * Limits: libseccomp's tables are those of its version (2.5.4 here): a
 * system call newer than it has no name (reported by number).
 */
#include "rules.h"

#include <seccomp.h>

/* x32's system calls are x86-64's arch with this bit in the number. */
#define X32_SYSCALL_BIT 0x40000000

int32_t fl_seccomp_number(const char *name) {
    int number = seccomp_syscall_resolve_name(name);
    return number >= 0 ? (int32_t)number : -1;
}

char *fl_seccomp_name(uint32_t arch, int32_t number) {
    if (number < 0) return NULL;
    if (arch == SCMP_ARCH_X86_64 && (number & X32_SYSCALL_BIT)) arch = SCMP_ARCH_X32;
    return seccomp_syscall_resolve_num_arch(arch, number);
}

uint32_t fl_seccomp_native_arch(void) { return seccomp_arch_native(); }
