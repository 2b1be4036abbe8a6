/*
 * build.c: the sandbox's seccomp program, built with libseccomp in the
 * supervisor and exported as raw BPF for the helper and the workers.
 *
 * Default action SECCOMP_RET_TRAP: a call no rule allows raises SIGSYS in
 * the worker (si_code SYS_SECCOMP, the call's number and arch), whose fault
 * handler reports the violation and dies of it. A foreign architecture
 * (i386's int 0x80, x32) is trapped the same way. clone3 answers ENOSYS, so
 * that glibc falls back to clone, whose flags the program can check. The
 * rules: the preset's, Faultline's own, the file calls the allowed paths
 * need (rules.c), then the user's (--allow-syscall, --sandbox-policy), each
 * checked: a name this architecture lacks, a guard, socket under network
 * none, a placeholder value, or a rule libseccomp refuses is an error naming
 * the rule. libseccomp builds a binary tree of the numbers
 * (SCMP_FLTATR_CTL_OPTIMIZE 2) and exports the program into a memfd, read
 * back here (libseccomp 2.5 has no export to memory).
 *
 * Not for signal handlers: malloc, libseccomp. Thread-safe (no state).
 *
 * Limits: the native architecture only. The kernel takes 4096 instructions.
 */
#include "rules.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const enum scmp_compare operators[] = {
    [FL_SECCOMP_EQ] = SCMP_CMP_EQ, [FL_SECCOMP_NE] = SCMP_CMP_NE, [FL_SECCOMP_LT] = SCMP_CMP_LT,
    [FL_SECCOMP_LE] = SCMP_CMP_LE, [FL_SECCOMP_GT] = SCMP_CMP_GT, [FL_SECCOMP_GE] = SCMP_CMP_GE,
    [FL_SECCOMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

static int is_placeholder(uint64_t value) { return value == FL_SANDBOX_PID_SELF || value == FL_SANDBOX_PID_HELPER; }

/* Adds one allow rule: 0, or a negative errno (libseccomp's). */
static int add_rule(scmp_filter_ctx context, int32_t number, const fl_seccomp_rule *rule) {
    struct scmp_arg_cmp comparisons[6];
    if (rule->condition_count > 6) return -EINVAL;
    for (uint32_t i = 0; i < rule->condition_count; i++) {
        const fl_seccomp_condition *condition = &rule->conditions[i];
        if (condition->argument > 5 || condition->op < FL_SECCOMP_EQ || condition->op > FL_SECCOMP_MASKED_EQ) return -EINVAL;
        comparisons[i] = (struct scmp_arg_cmp){.arg = condition->argument, .op = operators[condition->op]};
        if (condition->op == FL_SECCOMP_MASKED_EQ) {
            comparisons[i].datum_a = condition->mask;
            comparisons[i].datum_b = condition->value;
        } else {
            comparisons[i].datum_a = condition->value;
        }
    }
    int result = seccomp_rule_add_exact_array(context, SCMP_ACT_ALLOW, number, rule->condition_count, comparisons);
    return result == -EEXIST ? 0 : result;
}

/* Adds Faultline's rules of one set: 0, or -1 with `error`. */
static int add_set(scmp_filter_ctx context, int set, uint32_t *rule_count, fl_seccomp_error *error) {
    size_t count;
    const fl_seccomp_rule *rules = fl_seccomp_rules(set, &count);
    for (size_t i = 0; i < count; i++) {
        int32_t number = fl_seccomp_number(rules[i].name);
        if (number < 0) continue; /* not a call of this architecture (open on aarch64) */
        int result = add_rule(context, number, &rules[i]);
        if (result != 0) {
            *error = (fl_seccomp_error){FL_SECCOMP_ERROR_SYSTEM, -1, -result};
            return -1;
        }
        (*rule_count)++;
    }
    return 0;
}

/* Checks and adds the user's rules: 0, or -1 with `error`. */
static int add_user_rules(scmp_filter_ctx context, uint32_t flags, const fl_seccomp_rule *rules, size_t count,
                          uint32_t *rule_count, fl_seccomp_error *error) {
    for (size_t i = 0; i < count; i++) {
        const fl_seccomp_rule *rule = &rules[i];
        int32_t number = rule->name ? fl_seccomp_number(rule->name) : -1;
        int kind = 0;
        if (number < 0) kind = FL_SECCOMP_ERROR_UNKNOWN;
        else if (fl_seccomp_is_guarded(rule->name)) kind = FL_SECCOMP_ERROR_GUARDED;
        else if ((flags & FL_SECCOMP_NETWORK_NONE) && (!strcmp(rule->name, "socket") || !strcmp(rule->name, "socketpair")))
            kind = FL_SECCOMP_ERROR_NETWORK;
        for (uint32_t c = 0; kind == 0 && c < rule->condition_count && c < 6; c++) {
            if (is_placeholder(rule->conditions[c].value) || is_placeholder(rule->conditions[c].mask)) kind = FL_SECCOMP_ERROR_RULE;
        }
        int result = kind == 0 ? add_rule(context, number, rule) : 0;
        if (kind == 0 && result != 0) kind = FL_SECCOMP_ERROR_RULE;
        if (kind != 0) {
            *error = (fl_seccomp_error){kind, (int32_t)i, result != 0 ? -result : (kind == FL_SECCOMP_ERROR_RULE ? EINVAL : 0)};
            return -1;
        }
        (*rule_count)++;
    }
    return 0;
}

/* Exports the program into a malloc'd buffer: 0, or an errno value. */
static int export_program(scmp_filter_ctx context, void **program, uint32_t *length) {
    int fd = memfd_create("faultline-seccomp", MFD_CLOEXEC);
    if (fd < 0) return errno;
    int result = seccomp_export_bpf(context, fd);
    off_t size = result == 0 ? lseek(fd, 0, SEEK_END) : -1;
    if (result != 0 || size <= 0 || size % 8 != 0) {
        close(fd);
        return result != 0 ? -result : EIO;
    }
    if (size / 8 > FL_SANDBOX_MAX_FILTER) {
        close(fd);
        return E2BIG;
    }
    char *bytes = malloc((size_t)size);
    ssize_t got = bytes ? pread(fd, bytes, (size_t)size, 0) : -1;
    close(fd);
    if (got != size) {
        free(bytes);
        return bytes ? EIO : ENOMEM;
    }
    *program = bytes;
    *length = (uint32_t)(size / 8);
    return 0;
}

int fl_seccomp_build(uint32_t preset, uint32_t flags, const fl_seccomp_rule *rules, size_t count, void **program,
                     uint32_t *length, uint32_t *rule_count, fl_seccomp_error *error) {
    *program = NULL;
    *length = 0;
    *rule_count = 0;
    *error = (fl_seccomp_error){0, -1, 0};
    if (preset != FL_SECCOMP_PURE && preset != FL_SECCOMP_THREADS) {
        *error = (fl_seccomp_error){FL_SECCOMP_ERROR_SYSTEM, -1, EINVAL};
        return -1;
    }
    scmp_filter_ctx context = seccomp_init(SCMP_ACT_TRAP);
    if (context == NULL) {
        *error = (fl_seccomp_error){FL_SECCOMP_ERROR_SYSTEM, -1, ENOMEM};
        return -1;
    }
    int failed = seccomp_attr_set(context, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP) != 0 ||
                 seccomp_attr_set(context, SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0;
    int32_t clone3 = fl_seccomp_number("clone3");
    if (!failed && clone3 >= 0) failed = seccomp_rule_add_exact(context, SCMP_ACT_ERRNO(ENOSYS), clone3, 0) != 0;
    if (failed) *error = (fl_seccomp_error){FL_SECCOMP_ERROR_SYSTEM, -1, EINVAL};
    if (!failed) failed = add_set(context, RULES_PURE, rule_count, error) != 0;
    if (!failed && preset == FL_SECCOMP_THREADS) failed = add_set(context, RULES_THREADS, rule_count, error) != 0;
    if (!failed && (flags & FL_SECCOMP_POOL_WORKER)) failed = add_set(context, RULES_POOL, rule_count, error) != 0;
    if (!failed && (flags & (FL_SECCOMP_FILES_READ | FL_SECCOMP_FILES_WRITE)))
        failed = add_set(context, RULES_READ, rule_count, error) != 0;
    if (!failed && (flags & FL_SECCOMP_FILES_WRITE)) failed = add_set(context, RULES_WRITE, rule_count, error) != 0;
    if (!failed) failed = add_user_rules(context, flags, rules, count, rule_count, error) != 0;
    if (!failed) {
        int exported = export_program(context, program, length);
        if (exported != 0) {
            *error = (fl_seccomp_error){exported == E2BIG ? FL_SECCOMP_ERROR_TOO_LARGE : FL_SECCOMP_ERROR_SYSTEM, -1, exported};
            failed = 1;
        }
    }
    seccomp_release(context);
    return failed ? -1 : 0;
}

/* Learning: every call notifies the helper (SCMP_ACT_NOTIFY), except those that
   must not wait for it: the end of a thread or process and a signal handler's
   return, and the pool worker's own channel (recvfrom, sendto, kill to the
   helper) and the listener's hand-over (sendmsg on the hand-over descriptor). */
int fl_seccomp_build_learning(uint32_t handoff_fd, void **program, uint32_t *length, fl_seccomp_error *error) {
    *program = NULL;
    *length = 0;
    *error = (fl_seccomp_error){0, -1, 0};
    scmp_filter_ctx context = seccomp_init(SCMP_ACT_NOTIFY);
    if (context == NULL) {
        *error = (fl_seccomp_error){FL_SECCOMP_ERROR_SYSTEM, -1, ENOMEM};
        return -1;
    }
    static const char *const exempt[] = {"exit_group", "exit", "rt_sigreturn", "recvfrom", "sendto", "kill"};
    int failed = seccomp_attr_set(context, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP) != 0;
    for (size_t i = 0; !failed && i < sizeof exempt / sizeof exempt[0]; i++) {
        int32_t number = fl_seccomp_number(exempt[i]);
        if (number >= 0) failed = seccomp_rule_add_exact(context, SCMP_ACT_ALLOW, number, 0) != 0;
    }
    int32_t sendmsg = fl_seccomp_number("sendmsg");
    if (!failed && sendmsg >= 0)
        failed = seccomp_rule_add_exact(context, SCMP_ACT_ALLOW, sendmsg, 1, SCMP_A0(SCMP_CMP_EQ, handoff_fd)) != 0;
    int exported = failed ? EINVAL : export_program(context, program, length);
    seccomp_release(context);
    if (exported != 0) {
        *error = (fl_seccomp_error){FL_SECCOMP_ERROR_SYSTEM, -1, exported};
        return -1;
    }
    return 0;
}
