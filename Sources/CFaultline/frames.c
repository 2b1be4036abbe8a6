/*
 * frames.c: named frames on the wire, from the helper to the supervisor.
 *
 * The helper names the frames of a crash (fl_symbolize, symbol.c: the library
 * is mapped there at the worker's addresses) and sends them in the text of a
 * CRASHED or EXITED message. Each frame is a fixed header
 *
 *     u64 address, u64 offset, u32 flags (1 found, 2 has a symbol),
 *     u32 symbol length, u32 image length            (host byte order)
 *
 * followed by the symbol's and the image's bytes. Lengths are explicit, so
 * any byte (a tab, a newline) may appear in a name or a path, and a long
 * C++ name comes back whole. fl_frames_next decodes it for Swift.
 *
 * Encoding keeps a cache of encoded frames by address: crashes tend to
 * happen at the same few places, and dladdr scans whole symbol tables.
 *
 * Never used in a signal handler (dladdr, malloc). The cache is not
 * thread-safe: only the single-threaded helper encodes.
 *
 * Limits: frames that do not fit in `capacity` (a message's text) are
 * dropped from the end; a symbol longer than 64 KiB is cut.
 */
#include "channel.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define FRAME_HEADER 28
#define FRAME_FOUND 1u
#define FRAME_HAS_SYMBOL 2u
#define CACHE_SLOTS 1024

static struct {
    uint64_t address;
    int is_return_address;
    char *bytes; /* malloc'd encoded frame */
    size_t length;
} cache[CACHE_SLOTS];

static char name_buffer[65536];

static void put32(char *at, uint32_t value) { memcpy(at, &value, sizeof value); }
static void put64(char *at, uint64_t value) { memcpy(at, &value, sizeof value); }
static uint32_t get32(const char *at) { uint32_t value; memcpy(&value, at, sizeof value); return value; }
static uint64_t get64(const char *at) { uint64_t value; memcpy(&value, at, sizeof value); return value; }

/* The encoded frame for `address`, from the cache or made now; NULL without memory. */
static const char *encoded_frame(uint64_t address, int is_return_address, size_t *length) {
    size_t slot = (size_t)((address >> 2) % CACHE_SLOTS);
    if (cache[slot].bytes && cache[slot].address == address && cache[slot].is_return_address == is_return_address) {
        *length = cache[slot].length;
        return cache[slot].bytes;
    }
    fl_named_frame frame;
    fl_symbolize(address, is_return_address, &frame, name_buffer, sizeof name_buffer);
    size_t size = FRAME_HEADER + frame.symbol_length + frame.image_length;
    char *bytes = malloc(size);
    if (!bytes) return NULL;
    put64(bytes, address);
    put64(bytes + 8, frame.offset);
    put32(bytes + 16, (frame.found ? FRAME_FOUND : 0) | (frame.has_symbol ? FRAME_HAS_SYMBOL : 0));
    put32(bytes + 20, frame.symbol_length);
    put32(bytes + 24, frame.image_length);
    if (frame.symbol_length) memcpy(bytes + FRAME_HEADER, frame.symbol, frame.symbol_length);
    if (frame.image_length) memcpy(bytes + FRAME_HEADER + frame.symbol_length, frame.image, frame.image_length);
    free(cache[slot].bytes);
    cache[slot].address = address;
    cache[slot].is_return_address = is_return_address;
    cache[slot].bytes = bytes;
    cache[slot].length = size;
    *length = size;
    return bytes;
}

size_t fl_frames_encode(const fl_report *crash, char *out, size_t capacity) {
    size_t used = 0;
    for (uint32_t i = 0; i < crash->frame_count && i < FL_MAX_FRAMES; i++) {
        size_t length = 0;
        const char *bytes = encoded_frame(crash->frames[i], i > 0, &length);
        if (!bytes || length > capacity - used) break;
        memcpy(out + used, bytes, length);
        used += length;
    }
    return used;
}

int fl_frames_next(const char *bytes, size_t length, size_t *cursor, fl_named_frame *frame) {
    size_t at = *cursor;
    if (at > length || length - at < FRAME_HEADER) return 0;
    uint32_t flags = get32(bytes + at + 16);
    uint32_t symbol_length = get32(bytes + at + 20);
    uint32_t image_length = get32(bytes + at + 24);
    if ((uint64_t)symbol_length + image_length > length - at - FRAME_HEADER) return 0;
    frame->address = get64(bytes + at);
    frame->offset = get64(bytes + at + 8);
    frame->found = (flags & FRAME_FOUND) != 0;
    frame->has_symbol = (flags & FRAME_HAS_SYMBOL) != 0;
    frame->symbol = bytes + at + FRAME_HEADER;
    frame->symbol_length = symbol_length;
    frame->image = bytes + at + FRAME_HEADER + symbol_length;
    frame->image_length = image_length;
    *cursor = at + FRAME_HEADER + symbol_length + image_length;
    return 1;
}
