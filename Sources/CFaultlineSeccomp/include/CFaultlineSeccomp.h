/*
 * CFaultlineSeccomp: the sandbox's seccomp program, built in the supervisor
 * with libseccomp, and system call names. Linked by the Swift `Faultline`
 * only (never by CFaultline, the pool's `faultline-helper` or the victims):
 * the helper and the workers receive the program as raw BPF
 * (CFaultlineSandbox.h) and never link libseccomp.
 *
 *   rules.c   the presets (pure, threads), Faultline's own calls, the file
 *             calls --allow-read/--allow-write add, the guards no rule may allow
 *   build.c   a program from a preset and rules: default SECCOMP_RET_TRAP,
 *             clone3 ENOSYS, a foreign architecture TRAP; exported as BPF
 *   names.c   names and numbers of system calls, per architecture
 */
#ifndef CFAULTLINE_SECCOMP_H
#define CFAULTLINE_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A comparison of one argument register (64 bits). */
enum {
    FL_SECCOMP_EQ = 1,
    FL_SECCOMP_NE = 2,
    FL_SECCOMP_LT = 3,
    FL_SECCOMP_LE = 4,
    FL_SECCOMP_GT = 5,
    FL_SECCOMP_GE = 6,
    FL_SECCOMP_MASKED_EQ = 7, /**< (argument & mask) == value */
};

typedef struct fl_seccomp_condition {
    uint32_t argument; /**< 0 to 5 */
    uint32_t op;       /**< FL_SECCOMP_* comparison */
    uint64_t value;
    uint64_t mask;     /**< MASKED_EQ only */
} fl_seccomp_condition;

/** Allow `name` when every condition holds (a rule without conditions: always). */
typedef struct fl_seccomp_rule {
    const char *name;
    uint32_t condition_count; /**< 0 to 6 */
    fl_seccomp_condition conditions[6];
} fl_seccomp_rule;

/** Presets. */
enum {
    FL_SECCOMP_PURE = 1,    /**< computation only (see rules.c) */
    FL_SECCOMP_THREADS = 2, /**< pure, and threads (clone with CLONE_THREAD, no namespace flags) */
};

/** `flags` of a build. */
enum {
    FL_SECCOMP_POOL_WORKER = 1u << 0, /**< the pool worker's channel: recvfrom, sendto, kill(helper, SIGUSR1) */
    FL_SECCOMP_FILES_READ = 1u << 1,  /**< open, stat and read files (Landlock decides which) */
    FL_SECCOMP_FILES_WRITE = 1u << 2, /**< and create, write, remove them */
    FL_SECCOMP_NETWORK_NONE = 1u << 3,/**< no rule may allow socket or socketpair */
};

/** Why a build failed. */
enum {
    FL_SECCOMP_ERROR_UNKNOWN = 1,   /**< `rule` names no system call of this architecture */
    FL_SECCOMP_ERROR_GUARDED = 2,   /**< `rule` names a system call Faultline always decides (a guard) */
    FL_SECCOMP_ERROR_NETWORK = 3,   /**< `rule` allows socket or socketpair under network none */
    FL_SECCOMP_ERROR_RULE = 4,      /**< libseccomp refused `rule` (`error_number`), or a value is a placeholder */
    FL_SECCOMP_ERROR_SYSTEM = 5,    /**< libseccomp or the export failed (`error_number`) */
    FL_SECCOMP_ERROR_TOO_LARGE = 6, /**< more instructions than the kernel takes */
};

typedef struct fl_seccomp_error {
    int32_t kind;
    int32_t rule;         /**< the index of the rule at fault, or -1 */
    int32_t error_number;
} fl_seccomp_error;

/**
 * Builds the program of `preset` plus `rules` (user rules, allowed in
 * addition) for the native architecture. On success returns 0 with a
 * malloc'd program in *program (*length instructions of 8 bytes; free it)
 * and the number of allow rules in *rule_count. Otherwise -1 and `error`.
 */
int fl_seccomp_build(uint32_t preset, uint32_t flags, const fl_seccomp_rule *rules, size_t count, void **program,
                     uint32_t *length, uint32_t *rule_count, fl_seccomp_error *error);

/**
 * Learning: a program whose default is SECCOMP_RET_USER_NOTIF, allowing
 * exit_group, exit, rt_sigreturn, recvfrom, sendto, kill, and sendmsg on
 * `handoff_fd` (build.c). 0 with a malloc'd program, or -1 and `error`.
 */
int fl_seccomp_build_learning(uint32_t handoff_fd, void **program, uint32_t *length, fl_seccomp_error *error);

/** The number of a system call of the native architecture, or -1 when it has none by that name. */
int32_t fl_seccomp_number(const char *name);

/** 1 when `name` is a guard: always denied, no rule may allow it. */
int fl_seccomp_is_guarded(const char *name);

/** The name of system call `number` of `arch` (an AUDIT_ARCH_* value, as in si_arch), malloc'd, or NULL. */
char *fl_seccomp_name(uint32_t arch, int32_t number);

/** The native architecture's AUDIT_ARCH_* value. */
uint32_t fl_seccomp_native_arch(void);

#ifdef __cplusplus
}
#endif
#endif
