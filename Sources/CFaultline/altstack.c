/*
 * altstack.c: one alternate signal stack per thread that makes guarded calls.
 *
 * Why: a stack overflow leaves no room on the thread's own stack to run a
 * handler; without an alternate stack the kernel kills the process.
 * Threads made by Foundation, Dispatch or the callee have none.
 *
 * Limits: a thread keeps an existing alternate stack when it is at least
 * FL_ALTSTACK_MIN bytes. Ours is mmap'd with a guard page below it and is
 * unmapped by a thread-specific-data destructor when the thread exits.
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

static void release_altstack(void *mapping) {
    stack_t disable = {.ss_flags = SS_DISABLE};
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && (char *)current.ss_sp == (char *)mapping + page_size()) {
        sigaltstack(&disable, NULL);
    }
    munmap(mapping, FL_ALTSTACK_SIZE + page_size());
}

static void make_key(void) { pthread_key_create(&altstack_key, release_altstack); }

int fl_altstack_ensure(void) {
    if (thread_has_altstack) return 0;
    stack_t current;
    if (sigaltstack(NULL, &current) != 0) return errno;
    if (!(current.ss_flags & SS_DISABLE) && current.ss_size >= FL_ALTSTACK_MIN) {
        thread_has_altstack = 1;
        return 0;
    }
    size_t guard = page_size();
    size_t size = FL_ALTSTACK_SIZE;
    long wanted = sysconf(_SC_SIGSTKSZ);
    if (wanted > 0 && (size_t)wanted * 8 > size) size = ((size_t)wanted * 8 + guard - 1) / guard * guard;
    char *mapping = mmap(NULL, size + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) return errno;
    mprotect(mapping, guard, PROT_NONE); /* overflow of the alternate stack faults instead of corrupting */
    stack_t ours = {.ss_sp = mapping + guard, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ours, NULL) != 0) {
        int error = errno;
        munmap(mapping, size + guard);
        return error;
    }
    pthread_once(&altstack_key_once, make_key);
    pthread_setspecific(altstack_key, mapping);
    thread_has_altstack = 1;
    return 0;
}
