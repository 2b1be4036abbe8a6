/*
 * sandbox_prepare.c: a sandbox made ready, once, before any worker exists:
 * in the pool's helper (for its workers and the fork server's) or in the
 * process that forks per call (fl_sandbox_create).
 *
 * - The seccomp program is copied, and the instructions that compare with
 *   the placeholders FL_SANDBOX_PID_SELF / _HELPER are found (each worker
 *   writes its own values there, sandbox_apply.c).
 * - Landlock, best effort: the kernel's ABI is asked; the ruleset handles
 *   every filesystem right that ABI knows (so a path outside the rules is
 *   EACCES to the callee), TCP bind and connect with no port allowed (ABI >= 4,
 *   network none) and abstract UNIX sockets scoped (ABI >= 6, network none);
 *   each allowed path is opened with O_PATH and becomes a PATH_BENEATH rule:
 *   read paths READ_FILE and READ_DIR, write paths these and WRITE_FILE,
 *   TRUNCATE, REMOVE_*, MAKE_DIR, MAKE_REG, MAKE_SYM, REFER (a file gets
 *   only the rights a file can have).
 * - The network namespace (sandbox_netns.c), with network none.
 * - A probe: a child forked now applies the whole sandbox to itself and
 *   exits with the steps that took hold in its status. That is what is
 *   reported as enforced, and what every worker must apply (or exit 125).
 *
 * Not for signal handlers; forks twice (the namespace's maker, the probe),
 * whose children run system calls only.
 *
 * Limits: an allowed path that cannot be opened fails the preparation (a bad
 * input, never dropped silently). Landlock does not restrict stat, access,
 * chdir or descriptors opened before, nor UDP (see README, "The sandbox").
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ_RIGHTS (FL_LL_FS_READ_FILE | FL_LL_FS_READ_DIR)
#define WRITE_RIGHTS (READ_RIGHTS | FL_LL_FS_WRITE_FILE | FL_LL_FS_TRUNCATE | FL_LL_FS_REMOVE_DIR | FL_LL_FS_REMOVE_FILE | \
                      FL_LL_FS_MAKE_DIR | FL_LL_FS_MAKE_REG | FL_LL_FS_MAKE_SYM | FL_LL_FS_REFER)
/* The rights a rule on a file (not a directory) may carry. */
#define FILE_RIGHTS (FL_LL_FS_EXECUTE | FL_LL_FS_WRITE_FILE | FL_LL_FS_READ_FILE | FL_LL_FS_TRUNCATE | FL_LL_FS_IOCTL_DEV)

uint32_t fl_sandbox_asked(const fl_sandbox_config *config) {
    uint32_t asked = FL_ENFORCED_LIMITS | FL_ENFORCED_LANDLOCK;
    if (config->filter_length > 0) asked |= FL_ENFORCED_SECCOMP;
    if (config->flags & FL_SANDBOX_NETWORK_NONE) asked |= FL_ENFORCED_NETNS;
    return asked;
}

static int landlock_abi(void) {
    long abi = syscall(FL_SYS_landlock_create_ruleset, NULL, 0, FL_LANDLOCK_CREATE_RULESET_VERSION);
    return abi > 0 ? (int)abi : 0;
}

/* Adds one PATH_BENEATH rule: 0, or an errno value. */
static int allow_path(int ruleset, const char *path, uint64_t rights) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return errno;
    struct stat info;
    if (fstat(fd, &info) == 0 && !S_ISDIR(info.st_mode)) rights &= FILE_RIGHTS;
    struct fl_landlock_path_beneath_attr rule = {.allowed_access = rights, .parent_fd = fd};
    int error = syscall(FL_SYS_landlock_add_rule, ruleset, FL_LANDLOCK_RULE_PATH_BENEATH, &rule, 0) == 0 ? 0 : errno;
    close(fd);
    return error;
}

/* The ruleset of `config` (box->ruleset_fd; stays -1 without Landlock): 0, or -1 with `status` saying why. */
static int make_ruleset(struct fl_sandbox *box, const fl_sandbox_config *config, fl_sandbox_status *status) {
    int abi = box->landlock_abi = status->landlock_abi = landlock_abi();
    if (abi < 1) return 0;
    struct fl_landlock_ruleset_attr attributes = {.handled_access_fs = (1ull << 13) - 1};
    if (abi >= 2) attributes.handled_access_fs |= FL_LL_FS_REFER;
    if (abi >= 3) attributes.handled_access_fs |= FL_LL_FS_TRUNCATE;
    if (abi >= 5) attributes.handled_access_fs |= FL_LL_FS_IOCTL_DEV;
    size_t size = sizeof attributes.handled_access_fs;
    if (config->flags & FL_SANDBOX_NETWORK_NONE) {
        if (abi >= 4) {
            attributes.handled_access_net = FL_LL_NET_BIND_TCP | FL_LL_NET_CONNECT_TCP;
            size = offsetof(struct fl_landlock_ruleset_attr, scoped);
            box->enforced |= FL_ENFORCED_LANDLOCK_TCP;
        }
        if (abi >= 6) {
            attributes.scoped = FL_LL_SCOPE_ABSTRACT_UNIX_SOCKET;
            size = sizeof attributes;
            box->enforced |= FL_ENFORCED_LANDLOCK_SCOPE;
        }
    }
    box->ruleset_fd = (int)syscall(FL_SYS_landlock_create_ruleset, &attributes, size, 0);
    if (box->ruleset_fd < 0) {
        box->enforced &= ~(uint32_t)(FL_ENFORCED_LANDLOCK_TCP | FL_ENFORCED_LANDLOCK_SCOPE);
        return 0; /* best effort: reported as not enforced */
    }
    uint64_t handled = attributes.handled_access_fs;
    for (uint32_t i = 0; i < config->read_count + config->write_count; i++) {
        int reading = i < config->read_count;
        const char *path = reading ? config->read_paths[i] : config->write_paths[i - config->read_count];
        int error = allow_path(box->ruleset_fd, path, (reading ? READ_RIGHTS : WRITE_RIGHTS) & handled);
        if (error != 0) {
            status->failed_path = (int32_t)i;
            status->error_number = error;
            return -1;
        }
    }
    return 0;
}

/* Copies the program and finds its placeholders: 0, or an errno value. */
static int copy_filter(struct fl_sandbox *box, const fl_sandbox_config *config, pid_t helper) {
    if (config->filter_length == 0) return 0;
    if (config->filter_length > FL_SANDBOX_MAX_FILTER || config->filter == NULL) return EINVAL;
    box->filter = malloc(sizeof(struct sock_filter) * config->filter_length);
    if (box->filter == NULL) return ENOMEM;
    memcpy(box->filter, config->filter, sizeof(struct sock_filter) * config->filter_length);
    box->filter_length = config->filter_length;
    for (uint32_t i = 0; i < box->filter_length; i++) {
        const struct sock_filter *op = &box->filter[i];
        if (op->code != (BPF_JMP | BPF_JEQ | BPF_K)) continue;
        if (op->k == FL_SANDBOX_PID_SELF) {
            if (box->self_count == FL_SANDBOX_MAX_PATCHES) return EINVAL;
            box->self_at[box->self_count++] = i;
        } else if (op->k == FL_SANDBOX_PID_HELPER) {
            if (box->helper_count == FL_SANDBOX_MAX_PATCHES || helper <= 0) return EINVAL;
            box->helper_at[box->helper_count++] = i;
        }
    }
    return 0;
}

/* Forks a child that applies the sandbox to itself: the FL_ENFORCED_* steps that took hold. */
static uint32_t probe(const struct fl_sandbox *box) {
    pid_t pid = fork();
    if (pid == 0) {
        struct fl_sandbox copy = *box; /* this child's own */
        fl_set_default_action(SIGSYS);
        _exit(0x40 | (int)(fl_sandbox_apply(&copy) & 0x3f));
    }
    if (pid < 0) return 0;
    int status = 0;
    if (fl_wait_pid(pid, &status, 0) != pid || !WIFEXITED(status) || !(WEXITSTATUS(status) & 0x40)) return 0;
    return (uint32_t)WEXITSTATUS(status) & 0x3f;
}

int fl_sandbox_prepare(struct fl_sandbox *box, const fl_sandbox_config *config, pid_t helper, fl_sandbox_status *status) {
    memset(box, 0, sizeof *box);
    memset(status, 0, sizeof *status);
    status->failed_path = -1;
    box->ruleset_fd = box->userns_fd = box->netns_fd = -1;
    box->flags = config->flags;
    box->helper = helper;
    box->cpu = (struct rlimit){config->cpu_seconds, config->cpu_seconds + 1};
    box->file_size = (struct rlimit){config->file_size, config->file_size};
    box->open_files = (struct rlimit){config->open_files, config->open_files};
    int error = copy_filter(box, config, helper);
    if (error != 0) {
        status->error_number = error;
        return -1;
    }
    if (config->flags & FL_SANDBOX_LEARN) {
        /* Learning is not a sandbox: no probe (nobody would answer its notifications), nothing enforced. */
        box->enforced = box->filter != NULL ? FL_ENFORCED_SECCOMP : 0;
        return box->filter != NULL ? 0 : (status->error_number = EINVAL, -1);
    }
    if (make_ruleset(box, config, status) != 0) return -1;
    if (config->flags & FL_SANDBOX_NETWORK_NONE) fl_sandbox_make_netns(&box->userns_fd, &box->netns_fd);
    box->enforced = probe(box);
    status->enforced = box->enforced;
    if ((config->flags & FL_SANDBOX_STRICT) && (fl_sandbox_asked(config) & ~box->enforced) != 0) return -1;
    return 0;
}

void fl_sandbox_release(struct fl_sandbox *box) {
    if (box->ruleset_fd >= 0) close(box->ruleset_fd);
    if (box->userns_fd >= 0) close(box->userns_fd);
    if (box->netns_fd >= 0) close(box->netns_fd);
    box->ruleset_fd = box->userns_fd = box->netns_fd = -1;
    free(box->filter);
    box->filter = NULL;
}

fl_sandbox *fl_sandbox_create(const fl_sandbox_config *config, fl_sandbox_status *status) {
    fl_sandbox *box = malloc(sizeof *box);
    if (box == NULL) {
        memset(status, 0, sizeof *status);
        status->failed_path = -1;
        status->error_number = ENOMEM;
        return NULL;
    }
    if (fl_sandbox_prepare(box, config, 0, status) != 0) {
        fl_sandbox_release(box);
        free(box);
        return NULL;
    }
    return box;
}

void fl_sandbox_destroy(fl_sandbox *sandbox) {
    if (sandbox == NULL) return;
    fl_sandbox_release(sandbox);
    free(sandbox);
}
