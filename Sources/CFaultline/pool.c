/*
 * pool.c: the supervisor side of the worker pool.
 *
 * It starts the helper (see helper.c), then answers a run of inputs by handing
 * batches to idle workers through their shared channels and waiting in
 * epoll_wait for one of three events: a worker's "batch done", a worker's
 * socket closing (it died), or a message from the helper (a worker was
 * spawned, or reaped with its wait status). No polling, no timeout: the
 * epoll wait has a timeout only when the caller set a per-call deadline and
 * a call is running.
 *
 * Blame: the channel says how many calls of the batch finished and whether one
 * had started; a death fails exactly the call in flight (with the worker's own
 * fault report, or the wait status when no handler ran) and puts the rest of
 * the batch back at the front of the queue. A crash is settled as soon as the
 * helper relays the handler's report (CRASHED), before the kernel has torn the
 * worker down; other deaths when the helper reaps the worker (EXITED). The
 * helper hands over its spare worker at once and forks the next spare.
 *
 * Batching: a batch is the queue length divided by twice the number of
 * workers, between 1 and FL_CHANNEL_CAPACITY, so that fast callees cost two
 * small messages per thousands of calls and slow ones still spread out.
 *
 * Limits: runs on one pool are serialized by a mutex. If a deadline expires
 * at the very moment a call finishes, the next call of that batch may be the
 * one reported as timed out. If the helper itself dies, the run fails.
 */

#include "channel.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <link.h>
#include <poll.h>

extern char **environ;

#define CONTROL_TAG UINT64_MAX

typedef struct pool_worker {
    int in_use;
    pid_t pid;
    int socket_fd;
    int pidfd;
    fl_channel *channel;
    int busy;
    int socket_closed;
    int killed_for_deadline;
    int dying;             /* its crash was reported: no longer counted, awaiting EXITED */
    uint32_t count;
    uint64_t calls;
    size_t batch[FL_CHANNEL_CAPACITY];
} pool_worker;

struct fl_pool {
    pthread_mutex_t lock;
    int control;
    pid_t helper;
    int helper_pidfd;
    int epoll_fd;
    int broken;
    int workers_wanted;
    int64_t timeout_ns;
    int recycle_after;
    pool_worker **workers;
    int worker_slots;
    fl_pool_stats stats;
    fl_message incoming;
};

/* The state of one fl_pool_run. */
typedef struct run_state {
    const int32_t *inputs;
    int32_t *kinds;
    int32_t *values;
    size_t remaining;
    size_t *queue; /* a ring of input indices; capacity = count, each index at most once */
    size_t capacity, head, size;
    fl_pool_failure *failures;
    size_t failure_count, failure_capacity;
} run_state;

/* ---- the queue ---- */

static size_t queue_pop(run_state *run) {
    size_t index = run->queue[run->head];
    run->head = (run->head + 1) % run->capacity;
    run->size--;
    return index;
}

static void queue_push_front(run_state *run, size_t index) {
    run->head = (run->head + run->capacity - 1) % run->capacity;
    run->queue[run->head] = index;
    run->size++;
}

/* ---- messages from the helper ---- */

static ssize_t receive_message(fl_pool *pool, int *fds, int *fd_count, int flags) {
    struct iovec vector = {.iov_base = &pool->incoming, .iov_len = sizeof pool->incoming};
    char space[CMSG_SPACE(sizeof(int) * 3)];
    struct msghdr header = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = space, .msg_controllen = sizeof space};
    ssize_t got;
    do {
        got = recvmsg(pool->control, &header, MSG_CMSG_CLOEXEC | flags);
    } while (got < 0 && errno == EINTR);
    *fd_count = 0;
    if (got > 0) {
        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header); cmsg; cmsg = CMSG_NXTHDR(&header, cmsg)) {
            if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
                int n = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                if (n > 3) n = 3;
                memcpy(fds, CMSG_DATA(cmsg), sizeof(int) * (size_t)n);
                *fd_count = n;
            }
        }
    }
    return got;
}

static pool_worker *find_worker(fl_pool *pool, pid_t pid) {
    for (int i = 0; i < pool->worker_slots; i++) {
        if (pool->workers[i] && pool->workers[i]->in_use && pool->workers[i]->pid == pid) return pool->workers[i];
    }
    return NULL;
}

static int add_worker(fl_pool *pool, pid_t pid, const int *fds, int fd_count) {
    if (fd_count < 2) {
        for (int i = 0; i < fd_count; i++) close(fds[i]);
        return -1;
    }
    fl_channel *channel = mmap(NULL, sizeof(fl_channel), PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
    close(fds[1]);
    if (channel == MAP_FAILED) {
        close(fds[0]);
        if (fd_count > 2) close(fds[2]);
        return -1;
    }
    int slot = -1;
    for (int i = 0; i < pool->worker_slots && slot < 0; i++) {
        if (pool->workers[i] == NULL || !pool->workers[i]->in_use) slot = i;
    }
    if (slot < 0) {
        int grown = pool->worker_slots ? pool->worker_slots * 2 : 8;
        pool_worker **more = realloc(pool->workers, sizeof *more * (size_t)grown);
        if (!more) abort();
        for (int i = pool->worker_slots; i < grown; i++) more[i] = NULL;
        pool->workers = more;
        slot = pool->worker_slots;
        pool->worker_slots = grown;
    }
    if (pool->workers[slot] == NULL) {
        pool->workers[slot] = malloc(sizeof(pool_worker));
        if (!pool->workers[slot]) abort();
    }
    pool_worker *worker = pool->workers[slot];
    memset(worker, 0, offsetof(pool_worker, batch));
    worker->in_use = 1;
    worker->pid = pid;
    worker->socket_fd = fds[0];
    worker->pidfd = fd_count > 2 ? fds[2] : -1;
    worker->channel = channel;
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)slot};
    epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, worker->socket_fd, &event);
    pool->stats.workers_started++;
    pool->stats.live_workers++;
    return 0;
}

static void forget_socket(fl_pool *pool, pool_worker *worker) {
    if (worker->socket_fd >= 0) {
        epoll_ctl(pool->epoll_fd, EPOLL_CTL_DEL, worker->socket_fd, NULL);
        close(worker->socket_fd);
        worker->socket_fd = -1;
    }
    worker->socket_closed = 1;
}

static void record_failure(run_state *run, size_t index, const fl_report *report, const char *symbols, int symbols_length) {
    if (run->failure_count == run->failure_capacity) {
        size_t grown = run->failure_capacity ? run->failure_capacity * 2 : 16;
        fl_pool_failure *more = realloc(run->failures, sizeof *more * grown);
        if (!more) abort();
        run->failures = more;
        run->failure_capacity = grown;
    }
    fl_pool_failure *failure = &run->failures[run->failure_count++];
    failure->index = index;
    failure->report = *report;
    failure->symbols = NULL;
    if (symbols_length > 0) {
        failure->symbols = malloc((size_t)symbols_length + 1);
        if (failure->symbols) {
            memcpy(failure->symbols, symbols, (size_t)symbols_length);
            failure->symbols[symbols_length] = '\0';
        }
    }
    run->kinds[index] = report->kind;
    run->values[index] = report->value;
}

static void complete_calls(fl_pool *pool, run_state *run, pool_worker *worker, uint32_t finished) {
    for (uint32_t j = 0; j < finished; j++) {
        size_t index = worker->batch[j];
        run->kinds[index] = FL_KIND_RETURNED;
        run->values[index] = worker->channel->values[j];
    }
    run->remaining -= finished;
    pool->stats.calls += finished;
    worker->calls += finished;
}

/* A worker is gone (crash reported, or reaped): settle its batch, blame the
   call in flight with `status` (a waitpid status), put the rest back. */
static void settle_batch(fl_pool *pool, run_state *run, pool_worker *worker, int status) {
    if (!worker->busy || run == NULL) return;
    worker->busy = 0;
    fl_channel *channel = worker->channel;
    uint32_t finished = atomic_load_explicit(&channel->finished, memory_order_acquire);
    uint32_t started = atomic_load_explicit(&channel->started, memory_order_acquire);
    if (finished > worker->count) finished = worker->count;
    complete_calls(pool, run, worker, finished);
    uint32_t resume = finished;
    if (started == finished + 1 && finished < worker->count) {
        fl_report report;
        memset(&report, 0, sizeof report);
        if (worker->killed_for_deadline) {
            report.kind = FL_KIND_TIMED_OUT;
            report.elapsed_ns = fl_now_ns() - atomic_load_explicit(&channel->call_started_ns, memory_order_relaxed);
        } else if (WIFSIGNALED(status)) {
            if (channel->crash.kind == FL_KIND_SIGNALED && channel->crash.signo == WTERMSIG(status)) {
                memcpy(&report, &channel->crash, sizeof report);
            } else {
                report.kind = FL_KIND_SIGNALED;
                report.signo = WTERMSIG(status);
            }
        } else {
            report.kind = FL_KIND_EXITED;
            report.value = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        record_failure(run, worker->batch[finished], &report, pool->incoming.text, pool->incoming.text_length);
        run->remaining--;
        pool->stats.calls++;
        resume = finished + 1;
    }
    for (uint32_t j = worker->count; j > resume; j--) queue_push_front(run, worker->batch[j - 1]);
}

/* The helper says the worker's handler reported a fault: the outcome is
   known now (the worker re-raises that very signal), before the kernel has
   finished tearing the process down. */
static void worker_crashed(fl_pool *pool, run_state *run, pool_worker *worker, int signo) {
    if (worker->dying) return;
    settle_batch(pool, run, worker, signo & 0x7f); /* a waitpid status meaning "killed by signo" */
    forget_socket(pool, worker);
    worker->dying = 1;
    pool->stats.live_workers--;
}

/* A worker was reaped: settle what is left, free it. */
static void worker_exited(fl_pool *pool, run_state *run, pool_worker *worker, int status) {
    settle_batch(pool, run, worker, status);
    forget_socket(pool, worker);
    if (worker->pidfd >= 0) close(worker->pidfd);
    munmap(worker->channel, sizeof(fl_channel));
    worker->in_use = 0;
    pool->stats.worker_deaths++;
    if (!worker->dying) pool->stats.live_workers--;
}

/* Handles every message waiting on the control socket. Returns -1 if the helper is gone. */
static int drain_control(fl_pool *pool, run_state *run, int blocking) {
    for (;;) {
        int fds[3];
        int fd_count;
        ssize_t got = receive_message(pool, fds, &fd_count, blocking ? 0 : MSG_DONTWAIT);
        if (got == 0) return -1;
        if (got < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        blocking = 0;
        if (pool->incoming.type == FL_MSG_SPAWNED) {
            add_worker(pool, pool->incoming.pid, fds, fd_count);
        } else {
            for (int i = 0; i < fd_count; i++) close(fds[i]);
            pool_worker *worker = find_worker(pool, pool->incoming.pid);
            if (worker && pool->incoming.type == FL_MSG_EXITED) worker_exited(pool, run, worker, pool->incoming.status);
            if (worker && pool->incoming.type == FL_MSG_CRASHED) worker_crashed(pool, run, worker, pool->incoming.status);
        }
    }
}

/* ---- creating and destroying ---- */

static int send_target(fl_pool *pool, int workers) {
    fl_message message;
    memset(&message, 0, offsetof(fl_message, text));
    message.type = FL_MSG_TARGET;
    message.status = workers;
    return send(pool->control, &message, FL_MESSAGE_SIZE(&message), MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static char *environment_entry(const char *name, const char *value) {
    size_t length = strlen(name) + strlen(value) + 2;
    char *entry = malloc(length);
    if (entry) snprintf(entry, length, "%s=%s", name, value);
    return entry;
}

static int is_ours(const char *entry) {
    return strncmp(entry, "FAULTLINE_HELPER_FD=", 20) == 0 || strncmp(entry, "FAULTLINE_LIBRARY=", 18) == 0 ||
           strncmp(entry, "FAULTLINE_SYMBOL=", 17) == 0 || strncmp(entry, "FAULTLINE_IMAGE_OFFSET=", 23) == 0 ||
           strncmp(entry, "FAULTLINE_OPTIONS=", 18) == 0 || strncmp(entry, "FAULTLINE_RECYCLE=", 18) == 0 ||
           strncmp(entry, "FAULTLINE_PARENT=", 17) == 0 || strncmp(entry, "SWIFT_BACKTRACE=", 16) == 0;
}

static pid_t spawn_helper(const fl_pool_config *config, int control_child) {
    size_t inherited = 0;
    while (environ[inherited]) inherited++;
    char **environment = calloc(inherited + 9, sizeof(char *));
    if (!environment) return -1;
    size_t n = 0;
    for (size_t i = 0; i < inherited; i++) {
        if (!is_ours(environ[i])) environment[n++] = environ[i];
    }
    char number[32];
    size_t first_own = n;
    environment[n++] = environment_entry("FAULTLINE_HELPER_FD", "3");
    snprintf(number, sizeof number, "%d", (int)getpid());
    environment[n++] = environment_entry("FAULTLINE_PARENT", number);
    environment[n++] = environment_entry("SWIFT_BACKTRACE", "enable=no");
    if (config->library) {
        environment[n++] = environment_entry("FAULTLINE_LIBRARY", config->library);
        environment[n++] = environment_entry("FAULTLINE_SYMBOL", config->symbol ? config->symbol : "");
    }
    snprintf(number, sizeof number, "%llu", (unsigned long long)config->image_offset);
    environment[n++] = environment_entry("FAULTLINE_IMAGE_OFFSET", number);
    snprintf(number, sizeof number, "%d", config->options);
    environment[n++] = environment_entry("FAULTLINE_OPTIONS", number);
    snprintf(number, sizeof number, "%d", config->recycle_after);
    environment[n++] = environment_entry("FAULTLINE_RECYCLE", number);
    environment[n] = NULL;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, control_child, 3);
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
    int error = posix_spawn(&pid, config->executable, &actions, &attributes, arguments, environment);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    for (size_t i = first_own; i < n; i++) free(environment[i]);
    free(environment);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return pid;
}

/* Waits for the helper (once: whoever takes its pid reaps it). */
static void reap_helper(fl_pool *pool, int *status) {
    pid_t helper = __atomic_exchange_n(&pool->helper, 0, __ATOMIC_ACQ_REL);
    if (helper <= 0) return;
    /* The helper exits by itself once its control socket closes; give it a moment, then insist. */
    if (pool->helper_pidfd >= 0) {
        struct pollfd watch = {.fd = pool->helper_pidfd, .events = POLLIN};
        if (poll(&watch, 1, 2000) == 0) kill(helper, SIGKILL);
    }
    int ignored;
    while (waitpid(helper, status ? status : &ignored, 0) < 0 && errno == EINTR) {
    }
}

static void release(fl_pool *pool) {
    if (pool->control >= 0) close(pool->control);
    pool->control = -1;
    reap_helper(pool, NULL);
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (worker && worker->in_use) {
            if (worker->socket_fd >= 0) close(worker->socket_fd);
            if (worker->pidfd >= 0) close(worker->pidfd);
            munmap(worker->channel, sizeof(fl_channel));
        }
        free(worker);
    }
    free(pool->workers);
    if (pool->helper_pidfd >= 0) close(pool->helper_pidfd);
    if (pool->epoll_fd >= 0) close(pool->epoll_fd);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

fl_pool *fl_pool_create(const fl_pool_config *config, char *error, size_t error_size, int *error_kind) {
    *error_kind = 0;
    if (error_size) error[0] = '\0';
    fl_pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        *error_kind = FL_POOL_ERROR_SYSTEM;
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->control = -1;
    pool->helper_pidfd = -1;
    pool->workers_wanted = config->workers >= 0 ? config->workers : 1;
    pool->timeout_ns = config->timeout_ns;
    pool->recycle_after = config->recycle_after;
    pool->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    int pair[2];
    if (pool->epoll_fd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        *error_kind = FL_POOL_ERROR_SYSTEM;
        snprintf(error, error_size, "cannot create the helper's socket: %s", strerror(errno));
        release(pool);
        return NULL;
    }
    pool->control = pair[0];
    pool->helper = spawn_helper(config, pair[1]);
    close(pair[1]);
    if (pool->helper < 0) {
        *error_kind = FL_POOL_ERROR_SYSTEM;
        snprintf(error, error_size, "cannot start the helper %s: %s", config->executable, strerror(errno));
        release(pool);
        return NULL;
    }
    pool->stats.helper_pid = pool->helper;
    pool->helper_pidfd = fl_pidfd_open(pool->helper);

    int fds[3];
    int fd_count;
    /* Loading runs the library's constructors: it may hang like any callee, so
       the per-call deadline (if any) bounds it too. */
    int loaded_in_time = 1;
    if (config->timeout_ns >= 0) {
        struct pollfd watch = {.fd = pool->control, .events = POLLIN};
        int64_t deadline = fl_now_ns() + config->timeout_ns;
        int ready;
        do {
            int64_t left = deadline - fl_now_ns();
            ready = poll(&watch, 1, left > 0 ? (int)((left + 999999) / 1000000) : 0);
        } while (ready < 0 && errno == EINTR);
        loaded_in_time = ready > 0;
    }
    ssize_t got = loaded_in_time ? receive_message(pool, fds, &fd_count, 0) : -1;
    if (got <= 0 || pool->incoming.type != FL_MSG_READY) {
        int status = 0;
        int kind = got > 0 ? pool->incoming.status : FL_POOL_ERROR_HELPER;
        const char *library = config->library ? config->library : "the main executable";
        if (!loaded_in_time) {
            kill(pool->helper, SIGKILL);
            reap_helper(pool, NULL);
            snprintf(error, error_size, "loading '%s' did not finish within the deadline of %.3f s", library,
                     (double)config->timeout_ns / 1e9);
        } else if (got > 0 && kind == FL_POOL_ERROR_LIBRARY) {
            snprintf(error, error_size, "cannot load library '%s': %.*s", library, (int)pool->incoming.text_length, pool->incoming.text);
        } else if (got > 0 && kind == FL_POOL_ERROR_SYMBOL) {
            snprintf(error, error_size, "symbol '%s' not found in '%s'", config->symbol ? config->symbol : "", library);
        } else {
            close(pool->control);
            pool->control = -1;
            reap_helper(pool, &status);
            if (WIFSIGNALED(status)) {
                snprintf(error, error_size, "the helper died of signal %d while loading '%s'", WTERMSIG(status), library);
            } else {
                snprintf(error, error_size, "the helper exited with status %d while loading '%s'",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1, library);
            }
        }
        *error_kind = kind;
        release(pool);
        return NULL;
    }
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = CONTROL_TAG};
    epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, pool->control, &event);
    if (send_target(pool, pool->workers_wanted) != 0) {
        *error_kind = FL_POOL_ERROR_SYSTEM;
        snprintf(error, error_size, "the helper stopped listening: %s", strerror(errno));
        release(pool);
        return NULL;
    }
    while (pool->stats.live_workers < pool->workers_wanted) {
        if (drain_control(pool, NULL, 1) != 0) {
            *error_kind = FL_POOL_ERROR_HELPER;
            snprintf(error, error_size, "the helper died while starting workers");
            release(pool);
            return NULL;
        }
    }
    return pool;
}

void fl_pool_shutdown(fl_pool *pool) {
    if (pool->control >= 0) shutdown(pool->control, SHUT_RDWR);
    reap_helper(pool, NULL);
}

void fl_pool_destroy(fl_pool *pool) {
    if (pool) release(pool);
}

/* ---- running ---- */

static int live_idle_workers(fl_pool *pool) {
    int count = 0;
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (worker && worker->in_use && !worker->socket_closed) count++;
    }
    return count;
}

static void dispatch(fl_pool *pool, run_state *run) {
    int live = live_idle_workers(pool);
    if (live == 0) return;
    for (int i = 0; i < pool->worker_slots && run->size > 0; i++) {
        pool_worker *worker = pool->workers[i];
        if (!worker || !worker->in_use || worker->busy || worker->socket_closed) continue;
        size_t batch = run->size / (size_t)(2 * live);
        if (batch < 1) batch = 1;
        if (batch > FL_CHANNEL_CAPACITY) batch = FL_CHANNEL_CAPACITY;
        if (pool->recycle_after > 0) {
            if (worker->calls >= (uint64_t)pool->recycle_after) continue; /* about to exit by itself */
            uint64_t left = (uint64_t)pool->recycle_after - worker->calls;
            if (batch > left) batch = (size_t)left;
        }
        fl_channel *channel = worker->channel;
        for (size_t j = 0; j < batch; j++) {
            size_t index = queue_pop(run);
            worker->batch[j] = index;
            channel->inputs[j] = run->inputs[index];
        }
        channel->count = (uint32_t)batch;
        channel->timed = pool->timeout_ns >= 0;
        atomic_store_explicit(&channel->started, 0, memory_order_relaxed);
        atomic_store_explicit(&channel->finished, 0, memory_order_release);
        worker->count = (uint32_t)batch;
        worker->busy = 1;
        pool->stats.batches++;
        uint32_t go = (uint32_t)batch;
        if (send(worker->socket_fd, &go, sizeof go, MSG_NOSIGNAL) != (ssize_t)sizeof go) {
            /* Already dead: the helper's report will put the batch back. */
            forget_socket(pool, worker);
        }
    }
}

/* Kills workers whose current call passed the deadline; returns ms until the next deadline, or -1. */
static int enforce_deadlines(fl_pool *pool) {
    if (pool->timeout_ns < 0) return -1;
    int64_t now = fl_now_ns();
    int64_t next = -1;
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (!worker || !worker->in_use || !worker->busy || worker->killed_for_deadline) continue;
        fl_channel *channel = worker->channel;
        uint32_t started = atomic_load_explicit(&channel->started, memory_order_acquire);
        uint32_t finished = atomic_load_explicit(&channel->finished, memory_order_acquire);
        if (started != finished + 1) continue;
        int64_t due = atomic_load_explicit(&channel->call_started_ns, memory_order_relaxed) + pool->timeout_ns;
        if (due <= now) {
            worker->killed_for_deadline = 1;
            /* The pidfd names this very process: its pid may already be reaped and reused. */
            if (worker->pidfd < 0 || (fl_pidfd_send_signal(worker->pidfd, SIGKILL) != 0 && errno == ENOSYS)) {
                kill(worker->pid, SIGKILL);
            }
        } else if (next < 0 || due < next) {
            next = due;
        }
    }
    /* A worker that has not started its first call yet is checked again soon. */
    int64_t poll_ms = next < 0 ? 50 : (next - now + 999999) / 1000000;
    return poll_ms > 1000 ? 1000 : (int)poll_ms;
}

int fl_pool_run(fl_pool *pool, const int32_t *inputs, size_t count, int32_t *kinds, int32_t *values,
                fl_pool_failure **failures, size_t *failure_count) {
    *failures = NULL;
    *failure_count = 0;
    if (count == 0) return 0;
    pthread_mutex_lock(&pool->lock);
    if (pool->broken) {
        pthread_mutex_unlock(&pool->lock);
        return -EPIPE;
    }
    run_state run = {.inputs = inputs, .kinds = kinds, .values = values, .remaining = count, .capacity = count};
    run.queue = malloc(sizeof(size_t) * count);
    if (!run.queue) {
        pthread_mutex_unlock(&pool->lock);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) run.queue[i] = i;
    run.size = count;
    int result = 0;
    /* Deaths that happened between runs. */
    if (drain_control(pool, &run, 0) != 0) result = -EPIPE;
    struct epoll_event events[64];
    while (result == 0 && run.remaining > 0) {
        dispatch(pool, &run);
        int timeout_ms = enforce_deadlines(pool);
        int ready = epoll_wait(pool->epoll_fd, events, 64, timeout_ms);
        if (ready < 0 && errno != EINTR) {
            result = -errno;
            break;
        }
        for (int e = 0; e < ready && result == 0; e++) {
            if (events[e].data.u64 == CONTROL_TAG) {
                if (drain_control(pool, &run, 0) != 0) result = -EPIPE;
                continue;
            }
            pool_worker *worker = pool->workers[events[e].data.u64];
            if (!worker || !worker->in_use || worker->socket_closed) continue;
            uint32_t done;
            ssize_t got = recv(worker->socket_fd, &done, sizeof done, MSG_DONTWAIT);
            if (got == (ssize_t)sizeof done && worker->busy) {
                complete_calls(pool, &run, worker, worker->count);
                worker->busy = 0;
            } else if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
                forget_socket(pool, worker); /* it died; the helper's EXITED settles the batch */
            }
        }
    }
    if (result != 0) pool->broken = 1;
    free(run.queue);
    *failures = run.failures;
    *failure_count = run.failure_count;
    pthread_mutex_unlock(&pool->lock);
    return result;
}

void fl_pool_free_failures(fl_pool_failure *failures, size_t count) {
    for (size_t i = 0; i < count; i++) free(failures[i].symbols);
    free(failures);
}

static int dying_workers(fl_pool *pool) {
    int count = 0;
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (worker && worker->in_use && worker->dying) count++;
    }
    return count;
}

/* Waits for the replacements of workers that died (the helper hands over its
   spare at once): the pool is back at full size. With `settled`, also for the
   reaping of workers whose crash was already reported. Lock held. */
static void await_capacity(fl_pool *pool, int settled) {
    if (!pool->broken && drain_control(pool, NULL, 0) != 0) pool->broken = 1;
    while (!pool->broken &&
           (pool->stats.live_workers < pool->workers_wanted || (settled && dying_workers(pool) > 0))) {
        if (drain_control(pool, NULL, 1) != 0) pool->broken = 1;
    }
}

int fl_pool_worker_pids(fl_pool *pool, pid_t *pids, int capacity) {
    pthread_mutex_lock(&pool->lock);
    await_capacity(pool, 0);
    int count = 0;
    for (int i = 0; i < pool->worker_slots; i++) {
        pool_worker *worker = pool->workers[i];
        if (worker && worker->in_use && !worker->dying) {
            if (count < capacity) pids[count] = worker->pid;
            count++;
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return count;
}

fl_pool_stats fl_pool_statistics(fl_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    await_capacity(pool, 1);
    fl_pool_stats stats = pool->stats;
    pthread_mutex_unlock(&pool->lock);
    return stats;
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
