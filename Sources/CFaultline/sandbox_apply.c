/*
 * sandbox_apply.c: a freshly forked worker (or forked call's child) puts
 * itself in its sandbox, after everything it needs is loaded, prepared and
 * warmed (the library, the signature, init, libunwind, its fault handlers),
 * in this order:
 *
 *   1. rlimits: RLIMIT_CPU (soft N, hard N + 1: SIGXCPU, then SIGKILL),
 *      RLIMIT_FSIZE (SIGXFSZ), RLIMIT_NOFILE; RLIMIT_CORE is already 0;
 *   2. the network namespace: setns into the user namespace the sandbox holds,
 *      then into its network namespace (one pair per pool, made once by
 *      sandbox_netns.c: nothing is paid per worker but two system calls);
 *   3. Landlock: PR_SET_NO_NEW_PRIVS, landlock_restrict_self on the ruleset
 *      prepared before the fork;
 *   4. seccomp last, while single-threaded: the placeholders of the program
 *      (FL_SANDBOX_PID_SELF, _HELPER) are written with this process's pid and
 *      the helper's, in this process's own copy of the program (copy-on-write
 *      after fork), then seccomp(SECCOMP_SET_MODE_FILTER).
 *
 * The sandbox's descriptors are closed before the program is installed.
 *
 * Safety: system calls only (setrlimit, setns, close, prctl, getpid, and
 * landlock and seccomp through syscall(2)), stores into this process's
 * private memory: async-signal-safe, fit to run between fork() and the call.
 *
 * Limits: the caller decides what a missing step means (the pool's worker and
 * the forked child exit with status 125 when a step the probe applied fails).
 */
#include "sandbox.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint32_t apply_limits(const struct fl_sandbox *box) {
    int ok = 1;
    if (box->flags & FL_SANDBOX_LIMIT_CPU) ok &= setrlimit(RLIMIT_CPU, &box->cpu) == 0;
    if (box->flags & FL_SANDBOX_LIMIT_FSIZE) ok &= setrlimit(RLIMIT_FSIZE, &box->file_size) == 0;
    if (box->flags & FL_SANDBOX_LIMIT_NOFILE) ok &= setrlimit(RLIMIT_NOFILE, &box->open_files) == 0;
    struct rlimit no_core = {0, 0};
    ok &= setrlimit(RLIMIT_CORE, &no_core) == 0;
    return ok ? FL_ENFORCED_LIMITS : 0;
}

static uint32_t enter_namespaces(struct fl_sandbox *box) {
    if (box->userns_fd < 0 || box->netns_fd < 0) return 0;
    int ok = setns(box->userns_fd, CLONE_NEWUSER) == 0 && setns(box->netns_fd, CLONE_NEWNET) == 0;
    close(box->userns_fd);
    close(box->netns_fd);
    box->userns_fd = box->netns_fd = -1;
    return ok ? FL_ENFORCED_NETNS : 0;
}

static uint32_t restrict_files(struct fl_sandbox *box) {
    if (box->ruleset_fd < 0) return 0;
    int ok = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
             syscall(FL_SYS_landlock_restrict_self, box->ruleset_fd, 0) == 0;
    close(box->ruleset_fd);
    box->ruleset_fd = -1;
    if (!ok) return 0;
    return FL_ENFORCED_LANDLOCK | (box->enforced & (FL_ENFORCED_LANDLOCK_TCP | FL_ENFORCED_LANDLOCK_SCOPE));
}

static uint32_t install_filter(struct fl_sandbox *box) {
    if (box->filter == NULL || box->filter_length == 0) return 0;
    uint32_t self = (uint32_t)getpid();
    for (uint32_t i = 0; i < box->self_count; i++) box->filter[box->self_at[i]].k = self;
    for (uint32_t i = 0; i < box->helper_count; i++) box->filter[box->helper_at[i]].k = (uint32_t)box->helper;
    struct sock_fprog program = {.len = (unsigned short)box->filter_length, .filter = box->filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 0;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0 ? FL_ENFORCED_SECCOMP : 0;
}

/* Learning (FL_SANDBOX_LEARN): the notifying program with a listener, handed
   to the helper on FL_SANDBOX_LEARN_HANDOFF_FD (the program allows sendmsg on
   it alone), then both closed (those closes are the helper's first answers). */
static uint32_t install_learning(struct fl_sandbox *box) {
    struct sock_fprog program = {.len = (unsigned short)box->filter_length, .filter = box->filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 0;
    long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
    if (listener < 0) return 0;
    char byte = 'L';
    struct iovec io = {&byte, 1};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    int fd = (int)listener;
    memcpy(CMSG_DATA(header), &fd, sizeof fd);
    ssize_t sent = sendmsg(FL_SANDBOX_LEARN_HANDOFF_FD, &message, MSG_NOSIGNAL);
    close(fd);
    close(FL_SANDBOX_LEARN_HANDOFF_FD);
    return sent == 1 ? FL_ENFORCED_SECCOMP : 0;
}

uint32_t fl_sandbox_apply(struct fl_sandbox *box) {
    if (box->flags & FL_SANDBOX_LEARN) return box->filter != NULL ? install_learning(box) : 0;
    uint32_t applied = apply_limits(box);
    applied |= enter_namespaces(box);
    applied |= restrict_files(box);
    applied |= install_filter(box);
    return applied;
}
