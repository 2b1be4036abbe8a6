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

/* The function's prepared signature (NULL for int32(int32)): prepared once here,
   inherited by every worker forked afterwards. */
static fl_signature helper_signature;

static void send_init_failure(int control, const fl_report *report, int32_t value) {
    static fl_message message;
    memset(&message, 0, offsetof(fl_message, text));
    message.type = FL_MSG_ERROR;
    message.error.kind = FL_POOL_ERROR_INIT_FAILED;
    message.error.init_kind = report->kind;
    message.error.init_value = value;
    message.error.init_signo = report->signo;
    message.error.init_address = report->address;
    fl_send_packet(control, &message, FL_MESSAGE_SIZE(&message), NULL, 0);
}

const fl_signature *fl_helper_prepare(int control, const fl_helper_config *config) {
    const fl_signature *prepared = NULL;
    if (config->signature_count != FL_POOL_INT_FUNCTION) {
        if (fl_signature_prepare(&helper_signature, config->signature_result, config->signature_types,
                                 config->signature_capacities, config->signature_count) != 0) {
            send_error(control, FL_POOL_ERROR_SIGNATURE, NULL);
            _exit(3);
        }
        prepared = &helper_signature;
    }
    if (config->init != NULL) {
        void *handle = config->library ? dlopen(config->library, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD) : RTLD_DEFAULT;
        void *init = handle ? dlsym(handle, config->init) : NULL;
        if (init == NULL) {
            send_error(control, FL_POOL_ERROR_INIT_SYMBOL, NULL);
            _exit(3);
        }
        /* Once, here, before any worker exists: every worker inherits what it set up.
           Under the guard, so that a crash in init is reported as init's, with its signal. */
        static fl_signature void_to_int;
        uint32_t none[1] = {0};
        uint64_t no_capacity[1] = {0};
        fl_signature_prepare(&void_to_int, FL_TYPE_INT32, none, no_capacity, 0);
        uint8_t result[16] = {0};
        fl_report report;
        memset(&report, 0, sizeof report);
        int status = fl_guard_invoke(&void_to_int, init, NULL, 0, result, 0, &report);
        fl_guard_uninstall();
        int32_t value;
        memcpy(&value, result, sizeof value);
        if (status != 0 || report.kind != FL_KIND_RETURNED || value != 0) {
            if (report.kind != FL_KIND_SIGNALED) report.kind = FL_KIND_RETURNED;
            send_init_failure(control, &report, value);
            _exit(3);
        }
    }
    return prepared;
}
