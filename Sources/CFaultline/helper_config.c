/*
 * helper_config.c: how a started program becomes the pool's helper, and
 * the helper's configuration.
 *
 * The supervisor (pool_helper.c) starts faultline-helper, or re-executes its
 * own executable, with FAULTLINE_HELPER_FD=3 in the environment (the only
 * variable besides SWIFT_BACKTRACE=enable=no). The constructor below runs
 * before any main (Swift's, in a re-executed Swift program):
 * without the variable it returns and the program runs normally; with it, it
 * removes the variable (nothing the callee starts should believe it is a
 * helper), reads the CONFIGURE message from the control socket (library path,
 * symbol, image offset, options, recycle count, worker goal, expected parent
 * pid; lengths explicit, any bytes allowed), sets the process up like every
 * child (fl_child_setup: dies with the thread that spawned it, which is
 * waiting for it, while it loads) and never returns to Swift.
 *
 * Runs in a constructor of a freshly exec'd, single-threaded process, before
 * any Swift code: malloc and the rest of libc are safe here.
 *
 * With a sandbox, a SANDBOX message follows CONFIGURE (channel.h): the
 * seccomp program and the allowed paths, copied here; helper.c prepares them.
 * Every helper closes what it inherited (standard input becomes /dev/null)
 * before it loads the library: a callee in a worker can neither read the
 * supervisor's standard input nor write into descriptors of its program.
 *
 * Limits: a malformed or missing configuration (the supervisor died first),
 * or one of another protocol (channel.h), ends the helper with status 2 and
 * nothing else.
 */
#include "helper_internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Copies `count` paths (u32 length, bytes) from text[*at ..< end] into a NULL-free array: 0 or -1. */
static int read_paths(const fl_message *message, size_t *at, uint32_t count, const char *const **paths) {
    char **copies = calloc(count + 1, sizeof(char *));
    if (copies == NULL) return -1;
    *paths = (const char *const *)copies;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t length;
        if (*at + sizeof length > (size_t)message->text_length) return -1;
        memcpy(&length, message->text + *at, sizeof length);
        *at += sizeof length;
        if (length > (size_t)message->text_length - *at || (copies[i] = malloc((size_t)length + 1)) == NULL) return -1;
        memcpy(copies[i], message->text + *at, length);
        copies[i][length] = '\0';
        if (strlen(copies[i]) != length) return -1; /* a NUL inside a path */
        *at += length;
    }
    return 0;
}

/* Reads the SANDBOX message into config->sandbox: 0, or -1. */
static int read_sandbox(int control, fl_helper_config *config, fl_message *message) {
    ssize_t got = fl_receive_packet(control, message, sizeof *message, NULL, NULL, 0);
    if (got < (ssize_t)offsetof(fl_message, text) || message->type != FL_MSG_SANDBOX) return -1;
    if (message->text_length < 0 || (size_t)got != FL_MESSAGE_SIZE(message)) return -1;
    fl_sandbox_config *sandbox = &config->sandbox;
    sandbox->flags = message->sandbox.flags;
    sandbox->filter_length = message->sandbox.filter_length;
    sandbox->read_count = message->sandbox.read_count;
    sandbox->write_count = message->sandbox.write_count;
    sandbox->cpu_seconds = message->sandbox.cpu_seconds;
    sandbox->file_size = message->sandbox.file_size;
    sandbox->open_files = message->sandbox.open_files;
    size_t program = (size_t)sandbox->filter_length * 8;
    if (sandbox->filter_length > FL_SANDBOX_MAX_FILTER || program > (size_t)message->text_length) return -1;
    void *filter = malloc(program ? program : 1);
    if (filter == NULL) return -1;
    memcpy(filter, message->text, program);
    sandbox->filter = filter;
    size_t at = program;
    if (sandbox->read_count > FL_MESSAGE_TEXT || sandbox->write_count > FL_MESSAGE_TEXT) return -1;
    if (read_paths(message, &at, sandbox->read_count, &sandbox->read_paths) != 0) return -1;
    if (read_paths(message, &at, sandbox->write_count, &sandbox->write_paths) != 0) return -1;
    config->sandboxed = 1;
    return at == (size_t)message->text_length ? 0 : -1;
}

/* Reads and checks the configuration; 0, or -1 when there is none. */
static int read_configuration(int control, fl_helper_config *config) {
    static fl_message message;
    ssize_t got = fl_receive_packet(control, &message, sizeof message, NULL, NULL, 0);
    if (got < (ssize_t)offsetof(fl_message, text) || message.type != FL_MSG_CONFIGURE) return -1;
    if (message.configure.protocol != FL_HELPER_PROTOCOL) return -1;
    if (message.text_length < 0 || (size_t)got != FL_MESSAGE_SIZE(&message)) return -1;
    int32_t library_length = message.configure.library_length;
    int32_t symbol_length = message.configure.symbol_length;
    int32_t init_length = message.configure.init_length;
    int32_t library_bytes = library_length > 0 ? library_length : 0;
    if (symbol_length < 0 || init_length < 0 ||
        (int64_t)library_bytes + symbol_length + init_length != message.text_length) {
        return -1;
    }
    memset(config, 0, sizeof *config);
    if (init_length > 0) {
        config->init = malloc((size_t)init_length + 1);
        if (!config->init) return -1;
        memcpy(config->init, message.text + library_bytes + symbol_length, (size_t)init_length);
        config->init[init_length] = '\0';
    }
    config->signature_result = message.configure.signature_result;
    config->signature_count = message.configure.signature_count;
    if (config->signature_count != FL_POOL_INT_FUNCTION && config->signature_count > FL_SIGNATURE_MAX_PARAMETERS) return -1;
    memcpy(config->signature_types, message.configure.signature_types, sizeof config->signature_types);
    memcpy(config->signature_capacities, message.configure.signature_capacities, sizeof config->signature_capacities);
    config->memory_limit = message.configure.memory_limit;
    if (library_length >= 0) {
        config->library = malloc((size_t)library_length + 1);
        config->symbol = malloc((size_t)symbol_length + 1);
        if (!config->library || !config->symbol) return -1;
        memcpy(config->library, message.text, (size_t)library_length);
        config->library[library_length] = '\0';
        memcpy(config->symbol, message.text + library_length, (size_t)symbol_length);
        config->symbol[symbol_length] = '\0';
    }
    config->image_offset = message.configure.image_offset;
    config->worker_goal = message.configure.worker_goal;
    config->options = message.configure.options;
    config->recycle_after = message.configure.recycle_after;
    config->parent = message.configure.parent;
    if (message.configure.sandbox && read_sandbox(control, config, &message) != 0) return -1;
    return 0;
}

/* The helper keeps none of the descriptors it inherited from the supervisor
   but stderr (its stdout too) and its control socket: standard input becomes
   /dev/null, the rest is closed, before the library is loaded. A callee can
   still use every descriptor its worker holds (its socket and channel). */
static void keep_only_own_descriptors(int control) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        close(null);
    }
    for (int range = 0; range < 2; range++) {
        unsigned int first = range == 0 ? 3 : (unsigned int)control + 1, last = range == 0 ? (unsigned int)control - 1 : ~0u;
        if (first > last) continue;
        if (syscall(SYS_close_range, first, last, 0) != 0) {
            for (unsigned int fd = first; fd <= last && fd < 4096; fd++) close((int)fd);
        }
    }
}

/* The configuration and control socket, for the helper's thread. */
static fl_helper_config helper_config;
static int helper_control;

static void *helper_thread(void *unused) {
    (void)unused;
    fl_helper_main(helper_control, &helper_config);
}

/* Takes over the started program (faultline-helper, or a re-executed copy of the supervisor's) before its main runs. */
__attribute__((constructor)) static void helper_entry(void) {
    const char *descriptor = getenv(FL_HELPER_FD_VARIABLE);
    if (descriptor == NULL) return;
    int control = atoi(descriptor);
    unsetenv(FL_HELPER_FD_VARIABLE);
    fl_helper_config config;
    if (read_configuration(control, &config) != 0) _exit(2);
    keep_only_own_descriptors(control);
    /* While loading (which may hang in a constructor) we are not in our event
       loop: die with the thread that is waiting for us. The spawn put us in a
       process group of our own already. */
    fl_child_setup(config.parent, 0);
    /* The helper's work runs on a thread of its own, so that the workers it
       forks (copies of that thread) are ordinary threads with a place to
       unwind to: a callee's pthread_exit() then ends the worker the way it
       ends any single-threaded program, with status 0. The constructor's
       thread, which has no such place, only waits (holding no lock: forking
       from the other thread is safe). */
    helper_config = config;
    helper_control = control;
    /* Deaths and crash wake-ups reach the helper through its signalfd: no thread may take them first. */
    sigset_t watched;
    sigemptyset(&watched);
    sigaddset(&watched, SIGCHLD);
    sigaddset(&watched, SIGUSR1);
    sigprocmask(SIG_BLOCK, &watched, NULL);
    pthread_t thread;
    pthread_attr_t attributes;
    int own_stack = fl_worker_stack_attributes(&attributes) == 0;
    if (pthread_create(&thread, own_stack ? &attributes : NULL, helper_thread, NULL) != 0) fl_helper_main(control, &helper_config);
    for (;;) pause();
}
