/*
 * worker_stack.c: the stack every worker runs its calls on.
 *
 * Workers are forked from the helper's thread, so they run on that thread's
 * stack, and a callee that recurses without end touches every page of it
 * before it meets the guard page below. With 4 KiB pages that is about 2,000
 * page faults (and as many pages to free when the worker dies): about 5 ms
 * per runaway recursion here, end to end, ten times any other crash. So the
 * helper's thread gets a stack of its own: the default thread size, in a
 * mapping whose lower part is aligned to 2 MiB and advised MADV_HUGEPAGE (an
 * overflow then takes a few huge-page faults: ~1.4 ms), under a top part of
 * FL_STACK_SMALL_TOP bytes in ordinary pages, which is all that shallow
 * calls touch, so a worker whose calls stay shallow never zeroes a huge page.
 *
 * Limits: where transparent huge pages are off ("never") the advice does
 * nothing and the stack behaves like any other; with "madvise" defrag, a
 * huge-page fault may compact memory first. The stack is FL_STACK_SMALL_TOP
 * larger than the default (whose size is rounded up to 2 MiB). A guard page
 * below it (PROT_NONE) makes the overflow a SIGSEGV, which the worker
 * reports from its alternate signal stack. Runs in the helper before its
 * thread starts; never in a handler. Without memory: the default stack.
 */
#include "helper_internal.h"

#include <sys/mman.h>
#include <unistd.h>

#define FL_STACK_HUGE_PAGE ((size_t)2 << 20)
#define FL_STACK_SMALL_TOP ((size_t)256 << 10)

static size_t round_up(size_t value, size_t unit) {
    return (value + unit - 1) / unit * unit;
}

int fl_worker_stack_attributes(pthread_attr_t *attributes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (size_t)8 << 20;
    pthread_attr_t defaults;
    if (pthread_getattr_default_np(&defaults) == 0) {
        size_t size = 0;
        if (pthread_attr_getstacksize(&defaults, &size) == 0 && size > 0) body = size;
        pthread_attr_destroy(&defaults);
    }
    body = round_up(body, FL_STACK_HUGE_PAGE);
    size_t size = body + FL_STACK_SMALL_TOP;
    /* Room to align the body and to keep a guard page below it. */
    size_t reserved = size + FL_STACK_HUGE_PAGE + page;
    char *mapping = mmap(NULL, reserved, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) return -1;
    char *low = (char *)round_up((uintptr_t)mapping + page, FL_STACK_HUGE_PAGE);
    char *end = mapping + reserved;
    if (low - page > mapping) munmap(mapping, (size_t)(low - page - mapping));
    if (low + size < end) munmap(low + size, (size_t)(end - (low + size)));
    if (mprotect(low - page, page, PROT_NONE) != 0) {
        munmap(low - page, size + page);
        return -1;
    }
    madvise(low, body, MADV_HUGEPAGE);
    if (pthread_attr_init(attributes) != 0) {
        munmap(low - page, size + page);
        return -1;
    }
    if (pthread_attr_setstack(attributes, low, size) != 0) {
        pthread_attr_destroy(attributes);
        munmap(low - page, size + page);
        return -1;
    }
    return 0;
}
