/*
 * fork_call.c: one forked child per call, and an exact account of how it ended.
 *
 * The child (see child.c) calls the function and writes a RETURNED report into
 * a page it shares with the parent (MAP_SHARED, one per calling thread), or its
 * fault reporter writes a SIGNALED one there. A page, not a pipe: a callee that
 * closes every descriptor must not turn its return into "exited 0". The
 * parent waits for the child's death as an event: without a deadline it
 * simply blocks in waitpid; with one it polls a pidfd with that timeout, then
 * reaps with waitpid. waitpid gives the true cause, and the shared page gives
 * the details.
 *
 * Classification: RETURNED needs both the report and exit status 0 (a callee
 * that calls exit(0) is EXITED 0, not a success). SIGNALED takes the signal
 * from waitpid and the code/address/backtrace from the child's report when
 * the numbers agree. TIMED_OUT when the deadline passed and we killed it.
 *
 * Safety: the child runs only fl_child_prepare_shared (async-signal-safe,
 * see child.c), the callee, atomic stores and _exit.
 *
 * Limits: when the host program ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT) the
 * kernel reaps the child itself and discards its status: the call then fails
 * with -ECHILD rather than report an outcome nobody observed. fork() copies
 * the parent's page tables, so a large parent forks slowly (about 35 ms per
 * GiB here); the worker pool forks from a small helper instead. Grandchildren left by the callee in its process group are killed
 * with it. Without pidfd (Linux < 5.3) a deadline cannot be enforced: the call
 * then waits for the child. The shared page of a thread is unmapped when the
 * thread exits.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_key_t shared_key;
static pthread_once_t shared_key_once = PTHREAD_ONCE_INIT;
static __thread fl_shared_result *thread_shared_result;

static void release_shared(void *page) { munmap(page, sizeof(fl_shared_result)); }
static void make_shared_key(void) { pthread_key_create(&shared_key, release_shared); }

/* This thread's page shared with its forked children. */
static fl_shared_result *shared_result(void) {
    if (thread_shared_result == NULL) {
        void *page = mmap(NULL, sizeof(fl_shared_result), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) return NULL;
        pthread_once(&shared_key_once, make_shared_key);
        pthread_setspecific(shared_key, page);
        thread_shared_result = page;
    }
    return thread_shared_result;
}

int fl_fork_call(fl_function function, int input, int64_t timeout_ns, int options, fl_report *report) {
    memset(report, 0, sizeof *report);
    if (options & FL_CAPTURE_BACKTRACE) fl_backtrace_load(); /* dlopen in the parent, never in the child */
    fl_child_exit_hook();
    fl_shared_result *shared = shared_result();
    if (shared == NULL) return -errno;
    atomic_store_explicit(&shared->claimed, 0, memory_order_relaxed);
    atomic_store_explicit(&shared->state, 0, memory_order_relaxed);
    pid_t parent = getpid();
    int64_t start = fl_now_ns();
    int64_t deadline = timeout_ns >= 0 ? start + timeout_ns : -1;
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        fl_child_prepare_shared(parent, shared, options);
        int value = function(input);
        if (atomic_exchange(&shared->claimed, 1) == 0) {
            shared->report.value = value;
            atomic_store_explicit(&shared->state, FL_KIND_RETURNED, memory_order_release);
        }
        _exit(0);
    }

    int timed_out = 0;
    int status = 0;
    if (deadline >= 0) {
        /* Make sure the group exists before we may have to kill it (the child calls setpgid too). */
        setpgid(pid, pid);
        int pidfd = fl_pidfd_open(pid);
        if (pidfd >= 0) {
            if (fl_poll_until(pidfd, deadline) == 0) {
                timed_out = 1;
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
            }
            close(pidfd);
        }
    }
    /* Without a deadline, waitpid is the event: the parent touches as little
       memory as possible while the child shares its pages copy-on-write. */
    pid_t reaped = fl_wait_pid(pid, &status, 0);
    int wait_error = errno;
    int64_t end = fl_now_ns();
    kill(-pid, SIGKILL); /* anything the callee left in its process group */
    /* ECHILD: the host program ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT), so the
       kernel reaped the child and threw its status away. No outcome was
       observed: say so instead of inventing one. */
    if (reaped < 0) return -wait_error;

    uint32_t state = atomic_load_explicit(&shared->state, memory_order_acquire);
    if (timed_out) {
        report->kind = FL_KIND_TIMED_OUT;
    } else if (WIFSIGNALED(status)) {
        if (state == FL_KIND_SIGNALED && shared->report.signo == WTERMSIG(status)) {
            memcpy(report, &shared->report, FL_REPORT_SIZE(shared->report.frame_count));
        } else {
            report->kind = FL_KIND_SIGNALED;
            report->signo = WTERMSIG(status);
        }
    } else if (WIFEXITED(status)) {
        if (state == FL_KIND_RETURNED && WEXITSTATUS(status) == 0) {
            report->kind = FL_KIND_RETURNED;
            report->value = shared->report.value;
        } else {
            report->kind = FL_KIND_EXITED;
            report->value = WEXITSTATUS(status);
        }
    }
    report->elapsed_ns = end - start;
    return 0;
}
