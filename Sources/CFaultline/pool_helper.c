/*
 * pool_helper.c: the supervisor's side of the helper process: starting it,
 * configuring it, waiting until the function is loaded, and reaping it.
 *
 * The helper's image (fl_pool_helper_image): for a function of a library,
 * the program named by FAULTLINE_HELPER, else `faultline-helper` beside this
 * executable when it is there (a C program: its forks copy and free far fewer
 * pages than this executable's would), else this executable; a function of
 * the main executable always needs this executable. FAULTLINE_HELPER=self
 * chooses this executable. An image named by FAULTLINE_HELPER that cannot be
 * run is an error of the spawn step (its errno), never a silent fallback. One
 * found beside this executable that refuses the configuration (another
 * version of Faultline: exit status 2 before any answer) is replaced by this
 * executable, once, when the pool is created.
 *
 * The helper is started with posix_spawn (its own
 * process group, every signal at its default action and unblocked, stdout on
 * stderr, the control socket as descriptor 3). Its environment is this
 * process's, minus and plus two variables spelled in channel.h:
 * FAULTLINE_HELPER_FD=3 and SWIFT_BACKTRACE=enable=no. Both entries are
 * static strings placed first, so the environment cannot lose them; only the
 * array is allocated, and if that fails nothing is spawned.
 *
 * Everything else travels as one CONFIGURE message on the control socket
 * (channel.h), with explicit lengths. The helper answers READY, or ERROR
 * with the kind and dlerror's raw text, or dies (a crashing constructor):
 * every case becomes an fl_pool_error, fields only. Loading is bounded by
 * the per-call deadline when there is one.
 *
 * Never in a signal handler; runs in the thread that creates (or destroys) the pool.
 *
 * A sandbox travels in a second message, SANDBOX (its program and paths);
 * READY then carries what the helper's probe enforced, and a sandbox that
 * could not be prepared is an ERROR (FL_POOL_ERROR_SANDBOX).
 *
 * Limits: the library path and the symbol together must fit in one message
 * (FL_MESSAGE_TEXT bytes), else ENAMETOOLONG; so must the sandbox's program
 * and paths (E2BIG).
 */
#include "pool_internal.h"

#include <errno.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

#define FL_STRINGIFY(x) #x
#define FL_TEXT(x) FL_STRINGIFY(x)

static const char helper_fd_entry[] = FL_HELPER_FD_VARIABLE "=" FL_TEXT(FL_HELPER_FD_NUMBER);
static const char swift_backtrace_entry[] = FL_SWIFT_BACKTRACE_VARIABLE "=" FL_SWIFT_BACKTRACE_SETTING;

static int has_name(const char *entry, const char *name) {
    size_t length = strlen(name);
    return strncmp(entry, name, length) == 0 && entry[length] == '=';
}

static pid_t spawn_helper(const char *executable, int control_child) {
    size_t inherited = 0;
    while (environ[inherited]) inherited++;
    char **environment = calloc(inherited + 3, sizeof(char *));
    if (!environment) return -1;
    size_t n = 0;
    environment[n++] = (char *)helper_fd_entry;
    environment[n++] = (char *)swift_backtrace_entry;
    for (size_t i = 0; i < inherited; i++) {
        if (!has_name(environ[i], FL_HELPER_FD_VARIABLE) && !has_name(environ[i], FL_SWIFT_BACKTRACE_VARIABLE)) {
            environment[n++] = environ[i];
        }
    }
    environment[n] = NULL;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, control_child, FL_HELPER_FD_NUMBER);
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    char *const arguments[] = {(char *)"faultline-helper", NULL};
    pid_t pid = -1;
    int error = posix_spawn(&pid, executable, &actions, &attributes, arguments, environment);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    free(environment);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return pid;
}

char *fl_pool_helper_image(const fl_pool_config *config, int *found_beside) {
    *found_beside = 0;
    if (!config->library) return strdup(config->executable);
    const char *named = getenv(FL_HELPER_IMAGE_VARIABLE);
    char path[PATH_MAX];
    if (named && *named) {
        if (strcmp(named, FL_HELPER_IMAGE_SELF) == 0) return strdup(config->executable);
        /* Absolute, so that a helper started again later (a callee killed it) is the same
           program whatever the working directory is by then; as given if it cannot be resolved
           (the spawn then fails and names it). */
        return strdup(realpath(named, path) ? path : named);
    }
    ssize_t length = readlink(config->executable, path, sizeof path - 1);
    if (length < 0) {
        length = (ssize_t)strlen(config->executable);
        if ((size_t)length >= sizeof path) return strdup(config->executable);
        memcpy(path, config->executable, (size_t)length);
    }
    path[length] = '\0';
    char *slash = strrchr(path, '/');
    size_t directory = slash ? (size_t)(slash - path) + 1 : 0;
    if (directory + sizeof FL_HELPER_IMAGE_NAME > sizeof path) return strdup(config->executable);
    memcpy(path + directory, FL_HELPER_IMAGE_NAME, sizeof FL_HELPER_IMAGE_NAME);
    if (access(path, X_OK) != 0) return strdup(config->executable);
    *found_beside = 1;
    return strdup(path);
}

int fl_pool_helper_refused(const fl_pool_error *error) {
    return error->kind == FL_POOL_ERROR_HELPER && error->wait_status >= 0 && WIFEXITED(error->wait_status) &&
           WEXITSTATUS(error->wait_status) == 2;
}

/* The CONFIGURE message: every setting of the helper, lengths explicit. */
static int send_configuration(fl_pool *pool, const fl_pool_config *config) {
    size_t library_length = config->library ? strlen(config->library) : 0;
    size_t symbol_length = config->library && config->symbol ? strlen(config->symbol) : 0;
    size_t init_length = config->init_symbol ? strlen(config->init_symbol) : 0;
    /* pool->incoming is free until the helper answers: the message is built there. */
    fl_message *message = &pool->incoming;
    memset(message, 0, offsetof(fl_message, text));
    message->type = FL_MSG_CONFIGURE;
    message->configure.protocol = FL_HELPER_PROTOCOL;
    message->configure.image_offset = config->image_offset;
    message->configure.worker_goal = pool->worker_goal;
    message->configure.options = config->options;
    message->configure.recycle_after = config->recycle_after;
    message->configure.parent = (int32_t)getpid();
    message->configure.library_length = config->library ? (int32_t)library_length : -1;
    message->configure.symbol_length = (int32_t)symbol_length;
    message->configure.init_length = (int32_t)init_length;
    message->configure.signature_result = config->signature_result;
    message->configure.signature_count = config->signature_count;
    if (config->signature_count != FL_POOL_INT_FUNCTION) {
        for (uint32_t i = 0; i < config->signature_count && i < FL_SIGNATURE_MAX_PARAMETERS; i++) {
            message->configure.signature_types[i] = config->signature_types[i];
            message->configure.signature_capacities[i] = config->signature_capacities ? config->signature_capacities[i] : 0;
        }
    }
    message->configure.memory_limit = config->memory_limit;
    message->configure.sandbox = config->sandbox != NULL;
    if (library_length) memcpy(message->text, config->library, library_length);
    if (symbol_length) memcpy(message->text + library_length, config->symbol, symbol_length);
    if (init_length) memcpy(message->text + library_length + symbol_length, config->init_symbol, init_length);
    message->text_length = (int32_t)(library_length + symbol_length + init_length);
    return fl_send_packet(pool->control, message, FL_MESSAGE_SIZE(message), NULL, 0);
}

/* The bytes of the SANDBOX message's text: the program, then each path as u32 length and bytes. */
static size_t sandbox_text_size(const fl_sandbox_config *sandbox) {
    size_t size = (size_t)sandbox->filter_length * 8;
    for (uint32_t i = 0; i < sandbox->read_count; i++) size += 4 + strlen(sandbox->read_paths[i]);
    for (uint32_t i = 0; i < sandbox->write_count; i++) size += 4 + strlen(sandbox->write_paths[i]);
    return size;
}

static size_t put_paths(char *text, size_t at, const char *const *paths, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        uint32_t length = (uint32_t)strlen(paths[i]);
        memcpy(text + at, &length, sizeof length);
        memcpy(text + at + sizeof length, paths[i], length);
        at += sizeof length + length;
    }
    return at;
}

/* The SANDBOX message, after CONFIGURE (its size was checked before the helper started). */
static int send_sandbox(fl_pool *pool, const fl_sandbox_config *sandbox) {
    fl_message *message = &pool->incoming;
    memset(message, 0, offsetof(fl_message, text));
    message->type = FL_MSG_SANDBOX;
    message->sandbox.flags = sandbox->flags;
    message->sandbox.filter_length = sandbox->filter_length;
    message->sandbox.read_count = sandbox->read_count;
    message->sandbox.write_count = sandbox->write_count;
    message->sandbox.cpu_seconds = sandbox->cpu_seconds;
    message->sandbox.file_size = sandbox->file_size;
    message->sandbox.open_files = sandbox->open_files;
    size_t at = (size_t)sandbox->filter_length * 8;
    if (at) memcpy(message->text, sandbox->filter, at);
    at = put_paths(message->text, at, sandbox->read_paths, sandbox->read_count);
    at = put_paths(message->text, at, sandbox->write_paths, sandbox->write_count);
    message->text_length = (int32_t)at;
    return fl_send_packet(pool->control, message, FL_MESSAGE_SIZE(message), NULL, 0);
}

ssize_t fl_pool_receive(fl_pool *pool, int *fds, int *fd_count, int flags) {
    ssize_t got = fl_receive_packet(pool->control, &pool->incoming, sizeof pool->incoming, fds, fd_count, flags);
    if (got > 0 && (size_t)got < offsetof(fl_message, text)) {
        for (int i = 0; i < *fd_count; i++) close(fds[i]);
        errno = EPROTO;
        return -1;
    }
    if (got > 0 && (pool->incoming.text_length < 0 || (size_t)got < FL_MESSAGE_SIZE(&pool->incoming))) {
        pool->incoming.text_length = 0; /* a cut text is no text */
    }
    return got;
}

void fl_pool_reap_helper(fl_pool *pool, int *status) {
    pid_t helper = __atomic_exchange_n(&pool->helper, 0, __ATOMIC_ACQ_REL);
    if (helper <= 0) return;
    /* The helper exits by itself once its control socket closes; give it a moment, then insist. */
    if (pool->helper_pidfd < 0 || fl_poll_until(pool->helper_pidfd, fl_now_ns() + 2000000000) == 0) {
        if (pool->helper_pidfd >= 0) kill(helper, SIGKILL);
    }
    fl_wait_pid(helper, status, 0);
}

static void system_error(fl_pool_error *error, int step, int error_number) {
    error->kind = FL_POOL_ERROR_SYSTEM;
    error->step = step;
    error->error_number = error_number;
}

int fl_pool_start_helper(fl_pool *pool, const fl_pool_config *config, fl_pool_error *error) {
    /* The configuration must fit in one message: checked before any process starts. */
    size_t library_length = config->library ? strlen(config->library) : 0;
    size_t symbol_length = config->library && config->symbol ? strlen(config->symbol) : 0;
    size_t init_length = config->init_symbol ? strlen(config->init_symbol) : 0;
    if (library_length + symbol_length + init_length > FL_MESSAGE_TEXT ||
        (config->signature_count != FL_POOL_INT_FUNCTION && config->signature_count > FL_SIGNATURE_MAX_PARAMETERS)) {
        system_error(error, FL_POOL_STEP_CONFIGURE, ENAMETOOLONG);
        return -1;
    }
    if (config->sandbox != NULL && (config->sandbox->filter_length > FL_SANDBOX_MAX_FILTER ||
                                    sandbox_text_size(config->sandbox) > FL_MESSAGE_TEXT)) {
        system_error(error, FL_POOL_STEP_CONFIGURE, E2BIG);
        return -1;
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        system_error(error, FL_POOL_STEP_SOCKETS, errno);
        return -1;
    }
    pool->control = pair[0];
    pool->helper = spawn_helper(pool->config_executable, pair[1]);
    int spawn_error = errno;
    close(pair[1]);
    if (pool->helper < 0) {
        pool->helper = 0;
        system_error(error, FL_POOL_STEP_SPAWN, spawn_error);
        size_t length = strlen(pool->config_executable);
        if (length > sizeof error->detail) length = sizeof error->detail;
        memcpy(error->detail, pool->config_executable, length);
        error->detail_length = (uint32_t)length;
        return -1;
    }
    pool->stats.helper_pid = pool->helper;
    pool->helper_pidfd = fl_pidfd_open(pool->helper);
    if (send_configuration(pool, config) != 0 || (config->sandbox != NULL && send_sandbox(pool, config->sandbox) != 0)) {
        /* A helper that exited before reading its configuration (one of another
           version refuses with status 2 at once): judged by how it ended. */
        if (errno == EPIPE || errno == ECONNRESET) {
            fl_pool_helper_died(pool, error);
            return -1;
        }
        system_error(error, FL_POOL_STEP_CONFIGURE, errno);
        return -1;
    }
    /* Loading runs the library's constructors: it may hang like any callee, so
       the per-call deadline (if any) bounds it too. */
    if (config->timeout_ns >= 0 && fl_poll_until(pool->control, fl_now_ns() + config->timeout_ns) == 0) {
        kill(pool->helper, SIGKILL);
        fl_pool_reap_helper(pool, NULL);
        error->kind = FL_POOL_ERROR_LOAD_TIMEOUT;
        return -1;
    }
    int fds[FL_IO_MAX_FDS];
    int fd_count = 0;
    ssize_t got = fl_pool_receive(pool, fds, &fd_count, 0);
    if (got > 0 && pool->incoming.type == FL_MSG_READY && fd_count == 1) {
        /* Learning: the helper's record, read here at will (a later helper's replaces it). */
        void *record = mmap(NULL, sizeof(fl_learned_syscall) * FL_SANDBOX_LEARN_SYSCALLS, PROT_READ, MAP_SHARED, fds[0], 0);
        if (record != MAP_FAILED) {
            if (pool->learned != NULL) munmap((void *)pool->learned, sizeof(fl_learned_syscall) * FL_SANDBOX_LEARN_SYSCALLS);
            pool->learned = record;
        }
    }
    for (int i = 0; i < fd_count; i++) close(fds[i]);
    if (got > 0 && pool->incoming.type == FL_MSG_READY) {
        pool->sandbox_status = pool->incoming.ready.sandbox;
        return 0;
    }
    if (got > 0 && pool->incoming.type == FL_MSG_ERROR) {
        error->kind = pool->incoming.error.kind;
        error->error_number = pool->incoming.error.error_number;
        size_t length = (size_t)pool->incoming.text_length;
        if (length > sizeof error->detail) length = sizeof error->detail;
        memcpy(error->detail, pool->incoming.text, length);
        error->detail_length = (uint32_t)length;
        error->init_kind = pool->incoming.error.init_kind;
        error->init_value = pool->incoming.error.init_value;
        error->init_signo = pool->incoming.error.init_signo;
        error->init_address = pool->incoming.error.init_address;
        error->sandbox = pool->incoming.error.sandbox;
        return -1;
    }
    /* The helper died while loading (a constructor crashed, or exited). */
    fl_pool_helper_died(pool, error);
    return -1;
}

void fl_pool_helper_died(fl_pool *pool, fl_pool_error *error) {
    close(pool->control);
    pool->control = -1;
    int status = -1;
    fl_pool_reap_helper(pool, &status);
    error->kind = FL_POOL_ERROR_HELPER;
    error->wait_status = status;
}

static int main_image_callback(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uint64_t *inout = data;
    uint64_t address = inout[0];
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD) continue;
        uint64_t start = info->dlpi_addr + segment->p_vaddr;
        if (address >= start && address < start + segment->p_memsz) inout[1] = address - info->dlpi_addr;
    }
    return 1; /* only the first object: the main program */
}

uint64_t fl_main_image_offset(fl_function function) {
    uint64_t inout[2] = {(uint64_t)(uintptr_t)function, 0};
    dl_iterate_phdr(main_image_callback, inout);
    return inout[1];
}
