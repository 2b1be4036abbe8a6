/*
 * CFaultlineSignature.h: calling a native function of any signature of the
 * contract's grammar with libffi (signature_call.c), and under the guard
 * (fl_guard_invoke, guard.c).
 *
 * A call takes two flat, pointer-free, position-independent byte records, so
 * that both can later cross shared memory or a socket between processes:
 *
 * ARGUMENT RECORD (read-only for the call; starts 8-byte aligned). One field per
 * parameter that takes input, in order, each starting at an 8-byte-aligned offset:
 *   scalar  8 bytes; the C type's bytes (native byte order) at the field start,
 *           the rest ignored. A bool is one byte, 0 or nonzero (read as 1).
 *   string  u64 length L, then L bytes, then a NUL; padded to a multiple of 8.
 *           The callee receives a pointer to the bytes (inside the record).
 *           Size: 8 + align8(L + 1).
 *   bytes   u64 length L, then L bytes; padded to a multiple of 8. The callee
 *           receives a pointer to the bytes and L. Size: 8 + align8(L).
 * Output buffers take no field. The record's size is the sum of its fields,
 * exactly (fl_argument_field_size gives one field's size).
 *
 * RESULT RECORD (written by the call; the caller zero-fills it, it starts 8-byte
 * aligned and is fl_signature_result_size bytes long):
 *   offset 0  8 bytes: the return value, the C type's bytes at the start, the
 *             rest zero (all 8 zero for void). A bool is one byte, 0 or 1.
 *   then      each out_string/out_bytes buffer, `capacity` bytes, at the offset
 *             `out_offsets[i]` (8 + the sum of align8(capacity) of the earlier
 *             buffers). The callee receives a pointer to it and its capacity.
 */
#ifndef CFAULTLINE_SIGNATURE_H
#define CFAULTLINE_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Type codes of return values and parameters. */
typedef enum fl_type {
    FL_TYPE_VOID = 0,       /**< return type only */
    FL_TYPE_INT8 = 1,
    FL_TYPE_INT16 = 2,
    FL_TYPE_INT32 = 3,
    FL_TYPE_INT64 = 4,
    FL_TYPE_UINT8 = 5,
    FL_TYPE_UINT16 = 6,
    FL_TYPE_UINT32 = 7,
    FL_TYPE_UINT64 = 8,
    FL_TYPE_FLOAT = 9,
    FL_TYPE_DOUBLE = 10,
    FL_TYPE_BOOL = 11,      /**< C `_Bool` */
    FL_TYPE_STRING = 12,    /**< one `const char *` parameter */
    FL_TYPE_BYTES = 13,     /**< `const void *data, size_t length` */
    FL_TYPE_OUT_STRING = 14,/**< `void *buffer, size_t capacity`, in the result record */
    FL_TYPE_OUT_BYTES = 15, /**< `void *buffer, size_t capacity`, in the result record */
} fl_type;

/** At most this many parameters of the grammar. */
#define FL_SIGNATURE_MAX_PARAMETERS 32
/** At most this many C arguments (bytes and out buffers take two each). */
#define FL_SIGNATURE_MAX_ARGUMENTS (2 * FL_SIGNATURE_MAX_PARAMETERS)
/** The largest capacity of an output buffer: 64 MiB. */
#define FL_SIGNATURE_MAX_CAPACITY ((uint64_t)64 << 20)

/** Returned by fl_signature_invoke / fl_guard_invoke for a malformed argument
    record (sizes that do not add up, a string without its NUL, misalignment). */
#define FL_SIGNATURE_MALFORMED (-22) /* -EINVAL */

/**
 * A prepared signature: the type codes, the output capacities and offsets,
 * the record sizes, and libffi's call interface.
 *
 * It holds pointers into itself (the call interface points at
 * `argument_types`): once prepared it must stay where it is: never copy or
 * move it; allocate it once (e.g. on the heap) and reuse it for every call.
 */
typedef struct fl_signature {
    uint32_t result_type;      /**< FL_TYPE_VOID or a scalar */
    uint32_t parameter_count;  /**< parameters of the grammar */
    uint32_t argument_count;   /**< C arguments */
    uint32_t input_count;      /**< parameters that take input (fields of the argument record) */
    uint32_t out_count;        /**< output buffers */
    uint32_t types[FL_SIGNATURE_MAX_PARAMETERS];       /**< fl_type of each parameter */
    uint64_t capacities[FL_SIGNATURE_MAX_PARAMETERS];  /**< capacity of each out buffer, by parameter; else 0 */
    uint64_t out_offsets[FL_SIGNATURE_MAX_PARAMETERS]; /**< offset in the result record of each out buffer, by parameter */
    uint64_t result_size;      /**< bytes of the result record */
    void *argument_types[FL_SIGNATURE_MAX_ARGUMENTS];  /**< ffi_type * of each C argument */
    /** 1 for a C argument passed in a floating-point register (float, double), else 0. */
    uint8_t argument_classes[FL_SIGNATURE_MAX_ARGUMENTS];
    /** Non-zero when every argument travels in a register of its class
        (x86-64: at most 6 integer and 8 floating-point; AArch64: 8 and 8):
        fl_signature_invoke then calls through a register trampoline instead of
        ffi_call. Prepared by fl_signature_prepare; a caller may set it to 0 to
        force libffi (the tests compare both). */
    uint32_t registers_only;
    /** Non-zero when, besides, every parameter is a scalar: the argument record
        is then 8 bytes per parameter and fl_signature_invoke takes a short path. */
    uint32_t scalars_in_registers;
    /** For each scalar parameter: the left-then-right shift that extends its
        field to 64 bits (64 minus its width in bits; 0 for 64-bit values). */
    uint8_t extend_shifts[FL_SIGNATURE_MAX_PARAMETERS];
    void *return_ffi_type;     /**< ffi_type * of the return value */
    /** libffi's ffi_cif, opaque here so that this header does not need ffi.h. */
    _Alignas(16) unsigned char cif[64];
} fl_signature;

/**
 * Prepares `signature` for calls: checks the types (result void or scalar;
 * parameters scalar, string, bytes or out buffers; at most 32), the out
 * capacities (`capacities[i]` for parameter i, 1 to 64 MiB; ignored for other
 * parameters, may be NULL when there are none), computes the result record's
 * layout and calls ffi_prep_cif. Returns 0 or FL_SIGNATURE_MALFORMED.
 *
 * Done once per function, in the calling process, outside any signal handler
 * or forked child; the prepared struct is then only read.
 */
int fl_signature_prepare(fl_signature *signature, uint32_t result_type, const uint32_t *params,
                         const uint64_t *capacities, uint32_t count);

/**
 * The size of one argument-record field: 8 for a scalar, 8 + align8(length + 1)
 * for a string of `length` bytes, 8 + align8(length) for bytes, 0 for an
 * out buffer or an unknown type. Saturates at SIZE_MAX instead of overflowing.
 */
uint64_t fl_argument_field_size(uint32_t type, uint64_t length);

/** The size of the result record: 8 + align8(capacity) for each out buffer. */
uint64_t fl_signature_result_size(const fl_signature *signature);

/**
 * Calls `function` with the arguments of `arguments` (an argument record of
 * exactly `arguments_size` bytes) and writes the return value and out buffers
 * into `result` (a zero-filled result record).
 *
 * Validates the record first (8-byte alignment, every length within
 * `arguments_size`, each string followed by its NUL, the fields adding up to
 * `arguments_size` exactly) and returns FL_SIGNATURE_MALFORMED without calling
 * when it does not hold; returns 0 after the call returned.
 *
 * When `registers_only` is set, the arguments are loaded into the integer
 * and floating-point argument registers directly and the function is called
 * through a pointer of a fixed register-only type (what ffi_call would do,
 * without its generic frame building); otherwise through ffi_call.
 *
 * Allocates nothing: the argument words live in a fixed array on this
 * stack frame and libffi's ffi_call builds the call frame on the stack. So it
 * can run in a forked child of a multithreaded process and under the guard
 * (a fault in the callee jumps out of it with nothing to clean up).
 */
int fl_signature_invoke(const fl_signature *signature, void *function, const uint8_t *arguments,
                        size_t arguments_size, uint8_t *result);

/* fl_report is declared in CFaultline.h. */
struct fl_report;

/**
 * fl_signature_invoke under the in-process guard (guard.c): a fault in the
 * callee is caught and written to `report` (kind SIGNALED), exactly as
 * fl_guard_call does for `int f(int)`. On a return, `report->kind` is
 * RETURNED and the values are in `result`. Returns 0, FL_SIGNATURE_MALFORMED
 * (nothing called, report kind NONE), or a negative errno when the thread
 * could not be prepared. Same limits as fl_guard_call: UNSAFE by nature.
 */
int fl_guard_invoke(const fl_signature *signature, void *function, const uint8_t *arguments, size_t size,
                    uint8_t *result, int options, struct fl_report *report);

/**
 * Calls `function` once per argument record (record i is
 * arguments[offsets[i] ..< offsets[i+1]]) under the guard, in one C loop with
 * one sigsetjmp for the whole batch, writing call i's result record at
 * results + i * result_size (zero-filled by the caller). Stops at the first
 * call that faults: fills `report` and returns its index. Returns `count`
 * when every call returned, FL_SIGNATURE_MALFORMED for a malformed record,
 * or a negative errno when the thread could not be prepared. The same safety
 * (and unsafety) as fl_guard_invoke.
 */
ssize_t fl_guard_invoke_batch(const fl_signature *signature, void *function, const uint8_t *arguments,
                              const uint64_t *offsets, size_t count, uint8_t *results, size_t result_size, int options,
                              struct fl_report *report);

#ifdef __cplusplus
}
#endif
#endif
