/*
 * guard.c: the in-process guard. Catch a fault inside a native call and jump
 * back to the caller with sigsetjmp/siglongjmp.
 *
 * Mechanism: sigaction(SA_SIGINFO | SA_ONSTACK | SA_NODEFER) handlers for the
 * fault signals; a thread-local pointer to the innermost guard frame (its
 * jump buffer and report); sigsetjmp(env, 0), which saves no signal mask and
 * so costs no system call. Because the handler runs with SA_NODEFER and an
 * empty sa_mask, the mask inside it is exactly the mask of the interrupted
 * code, and jumping out leaves that mask in force: no fault signal is left
 * blocked and no sigprocmask call is needed on either path.
 *
 * Async-signal-safety of the handler: it reads thread-local storage of the
 * initial-exec model (no allocation), fills a caller-owned struct, calls
 * libunwind's signal-safe local unwinder, getpid, sigaction, sigprocmask,
 * raise, and siglongjmp. Nothing else.
 *
 * Limits (why it is "unsafe"): the jump skips everything the callee would
 * have done on the way out: locks stay held (malloc's, the library's own),
 * memory and descriptors leak, C++ destructors and cleanup never run, and the
 * library's state may be half-updated. A fault in a thread the callee started
 * is not on a guarded thread and is passed on (the process dies as it would
 * have). A fault while the signal is blocked is killed by the kernel before
 * any handler runs. exit() in the callee ends the process. If the callee
 * changes the signal mask and then faults, the mask it set stays in force.
 * Another library installing its own handler after ours wins over ours.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Code that calls a callee: its frames end a backtrace (internal.h). */
FL_CALLS_SECTION

struct guard_frame {
    sigjmp_buf env;
    fl_report *report;
    int options;
    volatile sig_atomic_t in_handler;
    struct guard_frame *previous;
};

static FL_TLS struct guard_frame *volatile current_frame;
static FL_TLS int thread_prepared;

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t installed;
static struct sigaction previous_actions[NSIG];

/* A signal is ours to recover only if the kernel raised it for this thread's
   instruction, or this very process sent it (raise, abort). kill from another
   process is passed on. */
static int raised_by_this_process(const siginfo_t *info) {
    if (info->si_code > 0) return 1;
    return info->si_pid == getpid();
}

/* Hands a signal we do not recover to whoever had it before us. */
static void pass_on(int signo, siginfo_t *info, void *context) {
    const struct sigaction *previous = &previous_actions[signo];
    if (previous->sa_flags & SA_SIGINFO) {
        if (previous->sa_sigaction) {
            previous->sa_sigaction(signo, info, context);
            return;
        }
    } else if (previous->sa_handler != SIG_DFL && previous->sa_handler != SIG_IGN) {
        previous->sa_handler(signo);
        return;
    }
    if (previous->sa_handler == SIG_IGN && info->si_code <= 0) return; /* a sent signal that was ignored */
    /* Default action: die of this signal, as if we had never been here. */
    fl_die_of_signal(signo);
}

static void guard_handler(int signo, siginfo_t *info, void *context) {
    int saved_errno = errno;
    struct guard_frame *frame = current_frame;
    if (frame == NULL || !raised_by_this_process(info)) {
        pass_on(signo, info, context);
        errno = saved_errno;
        return;
    }
    fl_report *report = frame->report;
    if (frame->in_handler) {
        /* A second fault while walking the stack: keep what was captured. */
        report->flags |= FL_REPORT_TRUNCATED;
    } else {
        frame->in_handler = 1;
        fl_report_capture(report, signo, info, context, frame->options);
    }
    current_frame = frame->previous;
    errno = saved_errno;
    siglongjmp(frame->env, 1);
}

int fl_guard_install(void) {
    int error = 0;
    pthread_mutex_lock(&install_lock);
    if (!installed) {
        fl_backtrace_load();
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = guard_handler;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&action.sa_mask);
        size_t count;
        const int *signals = fl_fault_signals(&count);
        for (size_t i = 0; i < count && error == 0; i++) {
            if (sigaction(signals[i], &action, &previous_actions[signals[i]]) != 0) error = errno;
        }
        if (error == 0) installed = 1;
    }
    pthread_mutex_unlock(&install_lock);
    return error;
}

int fl_guard_uninstall(void) {
    pthread_mutex_lock(&install_lock);
    if (installed) {
        size_t count;
        const int *signals = fl_fault_signals(&count);
        for (size_t i = 0; i < count; i++) {
            int signo = signals[i];
            struct sigaction current;
            if (sigaction(signo, NULL, &current) == 0 && (current.sa_flags & SA_SIGINFO) &&
                current.sa_sigaction == guard_handler) {
                sigaction(signo, &previous_actions[signo], NULL);
            }
        }
        installed = 0;
    }
    pthread_mutex_unlock(&install_lock);
    return 0;
}

int fl_guard_installed(void) { return installed; }

static int prepare_thread(void) {
    int error = fl_guard_install();
    if (error == 0) error = fl_altstack_ensure();
    if (error == 0) thread_prepared = 1;
    return error;
}

/* What every guarded entry point does before its sigsetjmp (which must stay in
   the entry point's own frame): prepares the thread once, and fills the frame
   that guard_handler finds through current_frame. 0, or an errno value. */
static inline int guard_begin(struct guard_frame *frame, fl_report *report, int options) {
    if (FL_UNLIKELY(!thread_prepared || !installed)) {
        int error = prepare_thread();
        if (error != 0) return error;
    }
    frame->report = report;
    frame->options = options;
    frame->in_handler = 0;
    frame->previous = current_frame;
    return 0;
}

int fl_guard_call(fl_function function, int input, int options, fl_report *report) {
    struct guard_frame frame;
    int error = guard_begin(&frame, report, options);
    if (error != 0) return -error;
    if (sigsetjmp(frame.env, 0) == 0) {
        current_frame = &frame;
        int value = function(input);
        current_frame = frame.previous;
        report->kind = FL_KIND_RETURNED;
        report->value = value;
        return 0;
    }
    /* Arrived by siglongjmp from guard_handler, which filled the report. */
    return 0;
}

ssize_t fl_guard_call_batch(fl_function function, const int32_t *inputs, size_t count, int options,
                            int32_t *values, fl_report *report) {
    /* One jump buffer for the whole batch: sigsetjmp runs once per batch (and
       the caller starts a new batch after a fault), not once per call. The
       index is volatile because it changes after sigsetjmp and is read after
       the jump. */
    struct guard_frame frame;
    int error = guard_begin(&frame, report, options);
    if (error != 0) return -error;
    volatile size_t index = 0;
    if (sigsetjmp(frame.env, 0) != 0) {
        return (ssize_t)index; /* guard_handler filled the report for inputs[index] */
    }
    current_frame = &frame;
    for (; index < count; index++) values[index] = function(inputs[index]);
    current_frame = frame.previous;
    return (ssize_t)count;
}
/* ==== fl_guard_invoke: any signature under the guard (signature_call.c) ====
 * The same mechanism as fl_guard_call: a guard frame on this stack, its jump
 * buffer armed with sigsetjmp(env, 0) (no mask saved, no system call), the
 * thread-local current_frame pointing at it while the callee runs. A fault in
 * the callee (or in libffi's call frame around it) runs guard_handler, which
 * fills the report and siglongjmps back here.
 *
 * Why it is safe to jump out of fl_signature_invoke: it allocates nothing and
 * takes no lock (its argument pointers live in arrays on its stack frame and
 * ffi_call builds the call frame with alloca), so abandoning its frame leaks
 * nothing of Faultline's own. No local of this function changes between
 * sigsetjmp and the jump, so none needs to be volatile. What the callee itself
 * leaves behind is the guard's usual, documented unsafety.
 */
int fl_guard_invoke(const fl_signature *signature, void *function, const uint8_t *arguments, size_t size,
                    uint8_t *result, int options, fl_report *report) {
    struct guard_frame frame;
    int error = guard_begin(&frame, report, options);
    if (error != 0) return -error;
    if (sigsetjmp(frame.env, 0) == 0) {
        current_frame = &frame;
        int status = fl_signature_invoke(signature, function, arguments, size, result);
        current_frame = frame.previous;
        report->kind = status == 0 ? FL_KIND_RETURNED : FL_KIND_NONE;
        report->value = 0;
        report->flags = 0;
        report->frame_count = 0;
        return status;
    }
    /* Arrived by siglongjmp from guard_handler, which filled the report. */
    return 0;
}

ssize_t fl_guard_invoke_batch(const fl_signature *signature, void *function, const uint8_t *arguments,
                              const uint64_t *offsets, size_t count, uint8_t *results, size_t result_size, int options,
                              fl_report *report) {
    /* As fl_guard_call_batch: one jump buffer for the batch; the index is
       volatile because it changes after sigsetjmp and is read after the jump. */
    struct guard_frame frame;
    int error = guard_begin(&frame, report, options);
    if (error != 0) return -error;
    volatile size_t index = 0;
    if (sigsetjmp(frame.env, 0) != 0) {
        return (ssize_t)index; /* guard_handler filled the report for call `index` */
    }
    current_frame = &frame;
    for (; index < count; index++) {
        size_t i = index;
        int status = fl_signature_invoke(signature, function, arguments + offsets[i], (size_t)(offsets[i + 1] - offsets[i]),
                                         results + i * result_size);
        if (FL_UNLIKELY(status != 0)) {
            current_frame = frame.previous;
            return status;
        }
    }
    current_frame = frame.previous;
    return (ssize_t)count;
}
/* ==== end of fl_guard_invoke ==== */
