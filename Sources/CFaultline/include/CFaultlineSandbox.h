/*
 * CFaultlineSandbox.h: the opt-in sandbox of the process strategies' workers
 * (the pool, the fork server, fork per call).
 *
 *   sandbox_prepare.c  before any worker exists: the configuration decoded, the Landlock
 *                      ruleset and the network namespace made once, a probe that measures
 *                      what this kernel enforces
 *   sandbox_netns.c    the network namespace: a user + network namespace made once by a
 *                      short-lived child, held as two descriptors
 *   sandbox_apply.c    in each freshly forked worker (async-signal-safe): rlimits, the
 *                      network namespace, Landlock, seccomp last
 *
 * The seccomp program itself is built in the supervisor (CFaultlineSeccomp,
 * with libseccomp) and travels here as raw BPF: the helper and the workers
 * never link libseccomp. Two 32-bit values in it are placeholders, replaced in
 * each worker before it installs the program: FL_SANDBOX_PID_SELF (the
 * worker's own pid: tgkill, process_vm_readv) and FL_SANDBOX_PID_HELPER (the
 * helper's pid: the one kill a worker's fault handler makes).
 */
#ifndef CFAULTLINE_SANDBOX_H
#define CFAULTLINE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Placeholders in a seccomp program (never a pid: pids stay below 2^22). */
#define FL_SANDBOX_PID_SELF 0x7f5a0001u
#define FL_SANDBOX_PID_HELPER 0x7f5a0002u

/** `flags` of a sandbox configuration. */
enum {
    FL_SANDBOX_NETWORK_NONE = 1u << 0,  /**< a network namespace of its own (loopback only); Landlock denies TCP */
    FL_SANDBOX_STRICT = 1u << 1,        /**< refuse to run with less than asked (fl_sandbox_missing) */
    FL_SANDBOX_LIMIT_CPU = 1u << 2,     /**< RLIMIT_CPU = cpu_seconds (soft; hard one second more) */
    FL_SANDBOX_LIMIT_FSIZE = 1u << 3,   /**< RLIMIT_FSIZE = file_size */
    FL_SANDBOX_LIMIT_NOFILE = 1u << 4,  /**< RLIMIT_NOFILE = open_files */
    FL_SANDBOX_LEARN = 1u << 5,         /**< learning (pool only): NOT a sandbox; the program notifies the helper
                                             (SECCOMP_RET_USER_NOTIF), which records each call and lets it continue */
};

/** Learning: the descriptor a worker hands its seccomp listener over (sendmsg, allowed on it alone). */
#define FL_SANDBOX_LEARN_HANDOFF_FD 1000
/** Learning: system call numbers recorded (0 ..< this). */
#define FL_SANDBOX_LEARN_SYSCALLS 512
/** Learning: what the helper recorded of one system call number. */
typedef struct fl_learned_syscall {
    uint64_t count;       /**< notifications, made during a call or not */
    int64_t first_input;  /**< index (in its fl_pool_run) of the first input during whose call it was made; -1: none */
} fl_learned_syscall;

/** What a prepared sandbox enforces in its workers (`enforced`, measured by a probe). */
enum {
    FL_ENFORCED_LIMITS = 1u << 0,       /**< the rlimits asked for (and no core dumps) */
    FL_ENFORCED_NETNS = 1u << 1,        /**< the workers run in the pool's own network namespace */
    FL_ENFORCED_LANDLOCK = 1u << 2,     /**< Landlock restricts the filesystem (ABI >= 1) */
    FL_ENFORCED_SECCOMP = 1u << 3,      /**< the seccomp program is installed */
    FL_ENFORCED_LANDLOCK_TCP = 1u << 4, /**< Landlock denies TCP bind and connect (ABI >= 4, network none) */
    FL_ENFORCED_LANDLOCK_SCOPE = 1u << 5, /**< Landlock scopes abstract UNIX sockets (ABI >= 6, network none) */
};

/** A sandbox as the supervisor describes it. Paths are NUL-terminated; any bytes but NUL. */
typedef struct fl_sandbox_config {
    uint32_t flags;              /**< FL_SANDBOX_* */
    uint32_t filter_length;      /**< instructions of `filter` (struct sock_filter, 8 bytes each); 0: no seccomp */
    const void *filter;          /**< the BPF program, FL_SANDBOX_PID_* placeholders included */
    const char *const *read_paths;  /**< Landlock: read beneath these */
    uint32_t read_count;
    const char *const *write_paths; /**< Landlock: read and write beneath these */
    uint32_t write_count;
    uint64_t cpu_seconds;        /**< with FL_SANDBOX_LIMIT_CPU */
    uint64_t file_size;          /**< with FL_SANDBOX_LIMIT_FSIZE */
    uint64_t open_files;         /**< with FL_SANDBOX_LIMIT_NOFILE */
} fl_sandbox_config;

/** The most BPF instructions a program may have (the kernel's BPF_MAXINSNS). */
#define FL_SANDBOX_MAX_FILTER 4096

/** What a prepared sandbox enforces, or why it could not be prepared. */
typedef struct fl_sandbox_status {
    uint32_t enforced;           /**< FL_ENFORCED_* */
    int32_t landlock_abi;        /**< the kernel's Landlock ABI (0: none) */
    int32_t error_number;        /**< a failure: its errno (0: none) */
    int32_t failed_path;         /**< an allowed path that could not be opened: its index (read paths first), or -1 */
} fl_sandbox_status;

/** The FL_ENFORCED_* bits a configuration asks for: what --sandbox-strict requires. */
uint32_t fl_sandbox_asked(const fl_sandbox_config *config);

/** A sandbox prepared in this process for its forked children (fork per call). */
typedef struct fl_sandbox fl_sandbox;

/**
 * Prepares `config` for the children this process forks: opens the allowed
 * paths, makes the Landlock ruleset and the network namespace, and measures
 * in a probe child what is enforced (`status`). Returns NULL with `status`
 * filled when a path cannot be opened or memory runs out; with
 * FL_SANDBOX_STRICT also when less than asked is enforced (error_number 0).
 * Not for signal handlers. Forks (the probe, the namespace's maker): call
 * it from a thread that may fork.
 */
fl_sandbox *fl_sandbox_create(const fl_sandbox_config *config, fl_sandbox_status *status);

/** Closes its descriptors and frees it. */
void fl_sandbox_destroy(fl_sandbox *sandbox);

struct fl_report;
struct fl_signature;

/**
 * fl_fork_call and fl_fork_invoke with a sandbox (CFaultlineSandbox.h; NULL:
 * none): the child applies it after the initializer and before the call
 * (rlimits, network namespace, Landlock, seccomp last). A denied system call
 * ends the call with FL_KIND_VIOLATION; a death by SIGSYS without a report is
 * FL_KIND_VIOLATION with syscall_nr -1. A child that cannot apply what the
 * sandbox's probe enforced makes no call: they return -EPERM.
 */
int fl_fork_call_sandboxed(int (*function)(int), int input, int64_t timeout_ns, int options,
                           const struct fl_sandbox *sandbox, struct fl_report *report);
int fl_fork_invoke_sandboxed(const struct fl_signature *signature, void *function, const uint8_t *arguments,
                             size_t arguments_size, int (*init)(void), int64_t timeout_ns, int options,
                             const struct fl_sandbox *sandbox, struct fl_report *report, uint8_t *result, size_t result_size);

#ifdef __cplusplus
}
#endif
#endif
