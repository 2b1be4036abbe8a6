/*
 * altstack.c: alternate signal stacks with a guard page below them: one per
 * thread that makes guarded calls, and the one stack of a process that
 * reports its fault and dies (a forked call's child, a pool worker), mapped
 * before the fork that makes it.
 *
 * Why: a stack overflow leaves no room on the thread's own stack to run a
 * handler; without an alternate stack the kernel kills the process.
 * Threads made by Foundation, Dispatch or the callee have none. And a stack
 * can overflow in its turn: a callee's own SA_ONSTACK handler that recurses
 * without end runs on ours. The PROT_NONE page below each stack makes that
 * overflow fault (SIGSEGV, delivered at the top of the stack again, where a
 * reporter still finds its state intact) instead of running on through the
 * memory below it.
 *
 * Not in a handler: mmap and mprotect. fl_altstack_map runs before fork()
 * (in the process that forks); the child only installs what it inherited.
 *
 * Limits: a thread keeps an existing alternate stack when it is at least
 * FL_ALTSTACK_MIN bytes (whether it has a guard page is its owner's
 * business). Ours are unmapped by a thread-specific-data destructor when
 * the thread exits; a process's reporter stack stays for the process's life.
 * A frame larger than the guard page can jump over it, as with any guard page.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#define FL_ALTSTACK_MIN (64 * 1024)
#define FL_ALTSTACK_SIZE (256 * 1024)

static FL_TLS int thread_has_altstack;
static pthread_key_t altstack_key;
static pthread_once_t altstack_key_once = PTHREAD_ONCE_INIT;

static size_t page_size(void) {
    long size = sysconf(_SC_PAGESIZE);
    return size > 0 ? (size_t)size : 4096;
}

int fl_altstack_map(size_t size, fl_altstack *stack) {
    size_t guard = page_size();
    size = (size + guard - 1) / guard * guard;
    char *mapping = mmap(NULL, size + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) return errno;
    if (mprotect(mapping, guard, PROT_NONE) != 0) {
        int error = errno;
        munmap(mapping, size + guard);
        return error;
    }
    stack->base = mapping + guard;
    stack->size = size;
    return 0;
}

static void release_altstack(void *value) {
    fl_altstack *stack = value;
    stack_t disable = {.ss_flags = SS_DISABLE};
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && (char *)current.ss_sp == stack->base) sigaltstack(&disable, NULL);
    munmap(stack->base - page_size(), stack->size + page_size());
}

static void make_key(void) { pthread_key_create(&altstack_key, release_altstack); }

int fl_altstack_ensure(void) {
    /* The thread's stack, known to its key's destructor (thread-local: it lives and dies with the thread). */
    static FL_TLS fl_altstack ours;
    if (thread_has_altstack) return 0;
    stack_t current;
    if (sigaltstack(NULL, &current) != 0) return errno;
    if (!(current.ss_flags & SS_DISABLE) && current.ss_size >= FL_ALTSTACK_MIN) {
        thread_has_altstack = 1;
        return 0;
    }
    size_t size = FL_ALTSTACK_SIZE;
    long wanted = sysconf(_SC_SIGSTKSZ);
    if (wanted > 0 && (size_t)wanted * 8 > size) size = (size_t)wanted * 8;
    int error = fl_altstack_map(size, &ours);
    if (error != 0) return error;
    stack_t installed = {.ss_sp = ours.base, .ss_size = ours.size, .ss_flags = 0};
    if (sigaltstack(&installed, NULL) != 0) {
        error = errno;
        munmap(ours.base - page_size(), ours.size + page_size());
        return error;
    }
    pthread_once(&altstack_key_once, make_key);
    pthread_setspecific(altstack_key, &ours);
    thread_has_altstack = 1;
    return 0;
}
