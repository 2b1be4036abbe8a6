/*
 * pool_create.c: creating a pool (its configuration kept, the helper started,
 * the first workers taken over), shutting it down, and destroying it.
 *
 * The configuration's strings and signature arrays are copied into the pool:
 * pool.c starts a new helper from them when a callee kills the running one.
 * A faultline-helper found beside this executable that refuses the
 * configuration (another version) is replaced by this executable, once.
 *
 * A sandbox's configuration (its program and paths) is copied too: every
 * helper gets it.
 *
 * Never in a signal handler: ordinary threads of the host program.
 *
 * Limits: fl_pool_shutdown may be called from any thread, even during a run
 * (which then fails); fl_pool_destroy must not race a run.
 */
#include "pool_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void free_paths(const char *const *paths, uint32_t count) {
    for (uint32_t i = 0; paths && i < count; i++) free((void *)paths[i]);
    free((void *)paths);
}

static void free_sandbox(fl_pool *pool) {
    free((void *)pool->sandbox.filter);
    free_paths(pool->sandbox.read_paths, pool->sandbox.read_count);
    free_paths(pool->sandbox.write_paths, pool->sandbox.write_count);
    memset(&pool->sandbox, 0, sizeof pool->sandbox);
}

/* A copy of `count` paths, or NULL without memory. */
static const char *const *copy_paths(const char *const *paths, uint32_t count) {
    char **copies = calloc(count + 1, sizeof(char *));
    for (uint32_t i = 0; copies && i < count; i++) {
        if ((copies[i] = strdup(paths[i])) == NULL) {
            free_paths((const char *const *)copies, i);
            return NULL;
        }
    }
    return (const char *const *)copies;
}

/* Copies the sandbox into the pool (pool->config.sandbox points at it): 0, or -1 without memory. */
static int copy_sandbox(fl_pool *pool, const fl_sandbox_config *sandbox) {
    pool->sandbox = *sandbox;
    pool->sandbox.filter = NULL;
    pool->sandbox.read_paths = pool->sandbox.write_paths = NULL;
    pool->config.sandbox = &pool->sandbox;
    size_t program = (size_t)sandbox->filter_length * 8;
    void *filter = malloc(program ? program : 1);
    if (filter) memcpy(filter, sandbox->filter, program);
    pool->sandbox.filter = filter;
    pool->sandbox.read_paths = copy_paths(sandbox->read_paths, sandbox->read_count);
    pool->sandbox.write_paths = copy_paths(sandbox->write_paths, sandbox->write_count);
    return filter && pool->sandbox.read_paths && pool->sandbox.write_paths ? 0 : -1;
}

static void release(fl_pool *pool) {
    free_sandbox(pool);
    free(pool->config_library);
    free(pool->config_symbol);
    free(pool->config_executable);
    free(pool->config_init);
    if (pool->control >= 0) close(pool->control);
    pool->control = -1;
    fl_pool_reap_helper(pool, NULL);
    fl_pool_release_workers(pool);
    fl_pool_forget_names(pool);
    fl_pool_forget_channels(pool);
    if (pool->helper_pidfd >= 0) close(pool->helper_pidfd);
    if (pool->epoll_fd >= 0) close(pool->epoll_fd);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

fl_pool *fl_pool_create(const fl_pool_config *config, fl_pool_error *error) {
    memset(error, 0, sizeof *error);
    error->wait_status = -1;
    if (config->workers < 0 || config->workers > FL_POOL_MAX_WORKERS) {
        error->kind = FL_POOL_ERROR_WORKERS;
        error->limit = FL_POOL_MAX_WORKERS;
        return NULL;
    }
    fl_pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        error->kind = FL_POOL_ERROR_SYSTEM;
        error->step = FL_POOL_STEP_MEMORY;
        error->error_number = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->control = -1;
    pool->helper_pidfd = -1;
    pool->worker_goal = config->workers;
    pool->standby_goal = config->workers > 0 ? 1 : 0;
    pool->timeout_ns = config->timeout_ns;
    pool->recycle_after = config->recycle_after;
    /* Kept to start a new helper if a callee kills this one. */
    pool->config = *config;
    pool->config_library = config->library ? strdup(config->library) : NULL;
    pool->config_symbol = config->symbol ? strdup(config->symbol) : NULL;
    int found_beside = 0;
    pool->config_executable = fl_pool_helper_image(config, &found_beside);
    pool->config_init = config->init_symbol ? strdup(config->init_symbol) : NULL;
    pool->config.init_symbol = pool->config_init;
    int sandbox_copied = config->sandbox == NULL || copy_sandbox(pool, config->sandbox) == 0;
    pool->with_records = config->signature_count != FL_POOL_INT_FUNCTION;
    pool->channel_size = FL_CHANNEL_SIZE(pool->with_records);
    if (pool->with_records) {
        uint32_t count = config->signature_count > FL_SIGNATURE_MAX_PARAMETERS ? FL_SIGNATURE_MAX_PARAMETERS : config->signature_count;
        memcpy(pool->signature_types, config->signature_types, sizeof(uint32_t) * count);
        memcpy(pool->signature_capacities, config->signature_capacities, sizeof(uint64_t) * count);
        pool->config.signature_types = pool->signature_types;
        pool->config.signature_capacities = pool->signature_capacities;
        if (config->signature_count > FL_SIGNATURE_MAX_PARAMETERS ||
            fl_signature_prepare(&pool->signature, config->signature_result, pool->signature_types,
                                 pool->signature_capacities, count) != 0) {
            error->kind = FL_POOL_ERROR_SIGNATURE;
            free_sandbox(pool);
            free(pool->config_library);
            free(pool->config_symbol);
            free(pool->config_executable);
            free(pool->config_init);
            pthread_mutex_destroy(&pool->lock);
            free(pool);
            return NULL;
        }
        pool->result_size = fl_signature_result_size(&pool->signature);
    }
    pool->config.library = pool->config_library;
    pool->config.symbol = pool->config_symbol;
    pool->config.executable = pool->config_executable;
    pool->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (pool->epoll_fd < 0 || (config->library && !pool->config_library) || (config->symbol && !pool->config_symbol) ||
        !pool->config_executable || (config->init_symbol && !pool->config_init) || !sandbox_copied) {
        error->kind = FL_POOL_ERROR_SYSTEM;
        error->step = FL_POOL_STEP_SOCKETS;
        error->error_number = errno;
        release(pool);
        return NULL;
    }
    int started = fl_pool_start_helper(pool, config, error);
    if (started != 0 && found_beside && fl_pool_helper_refused(error)) {
        /* A faultline-helper of another version beside this executable: this executable serves instead. */
        char *own = strdup(config->executable);
        if (own) {
            free(pool->config_executable);
            pool->config_executable = own;
            pool->config.executable = own;
            if (pool->helper_pidfd >= 0) close(pool->helper_pidfd);
            pool->helper_pidfd = -1;
            memset(error, 0, sizeof *error);
            started = fl_pool_start_helper(pool, config, error);
        }
    }
    if (started != 0) {
        release(pool);
        return NULL;
    }
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = FL_CONTROL_TAG};
    epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, pool->control, &event);
    while (pool->stats.live_workers < pool->worker_goal) {
        if (fl_pool_drain_control(pool, NULL, 1) != 0) {
            fl_pool_helper_died(pool, error);
            release(pool);
            return NULL;
        }
    }
    return pool;
}

void fl_pool_shutdown(fl_pool *pool) {
    /* Set before the helper goes: a run that sees it go must not start another. */
    __atomic_store_n(&pool->stopping, 1, __ATOMIC_RELEASE);
    if (pool->control >= 0) shutdown(pool->control, SHUT_RDWR);
    fl_pool_reap_helper(pool, NULL);
}

void fl_pool_destroy(fl_pool *pool) {
    if (pool) release(pool);
}

int fl_pool_learned(fl_pool *pool, fl_learned_syscall *out) {
    pthread_mutex_lock(&pool->lock);
    int have = pool->learned != NULL;
    for (int i = 0; have && i < FL_SANDBOX_LEARN_SYSCALLS; i++) {
        out[i].count = __atomic_load_n(&pool->learned[i].count, __ATOMIC_RELAXED);
        out[i].first_input = __atomic_load_n(&pool->learned[i].first_input, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&pool->lock);
    return have;
}

int fl_pool_sandbox_status(fl_pool *pool, fl_sandbox_status *status) {
    if (pool->config.sandbox == NULL) return 0;
    pthread_mutex_lock(&pool->lock);
    *status = pool->sandbox_status;
    pthread_mutex_unlock(&pool->lock);
    return 1;
}

/* The helper's image, chosen when the pool was created. */
const char *fl_pool_helper_executable(fl_pool *pool) {
    return pool->config_executable;
}

