/*
 * signature_call.c: calls a native function of any signature of the contract's
 * grammar through libffi, from two flat byte records (see CFaultlineSignature.h
 * for their layout).
 *
 * Mechanism: fl_signature_prepare builds libffi's call interface once per
 * function (ffi_prep_cif); fl_signature_invoke then validates the argument
 * record, builds the array of argument pointers in fixed-size arrays on its
 * own stack frame (pointing into the records), and calls ffi_call.
 *
 * Async-signal-safety / fork-safety of fl_signature_invoke: no allocation, no
 * lock, no system call; ffi_call (for a prepared cif, no closures) builds the
 * call frame with alloca. So it may run in a forked child of a multithreaded
 * process, and under the guard, where a fault jumps straight out of it.
 *
 * Limits: the callee may write past an out buffer's capacity or through its
 * `const char *` into the argument record; nothing here can stop that. Only
 * LP64 targets (size_t is 64 bits). Variadic functions are not supported.
 */
#include "internal.h"

#include <errno.h>
#include <ffi.h>
#include <string.h>

_Static_assert(sizeof(ffi_cif) <= sizeof(((fl_signature *)0)->cif), "fl_signature.cif too small for ffi_cif");
_Static_assert(_Alignof(ffi_cif) <= 16, "ffi_cif alignment");
_Static_assert(sizeof(size_t) == 8 && sizeof(void *) == 8, "LP64 only");
_Static_assert(sizeof(_Bool) == 1, "_Bool is one byte");
_Static_assert(FL_SIGNATURE_MALFORMED == -EINVAL, "FL_SIGNATURE_MALFORMED is -EINVAL");

static uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

static int is_scalar(uint32_t type) { return type >= FL_TYPE_INT8 && type <= FL_TYPE_BOOL; }

static ffi_type *scalar_ffi_type(uint32_t type) {
    switch (type) {
    case FL_TYPE_VOID: return &ffi_type_void;
    case FL_TYPE_INT8: return &ffi_type_sint8;
    case FL_TYPE_INT16: return &ffi_type_sint16;
    case FL_TYPE_INT32: return &ffi_type_sint32;
    case FL_TYPE_INT64: return &ffi_type_sint64;
    case FL_TYPE_UINT8: return &ffi_type_uint8;
    case FL_TYPE_UINT16: return &ffi_type_uint16;
    case FL_TYPE_UINT32: return &ffi_type_uint32;
    case FL_TYPE_UINT64: return &ffi_type_uint64;
    case FL_TYPE_FLOAT: return &ffi_type_float;
    case FL_TYPE_DOUBLE: return &ffi_type_double;
    /* _Bool is one byte, zero-extended by the caller: an unsigned 8-bit integer to libffi. */
    case FL_TYPE_BOOL: return &ffi_type_uint8;
    default: return NULL;
    }
}

uint64_t fl_argument_field_size(uint32_t type, uint64_t length) {
    if (is_scalar(type)) return 8;
    if (type != FL_TYPE_STRING && type != FL_TYPE_BYTES) return 0;
    if (length > UINT64_MAX - 24) return UINT64_MAX;
    uint64_t payload = length + (type == FL_TYPE_STRING ? 1 : 0);
    return 8 + align8(payload);
}

uint64_t fl_signature_result_size(const fl_signature *signature) { return signature->result_size; }

int fl_signature_prepare(fl_signature *signature, uint32_t result_type, const uint32_t *params,
                         const uint64_t *capacities, uint32_t count) {
    memset(signature, 0, sizeof *signature);
    if (result_type != FL_TYPE_VOID && !is_scalar(result_type)) return FL_SIGNATURE_MALFORMED;
    if (count > FL_SIGNATURE_MAX_PARAMETERS || (count > 0 && params == NULL)) return FL_SIGNATURE_MALFORMED;
    signature->result_type = result_type;
    signature->parameter_count = count;
    signature->return_ffi_type = scalar_ffi_type(result_type);
    uint64_t result_size = 8;
    uint32_t arguments = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = params[i];
        signature->types[i] = type;
        if (is_scalar(type)) {
            signature->argument_types[arguments++] = scalar_ffi_type(type);
            signature->input_count++;
        } else if (type == FL_TYPE_STRING) {
            signature->argument_types[arguments++] = &ffi_type_pointer;
            signature->input_count++;
        } else if (type == FL_TYPE_BYTES) {
            signature->argument_types[arguments++] = &ffi_type_pointer;
            signature->argument_types[arguments++] = &ffi_type_uint64;
            signature->input_count++;
        } else if (type == FL_TYPE_OUT_STRING || type == FL_TYPE_OUT_BYTES) {
            uint64_t capacity = capacities ? capacities[i] : 0;
            if (capacity < 1 || capacity > FL_SIGNATURE_MAX_CAPACITY) return FL_SIGNATURE_MALFORMED;
            signature->capacities[i] = capacity;
            signature->out_offsets[i] = result_size;
            result_size += align8(capacity);
            signature->argument_types[arguments++] = &ffi_type_pointer;
            signature->argument_types[arguments++] = &ffi_type_uint64;
            signature->out_count++;
        } else {
            return FL_SIGNATURE_MALFORMED;
        }
    }
    signature->argument_count = arguments;
    signature->result_size = result_size;
    ffi_status status = ffi_prep_cif((ffi_cif *)(void *)signature->cif, FFI_DEFAULT_ABI, arguments,
                                     (ffi_type *)signature->return_ffi_type,
                                     (ffi_type **)(void *)signature->argument_types);
    return status == FFI_OK ? 0 : FL_SIGNATURE_MALFORMED;
}

/* Reads a u64 from the record (memcpy: no alignment assumption beyond the check). */
static uint64_t read_u64(const uint8_t *at) {
    uint64_t value;
    memcpy(&value, at, sizeof value);
    return value;
}

/* Stores the C return value `value` (ffi's view) at result[0..8), narrowed to its type. */
static void store_return(uint32_t type, const void *value, uint8_t *result) {
    /* libffi widens an integral return narrower than a register to ffi_arg:
       read it back as ffi_arg (unsigned) or ffi_sarg (signed) and narrow. */
    ffi_arg unsigned_value;
    ffi_sarg signed_value;
    memcpy(&unsigned_value, value, sizeof unsigned_value);
    memcpy(&signed_value, value, sizeof signed_value);
    memset(result, 0, 8);
    switch (type) {
    case FL_TYPE_INT8: { int8_t v = (int8_t)signed_value; memcpy(result, &v, sizeof v); break; }
    case FL_TYPE_INT16: { int16_t v = (int16_t)signed_value; memcpy(result, &v, sizeof v); break; }
    case FL_TYPE_INT32: { int32_t v = (int32_t)signed_value; memcpy(result, &v, sizeof v); break; }
    case FL_TYPE_INT64: { int64_t v = (int64_t)signed_value; memcpy(result, &v, sizeof v); break; }
    case FL_TYPE_UINT8: { uint8_t v = (uint8_t)unsigned_value; memcpy(result, &v, sizeof v); break; }
    case FL_TYPE_UINT16: { uint16_t v = (uint16_t)unsigned_value; memcpy(result, &v, sizeof v); break; }
    case FL_TYPE_UINT32: { uint32_t v = (uint32_t)unsigned_value; memcpy(result, &v, sizeof v); break; }
    case FL_TYPE_UINT64: { uint64_t v = (uint64_t)unsigned_value; memcpy(result, &v, sizeof v); break; }
    case FL_TYPE_BOOL: { uint8_t v = (uint8_t)unsigned_value != 0; memcpy(result, &v, sizeof v); break; }
    case FL_TYPE_FLOAT: memcpy(result, value, sizeof(float)); break;
    case FL_TYPE_DOUBLE: memcpy(result, value, sizeof(double)); break;
    default: break; /* void */
    }
}

int fl_signature_invoke(const fl_signature *signature, void *function, const uint8_t *arguments,
                        size_t arguments_size, uint8_t *result) {
    void *values[FL_SIGNATURE_MAX_ARGUMENTS];
    /* What the argument pointers point at, when it is not the record itself. */
    const void *pointers[FL_SIGNATURE_MAX_ARGUMENTS];
    uint64_t lengths[FL_SIGNATURE_MAX_ARGUMENTS];
    uint8_t bools[FL_SIGNATURE_MAX_PARAMETERS];

    if (((uintptr_t)arguments & 7) != 0 || ((uintptr_t)result & 7) != 0) return FL_SIGNATURE_MALFORMED;
    if (arguments == NULL && arguments_size != 0) return FL_SIGNATURE_MALFORMED;
    size_t offset = 0;
    uint32_t argument = 0;
    for (uint32_t i = 0; i < signature->parameter_count; i++) {
        uint32_t type = signature->types[i];
        if (type == FL_TYPE_OUT_STRING || type == FL_TYPE_OUT_BYTES) {
            pointers[argument] = result + signature->out_offsets[i];
            values[argument] = &pointers[argument];
            argument++;
            lengths[argument] = signature->capacities[i];
            values[argument] = &lengths[argument];
            argument++;
            continue;
        }
        /* Every input field starts with 8 bytes that must be in the record. */
        if (offset > arguments_size || arguments_size - offset < 8) return FL_SIGNATURE_MALFORMED;
        const uint8_t *field = arguments + offset;
        if (type == FL_TYPE_BOOL) {
            bools[i] = field[0] != 0;
            values[argument++] = &bools[i];
            offset += 8;
        } else if (is_scalar(type)) {
            values[argument++] = (void *)field;
            offset += 8;
        } else {
            uint64_t length = read_u64(field);
            size_t room = arguments_size - offset - 8;
            int is_string = type == FL_TYPE_STRING;
            /* The payload (and a string's NUL) must lie inside the record. */
            if (length > room || (is_string && length == room)) return FL_SIGNATURE_MALFORMED;
            if (is_string && field[8 + length] != '\0') return FL_SIGNATURE_MALFORMED;
            uint64_t size = fl_argument_field_size(type, length);
            if (size - 8 > room) return FL_SIGNATURE_MALFORMED; /* the padding too */
            pointers[argument] = field + 8;
            values[argument] = &pointers[argument];
            argument++;
            if (!is_string) {
                lengths[argument] = length;
                values[argument] = &lengths[argument];
                argument++;
            }
            offset += size;
        }
    }
    if (offset != arguments_size || argument != signature->argument_count) return FL_SIGNATURE_MALFORMED;

    /* Big enough for any return: ffi_arg (a register), double, float. */
    union { ffi_arg integer; double d; float f; uint64_t raw; } returned;
    returned.raw = 0;
    ffi_call((ffi_cif *)(void *)signature->cif, (void (*)(void))function, &returned, values);
    store_return(signature->result_type, &returned, result);
    return 0;
}
