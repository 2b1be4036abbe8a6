/*
 * frames.c: located frames on the wire, from the helper to the supervisor.
 *
 * The helper locates the frames of a crash (fl_image_locate, image.c: the
 * library is mapped there at the worker's addresses): for each address, the
 * image that holds it, its load bias and its build-id. It sends them in the
 * text of a CRASHED or EXITED message; the supervisor names them from the
 * image files (SourceSymbolizer), off the crash path and outside both
 * processes. Each frame is a fixed header
 *
 *     u64 address, u64 bias, u32 flags (1 found),
 *     u32 build-id length, u32 image length            (host byte order)
 *
 * followed by the build-id's and the image path's bytes. Lengths are
 * explicit, so any byte may appear in a path. A relative path (a library
 * dlopen'ed as `./libfoo.so`) is made absolute here, in the helper. An
 * address in no object the helper has loaded (a library the callee loaded in
 * the worker) is located by the worker's own note of it (image_notes.c).
 *
 * Encoding keeps a cache of the frames the helper located, by address:
 * crashes tend to happen at the same few places.
 *
 * Never used in a signal handler (dl_iterate_phdr, realpath, malloc). The
 * cache is not thread-safe: only the single-threaded helper encodes.
 *
 * Limits: frames that do not fit in `capacity` (a message's text) are
 * dropped from the end; a path longer than PATH_MAX is sent as it is.
 */
#include "channel.h"
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_HEADER 28
#define FRAME_FOUND 1u
#define CACHE_SLOTS 1024

static struct {
    uint64_t address;
    char *bytes; /* malloc'd encoded frame */
    size_t length;
} cache[CACHE_SLOTS];

static void put32(char *at, uint32_t value) { memcpy(at, &value, sizeof value); }
static void put64(char *at, uint64_t value) { memcpy(at, &value, sizeof value); }
static uint32_t get32(const char *at) { uint32_t value; memcpy(&value, at, sizeof value); return value; }
static uint64_t get64(const char *at) { uint64_t value; memcpy(&value, at, sizeof value); return value; }

/* The worker's note of an image the helper never loaded (a callee's dlopen) that holds `pc`. */
static const fl_image_note *noted_image(const fl_report *crash, uint64_t pc) {
    uint32_t notes = crash->image_note_count > FL_IMAGE_NOTES ? FL_IMAGE_NOTES : crash->image_note_count;
    for (uint32_t n = 0; n < notes; n++) {
        const fl_image_note *note = &crash->image_notes[n];
        if (pc >= note->low && pc < note->high && memchr(note->path, '\0', sizeof note->path)) return note;
    }
    return NULL;
}

/* The encoded frame for `address`, from the cache or made now; NULL without memory.
   Only what the helper located in its own address space is cached: a frame it
   could not locate (found by the worker's note, or by nothing) may be another
   image in the next worker, so it is made anew and *owned says the caller frees it. */
static const char *encoded_frame(const fl_report *crash, uint64_t address, int is_return_address, size_t *length,
                                 int *owned) {
    *owned = 0;
    size_t slot = (size_t)((address >> 2) % CACHE_SLOTS);
    if (cache[slot].bytes && cache[slot].address == address) {
        *length = cache[slot].length;
        return cache[slot].bytes;
    }
    fl_image_location location;
    /* A return address may be one past its image's last byte: located one byte earlier. */
    uint64_t pc = is_return_address && address > 0 ? address - 1 : address;
    const int located = address > 0 && fl_image_locate(pc, &location);
    int found = located;
    /* Not loaded here: the worker's own note of it. */
    const fl_image_note *note = found || address == 0 ? NULL : noted_image(crash, pc);
    if (note) {
        found = 1;
        location.path = note->path;
        location.bias = note->bias;
        location.build_id_length = note->build_id_length <= sizeof note->build_id ? note->build_id_length : 0;
        memcpy(location.build_id, note->build_id, location.build_id_length);
    }
    const char *path = found && location.path ? location.path : "";
    char resolved[PATH_MAX];
    if (path[0] != '\0' && path[0] != '/' && path[0] != '[' && realpath(path, resolved)) path = resolved;
    uint32_t image_length = (uint32_t)strlen(path);
    uint32_t id_length = found ? location.build_id_length : 0;
    size_t size = FRAME_HEADER + id_length + image_length;
    char *bytes = malloc(size);
    if (!bytes) return NULL;
    put64(bytes, address);
    put64(bytes + 8, found ? location.bias : 0);
    put32(bytes + 16, found ? FRAME_FOUND : 0);
    put32(bytes + 20, id_length);
    put32(bytes + 24, image_length);
    if (id_length) memcpy(bytes + FRAME_HEADER, location.build_id, id_length);
    if (image_length) memcpy(bytes + FRAME_HEADER + id_length, path, image_length);
    *length = size;
    if (!located) {
        *owned = 1;
        return bytes;
    }
    free(cache[slot].bytes);
    cache[slot].address = address;
    cache[slot].bytes = bytes;
    cache[slot].length = size;
    return bytes;
}

size_t fl_frames_encode(const fl_report *crash, char *out, size_t capacity) {
    size_t used = 0;
    for (uint32_t i = 0; i < crash->frame_count && i < FL_MAX_FRAMES; i++) {
        size_t length = 0;
        int owned = 0;
        const char *bytes = encoded_frame(crash, crash->frames[i], i > 0, &length, &owned);
        int fits = bytes && length <= capacity - used;
        if (fits) {
            memcpy(out + used, bytes, length);
            used += length;
        }
        if (owned) free((void *)bytes);
        if (!fits) break;
    }
    return used;
}

int fl_frames_next(const char *bytes, size_t length, size_t *cursor, fl_located_frame *frame) {
    size_t at = *cursor;
    if (at > length || length - at < FRAME_HEADER) return 0;
    uint32_t flags = get32(bytes + at + 16);
    uint32_t id_length = get32(bytes + at + 20);
    uint32_t image_length = get32(bytes + at + 24);
    if ((uint64_t)id_length + image_length > length - at - FRAME_HEADER) return 0;
    frame->address = get64(bytes + at);
    frame->bias = get64(bytes + at + 8);
    frame->found = (flags & FRAME_FOUND) != 0;
    frame->build_id_length = id_length;
    frame->build_id = (const uint8_t *)(bytes + at + FRAME_HEADER);
    frame->image_length = image_length;
    frame->image = bytes + at + FRAME_HEADER + id_length;
    *cursor = at + FRAME_HEADER + id_length + image_length;
    return 1;
}
