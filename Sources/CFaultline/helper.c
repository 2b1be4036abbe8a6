/*
 * helper.c: the pool's helper process: loads the target once, forks the
 * workers, reaps them, and tells the supervisor what happened.
 *
 * It is the supervisor's own executable, re-executed with FAULTLINE_HELPER_FD
 * in its environment: the constructor below takes over before Swift's main
 * runs, and the process never returns to Swift. It is single-threaded, so
 * forking workers from it is cheap (its page tables are small, whatever the
 * supervisor's size) and safe (no locks held by other threads).
 *
 * Events only: it waits in poll() on its control socket (a message, or EOF
 * when the supervisor dies — even by SIGKILL, the kernel closes the socket)
 * and on a signalfd for SIGCHLD and SIGUSR1. A worker's fault handler sends
 * SIGUSR1 once its report is in the channel: the helper reports the crash
 * (its backtrace resolved to names here, where the library is mapped at the
 * same addresses as in the worker) and hands the spare over at once, while the
 * kernel is still tearing the dying worker down. Every dead worker is then
 * reaped and reported with its wait status, and replaced.
 *
 * The helper is a subreaper in a process group of its own: processes a callee
 * starts (even daemonized ones, unless they leave the group with setsid) are
 * reaped by it and killed with it.
 *
 * Limits: names come from dladdr (dynamic symbols only). A library whose
 * constructor crashes kills the helper before READY: the supervisor reports it.
 * While loading, the helper has PR_SET_PDEATHSIG toward the thread waiting for
 * it (a constructor that hangs cannot keep it alive); afterwards it relies on
 * the control socket, because that thread may end while the supervisor lives.
 */
#include "channel.h"
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define FL_HELPER_MAX_WORKERS 1024
#define NOINLINE_HELPER __attribute__((noinline))

struct helper_slot {
    pid_t pid;
    fl_channel *channel;
    int announced; /* 0 for the spare: forked ahead of need, not yet given to the supervisor */
    int crashed;   /* its handler reported a fault: already counted as gone */
};

static struct helper_slot slots[FL_HELPER_MAX_WORKERS];
static int live_workers;    /* slots in use, the spare included */
static int announced_workers;

/* The spare: a worker forked in advance, so that replacing a dead worker costs
   one message instead of a fork on the supervisor's critical path. */
static struct {
    pid_t pid;
    int fds[3];
    int fd_count;
} spare;

static int send_message(int control, fl_message *message, const int *fds, int fd_count) {
    struct iovec vector = {.iov_base = message, .iov_len = FL_MESSAGE_SIZE(message)};
    char space[CMSG_SPACE(sizeof(int) * 3)];
    memset(space, 0, sizeof space);
    struct msghdr header = {.msg_iov = &vector, .msg_iovlen = 1};
    if (fd_count > 0) {
        header.msg_control = space;
        header.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)fd_count);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)fd_count);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)fd_count);
    }
    for (;;) {
        ssize_t sent = sendmsg(control, &header, MSG_NOSIGNAL);
        if (sent >= 0) return 0;
        if (errno != EINTR) return -1;
    }
}

static void send_text(int control, int type, int status, const char *text) {
    fl_message message;
    memset(&message, 0, offsetof(fl_message, text));
    message.type = type;
    message.status = status;
    size_t length = text ? strlen(text) : 0;
    if (length >= FL_MESSAGE_TEXT) length = FL_MESSAGE_TEXT - 1;
    if (length) memcpy(message.text, text, length);
    message.text_length = (int32_t)length;
    send_message(control, &message, NULL, 0);
}

/* ---- naming the frames of a crash (outside any handler) ---- */

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);
typedef char *(*swift_demangle_fn)(const char *, size_t, char *, size_t *, uint32_t);

static char *demangled(const char *name) {
    if (strncmp(name, "_Z", 2) == 0) {
        cxa_demangle_fn demangle = (cxa_demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
        int status = 0;
        if (demangle) {
            char *result = demangle(name, NULL, NULL, &status);
            if (result && status == 0) return result;
            free(result);
        }
    } else if (strncmp(name, "$s", 2) == 0 || strncmp(name, "_T", 2) == 0) {
        swift_demangle_fn demangle = (swift_demangle_fn)dlsym(RTLD_DEFAULT, "swift_demangle");
        if (demangle) {
            char *result = demangle(name, strlen(name), NULL, NULL, 0);
            if (result) return result;
        }
    }
    return NULL;
}

/* Resolved lines by address: crashes tend to happen at the same few places,
   and dladdr scans whole symbol tables, so the second time costs nothing. */
#define NAME_CACHE_SLOTS 1024
static struct {
    uint64_t address;
    char line[320];
} name_cache[NAME_CACHE_SLOTS];

static const char *frame_line(uint64_t address, int is_return_address) {
    size_t slot = (size_t)((address >> 2) % NAME_CACHE_SLOTS);
    if (name_cache[slot].address == address && address != 0) return name_cache[slot].line;
    uint64_t lookup = (is_return_address && address > 0) ? address - 1 : address;
    Dl_info info;
    memset(&info, 0, sizeof info);
    int found = address != 0 && dladdr((void *)(uintptr_t)lookup, &info) != 0;
    const char *symbol = found && info.dli_sname && info.dli_saddr ? info.dli_sname : "";
    char *pretty = *symbol ? demangled(symbol) : NULL;
    uint64_t base = found ? (uint64_t)(uintptr_t)(*symbol ? info.dli_saddr : info.dli_fbase) : 0;
    snprintf(name_cache[slot].line, sizeof name_cache[slot].line, "%" PRIu64 "\t%s\t%" PRIu64 "\t%s\n", address,
             pretty ? pretty : symbol, found ? address - base : 0, found && info.dli_fname ? info.dli_fname : "");
    free(pretty);
    name_cache[slot].address = address;
    return name_cache[slot].line;
}

static void symbolize(const fl_report *crash, fl_message *message) {
    size_t used = 0;
    for (uint32_t i = 0; i < crash->frame_count && i < FL_MAX_FRAMES; i++) {
        const char *line = frame_line(crash->frames[i], i > 0);
        size_t length = strlen(line);
        if (length >= FL_MESSAGE_TEXT - used) break;
        memcpy(message->text + used, line, length);
        used += length;
    }
    message->text_length = (int32_t)used;
}

/* ---- workers ---- */

static void announce(int control, pid_t pid, const int *fds, int fd_count) {
    fl_message message;
    memset(&message, 0, offsetof(fl_message, text));
    message.type = FL_MSG_SPAWNED;
    message.pid = pid;
    send_message(control, &message, fds, fd_count);
    for (int i = 0; i < fd_count; i++) close(fds[i]);
    for (int i = 0; i < live_workers; i++) {
        if (slots[i].pid == pid) slots[i].announced = 1;
    }
    announced_workers++;
}

/* Hands the spare to the supervisor. Returns 0 if there was none. */
static int announce_spare(int control) {
    if (spare.pid <= 0) return 0;
    announce(control, spare.pid, spare.fds, spare.fd_count);
    spare.pid = 0;
    return 1;
}

static int spawn_worker(int control, int signal_fd, fl_function function, int options, int recycle_after, int as_spare) {
    if (live_workers >= FL_HELPER_MAX_WORKERS) return -1;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    int memory = memfd_create("faultline-channel", MFD_CLOEXEC);
    fl_channel *channel = MAP_FAILED;
    if (memory >= 0 && ftruncate(memory, sizeof(fl_channel)) == 0) {
        channel = mmap(NULL, sizeof(fl_channel), PROT_READ | PROT_WRITE, MAP_SHARED, memory, 0);
    }
    if (channel == MAP_FAILED) {
        if (memory >= 0) close(memory);
        close(pair[0]);
        close(pair[1]);
        return -1;
    }
    channel->timed = 0;
    pid_t helper = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(pair[0]);
        close(memory);
        close(control);
        close(signal_fd);
        for (int i = 0; i < live_workers; i++) munmap(slots[i].channel, sizeof(fl_channel));
        if (spare.pid > 0) {
            for (int i = 0; i < spare.fd_count; i++) close(spare.fds[i]);
        }
        fl_worker_main(pair[1], channel, function, options, helper, recycle_after);
    }
    close(pair[1]);
    if (pid < 0) {
        close(pair[0]);
        close(memory);
        munmap(channel, sizeof(fl_channel));
        return -1;
    }
    slots[live_workers].pid = pid;
    slots[live_workers].channel = channel;
    slots[live_workers].announced = 0;
    slots[live_workers].crashed = 0;
    live_workers++;
    int pidfd = fl_pidfd_open(pid);
    int fds[3] = {pair[0], memory, pidfd};
    int fd_count = pidfd >= 0 ? 3 : 2;
    if (as_spare) {
        spare.pid = pid;
        memcpy(spare.fds, fds, sizeof fds);
        spare.fd_count = fd_count;
    } else {
        announce(control, pid, fds, fd_count);
    }
    return 0;
}

static void report_exit(int control, pid_t pid, int status, int options) {
    for (int i = 0; i < live_workers; i++) {
        if (slots[i].pid != pid) continue;
        static fl_message message;
        memset(&message, 0, offsetof(fl_message, text));
        message.type = FL_MSG_EXITED;
        message.pid = pid;
        message.status = status;
        int announced = slots[i].announced;
        int crashed = slots[i].crashed;
        const fl_report *crash = &slots[i].channel->crash;
        if (!crashed && (options & FL_POOL_SYMBOLIZE) && WIFSIGNALED(status) && crash->kind == FL_KIND_SIGNALED &&
            crash->signo == WTERMSIG(status)) {
            symbolize(crash, &message);
        }
        munmap(slots[i].channel, sizeof(fl_channel));
        slots[i] = slots[--live_workers];
        if (announced) {
            if (!crashed) announced_workers--;
            send_message(control, &message, NULL, 0);
        } else if (spare.pid == pid) { /* the spare died before it was needed */
            for (int j = 0; j < spare.fd_count; j++) close(spare.fds[j]);
            spare.pid = 0;
        }
        return;
    }
}

/* Workers whose handler wrote a crash report: tell the supervisor at once
   (with names), count them as gone, so the spare can take their place. */
static void report_crashes(int control, int options) {
    for (int i = 0; i < live_workers; i++) {
        const fl_report *crash = &slots[i].channel->crash;
        if (slots[i].crashed || !slots[i].announced ||
            !atomic_load_explicit(&slots[i].channel->crash_ready, memory_order_acquire)) {
            continue; /* no report, or one still being written */
        }
        static fl_message message;
        memset(&message, 0, offsetof(fl_message, text));
        message.type = FL_MSG_CRASHED;
        message.pid = slots[i].pid;
        message.status = crash->signo;
        if (options & FL_POOL_SYMBOLIZE) symbolize(crash, &message);
        slots[i].crashed = 1;
        announced_workers--;
        send_message(control, &message, NULL, 0);
    }
}

static void shut_down(void) {
    for (int i = 0; i < live_workers; i++) kill(slots[i].pid, SIGKILL);
    for (int i = 0; i < live_workers; i++) {
        while (waitpid(slots[i].pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    /* Whatever the callee started and left behind is in our process group
       (or was adopted by us, the subreaper): take it down with us. */
    kill(0, SIGKILL);
    _exit(0);
}

static int main_image_callback(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    *(uint64_t *)data = (uint64_t)info->dlpi_addr;
    return 1; /* the first object is the main program */
}

static fl_function resolve(int control, const char *library, const char *symbol, uint64_t offset) {
    if (library == NULL || *library == '\0') {
        uint64_t base = 0;
        dl_iterate_phdr(main_image_callback, &base);
        return (fl_function)(uintptr_t)(base + offset);
    }
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *reason = dlerror();
        send_text(control, FL_MSG_ERROR, FL_POOL_ERROR_LIBRARY, reason ? reason : "dlopen failed");
        _exit(3);
    }
    dlerror();
    void *address = dlsym(handle, symbol ? symbol : "");
    if (address == NULL) {
        send_text(control, FL_MSG_ERROR, FL_POOL_ERROR_SYMBOL, symbol ? symbol : "");
        _exit(3);
    }
    return (fl_function)address;
}

static NOINLINE_HELPER int fault_for_warm_up(int input) {
    static volatile int *volatile nowhere;
    *nowhere = input;
    return input;
}

/* libunwind sets itself up on its first walk (memory pools, a validation
   pipe, per-object unwind tables): about 0.25 ms. Done once here, every
   worker forked afterwards inherits it warm instead of paying it in its crash. */
static void warm_up_unwinder(int options) {
    if (!fl_backtrace_load() || !(options & FL_CAPTURE_BACKTRACE)) return;
    fl_report report;
    fl_guard_call(fault_for_warm_up, 0, FL_CAPTURE_BACKTRACE, &report);
    fl_guard_uninstall();
}

void fl_helper_main(int control, const char *library, const char *symbol, uint64_t offset, int options, int recycle_after) {
    signal(SIGPIPE, SIG_IGN);
    /* Processes a callee starts and abandons are re-parented to us, not to
       init: we reap them, and they die with us. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    size_t count;
    const int *signals = fl_fault_signals(&count);
    for (size_t i = 0; i < count; i++) signal(signals[i], SIG_DFL);
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    sigaddset(&child, SIGUSR1); /* a worker's handler: "I crashed, the report is in the channel" */
    sigprocmask(SIG_BLOCK, &child, NULL);
    int signal_fd = signalfd(-1, &child, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0) _exit(4);

    fl_function function = resolve(control, library, symbol, offset);
    warm_up_unwinder(options);
    send_text(control, FL_MSG_READY, 0, NULL);
    /* From here on the control socket's end-of-file tells us the supervisor is
       gone; the parent-death signal, tied to the thread that spawned us, would
       also fire when that thread ends while its process goes on. */
    prctl(PR_SET_PDEATHSIG, 0);

    int target = 0;
    static fl_message incoming;
    for (;;) {
        int spawn_failed = 0;
        while (announced_workers < target && !spawn_failed) {
            if (!announce_spare(control)) {
                spawn_failed = spawn_worker(control, signal_fd, function, options, recycle_after, 0) != 0;
            }
        }
        if (target > 0 && spare.pid <= 0 && !spawn_failed) {
            spawn_failed = spawn_worker(control, signal_fd, function, options, recycle_after, 1) != 0;
        }
        struct pollfd watch[2] = {{.fd = control, .events = POLLIN}, {.fd = signal_fd, .events = POLLIN}};
        /* A fork that failed (out of processes) is retried after a pause; deaths are still events. */
        if (poll(watch, 2, spawn_failed ? 100 : -1) < 0 && errno != EINTR) shut_down();
        if (watch[1].revents) {
            struct signalfd_siginfo drained[16];
            while (read(signal_fd, drained, sizeof drained) > 0) {
            }
            report_crashes(control, options);
            int status;
            pid_t pid;
            while ((pid = waitpid(-1, &status, WNOHANG)) > 0) report_exit(control, pid, status, options);
        }
        if (watch[0].revents) {
            ssize_t got = recv(control, &incoming, sizeof incoming, MSG_DONTWAIT);
            if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) shut_down();
            if (got > 0 && incoming.type == FL_MSG_TARGET) target = incoming.status;
        }
    }
}

/* Takes over a re-executed copy of the program before Swift's main runs. */
__attribute__((constructor)) static void helper_entry(void) {
    const char *descriptor = getenv("FAULTLINE_HELPER_FD");
    if (descriptor == NULL) return;
    int control = atoi(descriptor);
    const char *library = getenv("FAULTLINE_LIBRARY");
    const char *symbol = getenv("FAULTLINE_SYMBOL");
    const char *offset = getenv("FAULTLINE_IMAGE_OFFSET");
    const char *options = getenv("FAULTLINE_OPTIONS");
    const char *recycle = getenv("FAULTLINE_RECYCLE");
    const char *parent = getenv("FAULTLINE_PARENT");
    /* While loading (which may hang in a constructor) we are not in our poll
       loop: die with the thread that is waiting for us. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (parent && getppid() != (pid_t)atoi(parent)) _exit(0);
    char *library_copy = library ? strdup(library) : NULL;
    char *symbol_copy = symbol ? strdup(symbol) : NULL;
    uint64_t offset_value = offset ? strtoull(offset, NULL, 10) : 0;
    int options_value = options ? atoi(options) : 0;
    int recycle_value = recycle ? atoi(recycle) : 0;
    /* Nothing the callee starts should believe it is a helper. */
    unsetenv("FAULTLINE_HELPER_FD");
    unsetenv("FAULTLINE_LIBRARY");
    unsetenv("FAULTLINE_SYMBOL");
    unsetenv("FAULTLINE_IMAGE_OFFSET");
    unsetenv("FAULTLINE_OPTIONS");
    unsetenv("FAULTLINE_RECYCLE");
    unsetenv("FAULTLINE_PARENT");
    fl_helper_main(control, library_copy, symbol_copy, offset_value, options_value, recycle_value);
    _exit(0);
}
