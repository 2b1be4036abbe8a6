/*
 * sandbox.h: what the sandbox's files share (sandbox_prepare.c,
 * sandbox_netns.c, sandbox_apply.c), and Landlock's kernel interface, spelled
 * here: the installed kernel headers (6.1) lack its network and scope fields.
 * Internal.
 */
#ifndef CFAULTLINE_SANDBOX_INTERNAL_H
#define CFAULTLINE_SANDBOX_INTERNAL_H

#include "include/CFaultlineSandbox.h"
#include "internal.h"

#include <linux/filter.h>
#include <sys/resource.h>

/* Landlock (include/uapi/linux/landlock.h), as of ABI 7. */
#define FL_LANDLOCK_CREATE_RULESET_VERSION (1u << 0)
#define FL_LANDLOCK_RULE_PATH_BENEATH 1
#define FL_LANDLOCK_RULE_NET_PORT 2
#define FL_SYS_landlock_create_ruleset 444
#define FL_SYS_landlock_add_rule 445
#define FL_SYS_landlock_restrict_self 446

struct fl_landlock_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};

struct fl_landlock_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

#define FL_LL_FS_EXECUTE (1ull << 0)
#define FL_LL_FS_WRITE_FILE (1ull << 1)
#define FL_LL_FS_READ_FILE (1ull << 2)
#define FL_LL_FS_READ_DIR (1ull << 3)
#define FL_LL_FS_REMOVE_DIR (1ull << 4)
#define FL_LL_FS_REMOVE_FILE (1ull << 5)
#define FL_LL_FS_MAKE_CHAR (1ull << 6)
#define FL_LL_FS_MAKE_DIR (1ull << 7)
#define FL_LL_FS_MAKE_REG (1ull << 8)
#define FL_LL_FS_MAKE_SOCK (1ull << 9)
#define FL_LL_FS_MAKE_FIFO (1ull << 10)
#define FL_LL_FS_MAKE_BLOCK (1ull << 11)
#define FL_LL_FS_MAKE_SYM (1ull << 12)
#define FL_LL_FS_REFER (1ull << 13)    /* ABI 2 */
#define FL_LL_FS_TRUNCATE (1ull << 14) /* ABI 3 */
#define FL_LL_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */
#define FL_LL_NET_BIND_TCP (1ull << 0)    /* ABI 4 */
#define FL_LL_NET_CONNECT_TCP (1ull << 1) /* ABI 4 */
#define FL_LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ull << 0) /* ABI 6 */

/* Where a placeholder of the seccomp program is (an instruction's index). */
#define FL_SANDBOX_MAX_PATCHES 16

/* A prepared sandbox: made once (in the helper, or in the process that forks
   per call), inherited by every worker, which applies it to itself. */
struct fl_sandbox {
    uint32_t flags;            /* FL_SANDBOX_* */
    uint32_t enforced;         /* FL_ENFORCED_*: what the probe applied; every worker must */
    int32_t landlock_abi;
    int ruleset_fd;            /* Landlock's ruleset, or -1 */
    int userns_fd, netns_fd;   /* the namespaces' descriptors, or -1 */
    struct rlimit cpu, file_size, open_files;
    struct sock_filter *filter; /* NULL: no seccomp */
    uint32_t filter_length;
    uint32_t self_at[FL_SANDBOX_MAX_PATCHES];   /* instructions comparing with FL_SANDBOX_PID_SELF */
    uint32_t helper_at[FL_SANDBOX_MAX_PATCHES]; /* ... with FL_SANDBOX_PID_HELPER */
    uint32_t self_count, helper_count;
    pid_t helper;              /* what FL_SANDBOX_PID_HELPER becomes */
};

/* sandbox_prepare.c: prepares `config` for workers whose fault handlers signal
   `helper` (0: none). Fills `status`; returns 0, or -1 (status says why).
   `box` is filled even when it fails (fl_sandbox_release frees it). */
int fl_sandbox_prepare(struct fl_sandbox *box, const fl_sandbox_config *config, pid_t helper, fl_sandbox_status *status);
/* sandbox_prepare.c: closes its descriptors and frees its program. */
void fl_sandbox_release(struct fl_sandbox *box);

/* sandbox_netns.c: makes a user and a network namespace (a child unshares
   them and maps this uid and gid) and opens them: 0, or an errno value. */
int fl_sandbox_make_netns(int *userns_fd, int *netns_fd);

/* sandbox_apply.c, async-signal-safe, in a freshly forked single-threaded
   child: applies `box` (the child's own copy: the program's placeholders are
   written in place) in order: rlimits, the namespaces, Landlock, seccomp.
   Returns the FL_ENFORCED_* steps applied; closes the sandbox's descriptors. */
uint32_t fl_sandbox_apply(struct fl_sandbox *box);

#endif
