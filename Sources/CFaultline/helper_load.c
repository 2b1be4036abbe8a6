/*
 * helper_load.c: the helper loads the function once, for every worker.
 *
 * With a library: dlopen(RTLD_NOW | RTLD_LOCAL) then dlsym. A refusal is
 * sent to the supervisor as data: ERROR with the kind (LIBRARY or SYMBOL)
 * and dlerror's raw text, no sentence; then the helper exits with status 3.
 * Without a library: the function's offset from the main executable's load
 * address (the supervisor is the same executable, mapped elsewhere).
 *
 * Then libunwind is warmed up once (its first walk costs about 0.25 ms),
 * so that every worker forked afterwards inherits it ready.
 *
 * Runs in the single-threaded helper, outside any handler.
 *
 * Limits: a constructor that crashes kills the helper before READY (the
 * supervisor reports its wait status); one that hangs is bounded by the
 * supervisor's deadline or by the parent-death signal.
 */
#include "helper_internal.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

static void send_error(int control, int kind, const char *detail) {
    static fl_message message;
    memset(&message, 0, offsetof(fl_message, text));
    message.type = FL_MSG_ERROR;
    message.error.kind = kind;
    size_t length = detail ? strlen(detail) : 0;
    if (length > FL_MESSAGE_TEXT) length = FL_MESSAGE_TEXT;
    if (length) memcpy(message.text, detail, length);
    message.text_length = (int32_t)length;
    fl_send_packet(control, &message, FL_MESSAGE_SIZE(&message), NULL, 0);
}

static int main_image_callback(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    *(uint64_t *)data = (uint64_t)info->dlpi_addr;
    return 1; /* the first object is the main program */
}

fl_function fl_helper_load(int control, const fl_helper_config *config) {
    if (config->library == NULL) {
        uint64_t base = 0;
        dl_iterate_phdr(main_image_callback, &base);
        return (fl_function)(uintptr_t)(base + config->image_offset);
    }
    void *handle = dlopen(config->library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        send_error(control, FL_POOL_ERROR_LIBRARY, dlerror());
        _exit(3);
    }
    dlerror();
    void *address = dlsym(handle, config->symbol ? config->symbol : "");
    if (address == NULL) {
        send_error(control, FL_POOL_ERROR_SYMBOL, dlerror());
        _exit(3);
    }
    return (fl_function)address;
}

static __attribute__((noinline)) int fault_for_warm_up(int input) {
    static volatile int *volatile nowhere;
    *nowhere = input;
    return input;
}

void fl_helper_warm_up_unwinder(int options) {
    if (!fl_backtrace_load() || !(options & FL_CAPTURE_BACKTRACE)) return;
    fl_report report;
    fl_guard_call(fault_for_warm_up, 0, FL_CAPTURE_BACKTRACE, &report);
    fl_guard_uninstall();
}
