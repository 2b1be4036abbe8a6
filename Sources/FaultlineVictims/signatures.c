/*
 * signatures.c: victims of many C signatures, for calls through libffi
 * (Signature, fl_signature_invoke). Each does one simple, checkable thing so
 * that a call through Faultline can be compared with a plain C call.
 */
#include "FaultlineVictims.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static volatile int *volatile sig_null_pointer = 0;

int8_t fl_sig_add_i8(int8_t a, int8_t b) { return (int8_t)(a + b); }
int16_t fl_sig_neg_i16(int16_t a) { return (int16_t)-a; }
int32_t fl_sig_mul_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
int64_t fl_sig_i64(int64_t a) { return a; }
int64_t fl_sig_sub_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
uint8_t fl_sig_u8(uint8_t a) { return (uint8_t)(a + 1); }
uint16_t fl_sig_u16(uint16_t a) { return (uint16_t)(a ^ 0xffff); }
uint32_t fl_sig_u32(uint32_t a) { return a * 3u; }
uint64_t fl_sig_u64(uint64_t a) { return a; }
float fl_sig_f(float a, double b) { return a * 2.0f + (float)b; }
double fl_sig_d(double a) { return a / 4.0; }
_Bool fl_sig_not(_Bool b) { return !b; }
/* Returns an int32 wider than int8 would allow, to show narrowing of widened returns. */
int8_t fl_sig_i8_of(int32_t a) { return (int8_t)a; }
uint8_t fl_sig_u8_of(int32_t a) { return (uint8_t)a; }
_Bool fl_sig_is_positive(int64_t a) { return a > 0; }

double fl_sig_mix(double x, const char *text) { return x + (double)strlen(text); }
int32_t fl_sig_strlen(const char *text) { return (int32_t)strlen(text); }

/* The sum of every byte, read at memory speed (SSE2's sum of absolute
   differences, 16 bytes per step), so that the bench's int64(bytes) figure
   measures moving the bytes, not a slow loop. */
int64_t fl_sig_sum_bytes(const void *data, size_t length) {
    const uint8_t *bytes = data;
    uint64_t sum = 0;
    size_t i = 0;
#if defined(__SSE2__)
    __m128i zero = _mm_setzero_si128(), total = _mm_setzero_si128();
    for (; i + 16 <= length; i += 16) {
        total = _mm_add_epi64(total, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(const void *)(bytes + i)), zero));
    }
    sum = (uint64_t)_mm_cvtsi128_si64(total) + (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(total, total));
#endif
    for (; i < length; i++) sum += bytes[i];
    return (int64_t)sum;
}

void fl_sig_fill(const char *text, void *out, size_t capacity) {
    /* "<text>!" truncated to the capacity, always NUL-terminated. */
    size_t n = strlen(text);
    char *buffer = out;
    if (capacity == 0) return;
    size_t i = 0;
    for (; i < n && i + 1 < capacity; i++) buffer[i] = text[i];
    if (i + 1 < capacity) buffer[i++] = '!';
    buffer[i] = '\0';
}

void fl_sig_reverse(const void *data, size_t length, void *out, size_t capacity) {
    const uint8_t *in = data;
    uint8_t *buffer = out;
    for (size_t i = 0; i < length && i < capacity; i++) buffer[i] = in[length - 1 - i];
}

void fl_sig_write_invalid_utf8(void *out, size_t capacity) {
    uint8_t *buffer = out;
    if (capacity >= 2) { buffer[0] = 0xff; buffer[1] = 0xfe; }
}

static volatile int sig_touched;
void fl_sig_touch(void) { sig_touched++; }
int32_t fl_sig_touched(void) { return sig_touched; }

/* 14 arguments: more integers than the 6 integer registers and more floating
   point values than the 8 vector registers of x86-64, so some go on the stack. */
double fl_sig_many(int8_t a, uint16_t b, int32_t c, int64_t d, uint64_t e, float f, double g, _Bool h,
                   const char *i, double j, double k, double l, double m, int32_t n) {
    return (double)a + (double)b + (double)c + (double)d + (double)e + (double)f + g + (h ? 1000.0 : 0.0) +
           (double)strlen(i) + j + k + l + m + (double)n;
}

int32_t fl_sig_crash_on(const char *text) {
    if (strcmp(text, "crash") == 0) *sig_null_pointer = 1;
    return (int32_t)strlen(text);
}
