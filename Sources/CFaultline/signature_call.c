/*
 * signature_call.c: calls a native function of any signature of the contract's
 * grammar through libffi, from two flat byte records (see CFaultlineSignature.h
 * for their layout).
 *
 * Mechanism: fl_signature_prepare builds libffi's call interface once per
 * function (ffi_prep_cif) and notes whether every C argument travels in a
 * register; fl_signature_invoke then validates the argument record and turns
 * it into one 64-bit word per C argument, in a fixed-size array on its own
 * stack frame (integers extended, a float's bits in the low half, pointers
 * into the records). When every argument fits a register, it calls the
 * function through a pointer of type "6 (AArch64: 8) integer words and 8
 * doubles" (see "Register calls" below); otherwise through ffi_call.
 *
 * Register calls: on x86-64 System V and AArch64 AAPCS64 the integer and the
 * floating-point arguments are assigned to their own register sequences
 * independently of how they interleave, a callee never reads argument
 * registers beyond its own parameters, and the caller owns the stack. So a
 * call through `uint64_t (*)(w0..w5, d0..d7)` with the integer-class words in
 * order and the float-class ones in order is the call the function expects. A
 * float travels as the low 32 bits of its register, so its bits are placed
 * there (the 64-bit move does no arithmetic); a float return is read back from
 * the same low bits, an integral return is narrowed to its type (the upper
 * bits of a narrow return are undefined). This is what libffi's assembly does
 * for such signatures; ffi_call's generic set-up costs ~20 ns more per call.
 *
 * Async-signal-safety / fork-safety of fl_signature_invoke: no allocation, no
 * lock, no system call; ffi_call (for a prepared cif, no closures) builds the
 * call frame with alloca. So it may run in a forked child of a multithreaded
 * process, and under the guard, where a fault jumps straight out of it.
 *
 * Limits: the callee may write past an out buffer's capacity or through its
 * `const char *` into the argument record; nothing here can stop that. Only
 * LP64 targets (size_t is 64 bits). Variadic functions are not supported.
 * Register calls only on x86-64 and AArch64 (libffi everywhere else, and for
 * more arguments than the registers hold).
 */
#include "internal.h"

#include <errno.h>
#include <ffi.h>
#include <string.h>

/* Code that calls a callee: its frames end a backtrace (internal.h). */
FL_CALLS_SECTION

_Static_assert(sizeof(ffi_cif) <= sizeof(((fl_signature *)0)->cif), "fl_signature.cif too small for ffi_cif");
_Static_assert(_Alignof(ffi_cif) <= 16, "ffi_cif alignment");
_Static_assert(sizeof(size_t) == 8 && sizeof(void *) == 8, "LP64 only");
_Static_assert(sizeof(_Bool) == 1, "_Bool is one byte");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the records and argument words are little-endian");
_Static_assert(sizeof(ffi_arg) == 8, "ffi_arg is one 64-bit word");
_Static_assert(FL_SIGNATURE_MALFORMED == -EINVAL, "FL_SIGNATURE_MALFORMED is -EINVAL");

#if defined(__x86_64__)
#define FL_REGISTER_CALLS 1
#define FL_INTEGER_REGISTERS 6
#elif defined(__aarch64__)
#define FL_REGISTER_CALLS 1
#define FL_INTEGER_REGISTERS 8
#else
#define FL_REGISTER_CALLS 0
#define FL_INTEGER_REGISTERS 0
#endif
#define FL_FLOAT_REGISTERS 8

static uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* Bytes of a scalar type's C value (the field's meaningful bytes). */
static uint32_t scalar_width(uint32_t type) {
    switch (type) {
    case FL_TYPE_INT8: case FL_TYPE_UINT8: case FL_TYPE_BOOL: return 1;
    case FL_TYPE_INT16: case FL_TYPE_UINT16: return 2;
    case FL_TYPE_INT32: case FL_TYPE_UINT32: case FL_TYPE_FLOAT: return 4;
    default: return 8;
    }
}

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
    uint32_t integer_words = 0, float_words = 0;
    for (uint32_t k = 0; k < arguments; k++) {
        int is_float = signature->argument_types[k] == &ffi_type_float || signature->argument_types[k] == &ffi_type_double;
        signature->argument_classes[k] = (uint8_t)is_float;
        if (is_float) float_words++; else integer_words++;
    }
    signature->registers_only = FL_REGISTER_CALLS && integer_words <= FL_INTEGER_REGISTERS && float_words <= FL_FLOAT_REGISTERS;
    uint32_t scalars = 0;
    for (uint32_t i = 0; i < count; i++) scalars += (uint32_t)is_scalar(params[i]);
    signature->scalars_in_registers = signature->registers_only && scalars == count;
    for (uint32_t i = 0; i < count; i++) {
        if (is_scalar(params[i])) signature->extend_shifts[i] = (uint8_t)(64 - 8 * scalar_width(params[i]));
    }
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

/* Stores the return value `raw` (its bits at the low end of a 64-bit word; the
   bits above the type's width may be anything) at result[0..8), narrowed to
   its type, the rest zero. */
static void store_return(uint32_t type, uint64_t raw, uint8_t *result) {
    uint64_t stored;
    switch (type) {
    case FL_TYPE_INT8: stored = (uint64_t)(int64_t)(int8_t)raw & 0xff; break;
    case FL_TYPE_UINT8: stored = (uint8_t)raw; break;
    case FL_TYPE_INT16: case FL_TYPE_UINT16: stored = (uint16_t)raw; break;
    case FL_TYPE_INT32: case FL_TYPE_UINT32: case FL_TYPE_FLOAT: stored = (uint32_t)raw; break;
    case FL_TYPE_INT64: case FL_TYPE_UINT64: case FL_TYPE_DOUBLE: stored = raw; break;
    case FL_TYPE_BOOL: stored = (uint8_t)raw != 0; break;
    default: stored = 0; break; /* void */
    }
    memcpy(result, &stored, sizeof stored); /* little-endian: the type's bytes first */
}

/* Parameter i's scalar field `raw` as the 64-bit word of its C argument:
   integers sign- or zero-extended (by the shifts prepared for the parameter),
   a bool as 0/1, a float's bits in the low half, 64-bit values as they are. */
static inline uint64_t scalar_word(const fl_signature *signature, uint32_t i, uint64_t raw) {
    uint32_t type = signature->types[i];
    uint32_t shift = signature->extend_shifts[i];
    if (type == FL_TYPE_BOOL) return (uint8_t)raw != 0;
    if (shift == 0) return raw;
    if (type == FL_TYPE_INT8 || type == FL_TYPE_INT16 || type == FL_TYPE_INT32) {
        return (uint64_t)((int64_t)(raw << shift) >> shift);
    }
    return (raw << shift) >> shift;
}

#if FL_REGISTER_CALLS
static double as_double(uint64_t bits) {
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* Calls `function` with integer[0..] in the integer argument registers and
   the bit patterns floating[0..] in the floating-point ones (see "Register
   calls" at the top); returns the raw return word. Slots the function does
   not take are passed too and never read. */
static uint64_t register_call_words(uint32_t result_type, void *function, const uint64_t *integer,
                                    const uint64_t *floating) {
#if defined(__x86_64__)
#define FL_INTEGER_WORDS integer[0], integer[1], integer[2], integer[3], integer[4], integer[5]
    typedef uint64_t (*integer_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                                   double, double, double, double, double, double, double, double);
    typedef double (*float_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                               double, double, double, double, double, double, double, double);
#else
#define FL_INTEGER_WORDS integer[0], integer[1], integer[2], integer[3], integer[4], integer[5], integer[6], integer[7]
    typedef uint64_t (*integer_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                                   double, double, double, double, double, double, double, double);
    typedef double (*float_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                               double, double, double, double, double, double, double, double);
#endif
#define FL_FLOAT_WORDS as_double(floating[0]), as_double(floating[1]), as_double(floating[2]), as_double(floating[3]), \
    as_double(floating[4]), as_double(floating[5]), as_double(floating[6]), as_double(floating[7])
    if (result_type == FL_TYPE_FLOAT || result_type == FL_TYPE_DOUBLE) {
        double returned = ((float_fn)function)(FL_INTEGER_WORDS, FL_FLOAT_WORDS);
        uint64_t bits;
        memcpy(&bits, &returned, sizeof bits);
        return bits;
    }
    return ((integer_fn)function)(FL_INTEGER_WORDS, FL_FLOAT_WORDS);
#undef FL_INTEGER_WORDS
#undef FL_FLOAT_WORDS
}

/* Distributes the argument words to their register classes, in order, and calls. */
static uint64_t register_call(const fl_signature *signature, void *function, const uint64_t *words) {
    uint64_t integer[FL_INTEGER_REGISTERS] = {0};
    uint64_t floating[FL_FLOAT_REGISTERS] = {0};
    uint32_t gi = 0, fi = 0;
    for (uint32_t k = 0; k < signature->argument_count; k++) {
        if (signature->argument_classes[k]) floating[fi++] = words[k];
        else integer[gi++] = words[k];
    }
    return register_call_words(signature->result_type, function, integer, floating);
}

/* The short path of a signature of scalars only, all in registers: field i
   goes straight to the next register of its class, extended by shifts (no
   per-type switch). */
static int scalar_register_call(const fl_signature *signature, void *function, const uint8_t *arguments,
                                size_t arguments_size, uint8_t *result) {
    uint32_t count = signature->parameter_count;
    if (arguments_size != (size_t)count * 8) return FL_SIGNATURE_MALFORMED;
    uint64_t integer[FL_INTEGER_REGISTERS] = {0};
    uint64_t floating[FL_FLOAT_REGISTERS] = {0};
    uint32_t next_integer = 0, next_float = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = signature->types[i];
        uint64_t raw = read_u64(arguments + 8 * i);
        if (type == FL_TYPE_DOUBLE) {
            floating[next_float++] = raw; /* the common case, as it is */
            continue;
        }
        uint64_t word = scalar_word(signature, i, raw);
        if (type == FL_TYPE_FLOAT) floating[next_float++] = word;
        else integer[next_integer++] = word;
    }
    store_return(signature->result_type, register_call_words(signature->result_type, function, integer, floating), result);
    return 0;
}
#endif

int fl_signature_invoke(const fl_signature *signature, void *function, const uint8_t *arguments,
                        size_t arguments_size, uint8_t *result) {
    /* One 64-bit word per C argument; libffi reads each through a pointer to it. */
    uint64_t words[FL_SIGNATURE_MAX_ARGUMENTS];

    if (((uintptr_t)arguments & 7) != 0 || ((uintptr_t)result & 7) != 0) return FL_SIGNATURE_MALFORMED;
    if (arguments == NULL && arguments_size != 0) return FL_SIGNATURE_MALFORMED;
#if FL_REGISTER_CALLS
    if (signature->scalars_in_registers) return scalar_register_call(signature, function, arguments, arguments_size, result);
#endif
    size_t offset = 0;
    uint32_t argument = 0;
    for (uint32_t i = 0; i < signature->parameter_count; i++) {
        uint32_t type = signature->types[i];
        if (type == FL_TYPE_OUT_STRING || type == FL_TYPE_OUT_BYTES) {
            words[argument++] = (uint64_t)(uintptr_t)(result + signature->out_offsets[i]);
            words[argument++] = signature->capacities[i];
            continue;
        }
        /* Every input field starts with 8 bytes that must be in the record. */
        if (offset > arguments_size || arguments_size - offset < 8) return FL_SIGNATURE_MALFORMED;
        const uint8_t *field = arguments + offset;
        if (is_scalar(type)) {
            words[argument++] = scalar_word(signature, i, read_u64(field));
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
            words[argument++] = (uint64_t)(uintptr_t)(field + 8);
            if (!is_string) words[argument++] = length;
            offset += size;
        }
    }
    if (offset != arguments_size || argument != signature->argument_count) return FL_SIGNATURE_MALFORMED;

#if FL_REGISTER_CALLS
    if (signature->registers_only) {
        store_return(signature->result_type, register_call(signature, function, words), result);
        return 0;
    }
#endif
    void *values[FL_SIGNATURE_MAX_ARGUMENTS];
    for (uint32_t k = 0; k < argument; k++) values[k] = &words[k]; /* little-endian: the type's bytes first */
    /* Big enough for any return: ffi_arg (a register), double, float. */
    uint64_t returned = 0;
    ffi_call((ffi_cif *)(void *)signature->cif, (void (*)(void))function, &returned, values);
    store_return(signature->result_type, returned, result);
    return 0;
}
