/*
 * fault_report.c: the parts every fault handler shares — which signals are
 * faults, how a report is filled from a signal, how a process that must not
 * survive its fault installs its reporter and then dies of the same signal.
 *
 * Used by the guard (guard.c), forked children (child.c) and pool workers
 * (worker.c). Everything here is async-signal-safe: memset, sigaction,
 * sigprocmask, sigaltstack, getpid, raise, _exit, libunwind's local walk, and
 * fault_facts.c (access, stack pointer, abort message, the cut at the call) and
 * image_notes.c (libraries the callee loaded, noted from the link map).
 *
 * In a sandboxed process the reporter also takes SIGSYS (a system call the
 * seccomp program denies: fault_facts.c reads which), installed with
 * SA_RESETHAND: entering the handler puts the default action back, so the
 * handler dies of SIGSYS without calling rt_sigaction(SIGSYS), which the
 * program denies, and a second denied call inside it kills at once.
 *
 * A reporter acts only in the process it was installed for. Handlers and the
 * alternate stack are inherited by fork() and clone(): a child the callee
 * forks would otherwise run the reporter and write into Faultline's records
 * as if it were the call. So the installed handler is reached through
 * reporter_entry, which compares getpid() (a system call in glibc >= 2.25,
 * which keeps no cache, so a raw clone() sees its own pid) with the pid saved
 * at install time; in any other process the signal gets its default action
 * and is raised again, exactly as if Faultline were not there.
 */
#include "internal.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP};

const int *fl_fault_signals(size_t *count) {
    *count = sizeof fault_signals / sizeof fault_signals[0];
    return fault_signals;
}

void fl_report_fill_signal(fl_report *report, int signo, const siginfo_t *info) {
    report->kind = FL_KIND_SIGNALED;
    report->signo = signo;
    report->code = info ? info->si_code : 0;
    /* si_addr is meaningful only for faults the kernel raised (si_code > 0). */
    report->address = (info && info->si_code > 0) ? (uint64_t)(uintptr_t)info->si_addr : 0;
    report->flags = FL_REPORT_DETAILED;
    report->frame_count = 0;
}

void fl_report_capture(fl_report *report, int signo, const siginfo_t *info, void *context, int options) {
    fl_report_fill_signal(report, signo, info);
    fl_fault_facts_capture(report, signo, info, context);
    if (options & FL_CAPTURE_BACKTRACE) {
        uint32_t count = fl_backtrace_from_context(context, report->frames, FL_MAX_FRAMES);
        /* A call through a pointer to nowhere (NULL, a freed vtable): the fault
           is the fetch of the instruction at pc, which has no unwind entry, so
           the walk ends there; its caller's return address is on the stack. */
        if (count <= 1 && report->access == FL_ACCESS_EXEC && report->address == fl_context_pc(context)) {
            uint32_t recovered = fl_backtrace_from_pushed_return(context, report->frames, FL_MAX_FRAMES);
            if (recovered > count) count = recovered;
            else if (count == 0) report->frames[count++] = fl_context_pc(context);
        }
        int cut = 0;
        report->frame_count = fl_frames_cut_at_call(report->frames, count, &cut);
        if (cut) report->flags |= FL_REPORT_CUT_AT_CALL;
    } else {
        report->frames[0] = fl_context_pc(context);
        report->frame_count = 1;
    }
    fl_image_notes_capture(report);
}

void fl_set_default_action(int signo) {
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signo, &default_action, NULL);
}

void fl_die_of_signal(int signo) {
    /* SIGSYS is only ever ours with SA_RESETHAND: its action is the default already. */
    if (signo != SIGSYS) fl_set_default_action(signo);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, signo);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    raise(signo);
    _exit(128 + signo); /* not reached */
}

/* The process and handler of the installed reporter (one per process). */
static volatile pid_t reporter_pid;
static void (*volatile reporter_handler)(int, siginfo_t *, void *);

static void reporter_entry(int signo, siginfo_t *info, void *context) {
    void (*handler)(int, siginfo_t *, void *) = reporter_handler;
    if (handler == NULL || getpid() != reporter_pid) fl_die_of_signal(signo); /* not the process it was installed for */
    handler(signo, info, context);
}

void fl_install_fault_reporter(void (*handler)(int, siginfo_t *, void *), void *stack, size_t stack_size) {
    reporter_handler = handler;
    reporter_pid = getpid();
    stack_t alternate = {.ss_sp = stack, .ss_size = stack_size, .ss_flags = 0};
    sigaltstack(&alternate, NULL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = reporter_entry;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof fault_signals / sizeof fault_signals[0]; i++) sigaction(fault_signals[i], &action, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

void fl_install_sigsys_reporter(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = reporter_entry;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSYS, &action, NULL);
}
