/*
 * pool_names.c: the supervisor's cache of located frames, by stack, and the
 * names the helper sends for a crash recorded from a worker's own notice.
 *
 * The helper locates a stack once; the same stack again is located here without
 * waiting for it. The key is a hash of the addresses; the addresses
 * themselves are compared. The cache is cleared when the helper is replaced
 * (its addresses may differ).
 *
 * Runs in the supervisor with the pool's lock held; never in a handler.
 *
 * Limits: FL_POOL_NAME_CACHE stacks, the oldest replaced first; names that
 * cannot be copied (no memory) are not kept: the frames keep their addresses.
 */
#include "pool_internal.h"

#include <stdlib.h>
#include <string.h>

/* The cache key of a crash's stack (a hash; entries also keep the addresses). */
static uint64_t stack_key(const fl_report *report) {
    uint64_t key = fl_mix64(0x6e616d6573ULL ^ report->frame_count);
    for (uint32_t i = 0; i < report->frame_count && i < FL_MAX_FRAMES; i++) key = fl_mix64(key ^ report->frames[i]);
    return key;
}

/* The entry naming exactly this stack, or -1. */
int fl_pool_cached_names(const fl_pool *pool, const fl_report *report) {
    uint64_t key = stack_key(report);
    uint32_t count = report->frame_count > FL_MAX_FRAMES ? FL_MAX_FRAMES : report->frame_count;
    for (int i = 0; i < FL_POOL_NAME_CACHE; i++) {
        if (pool->names[i].text != NULL && pool->names[i].key == key && pool->names[i].frame_count == count &&
            memcmp(pool->names[i].frames, report->frames, sizeof(uint64_t) * count) == 0) {
            return i;
        }
    }
    return -1;
}

static void remember_names(fl_pool *pool, const fl_report *report, const char *text, int length) {
    if (length <= 0 || fl_pool_cached_names(pool, report) >= 0) return;
    char *copy = malloc((size_t)length);
    if (!copy) return;
    memcpy(copy, text, (size_t)length);
    int slot = pool->names_next;
    pool->names_next = (slot + 1) % FL_POOL_NAME_CACHE;
    free(pool->names[slot].text);
    pool->names[slot].key = stack_key(report);
    pool->names[slot].frame_count = report->frame_count > FL_MAX_FRAMES ? FL_MAX_FRAMES : report->frame_count;
    memcpy(pool->names[slot].frames, report->frames, sizeof(uint64_t) * pool->names[slot].frame_count);
    pool->names[slot].text = copy;
    pool->names[slot].length = length;
}

void fl_pool_forget_names(fl_pool *pool) {
    for (int i = 0; i < FL_POOL_NAME_CACHE; i++) {
        free(pool->names[i].text);
        pool->names[i].text = NULL;
    }
}

/* Names for the crash recorded from the worker's notice: into its failure record. */
void fl_pool_attach_names(fl_pool *pool, run_state *run, pool_worker *worker, const char *text, int text_length) {
    if (worker->failure_pending == 0) return;
    if (run != NULL) {
        fl_pool_failure *failure = &run->failures[worker->failure_pending - 1];
        remember_names(pool, &failure->report, text, text_length);
        char *copy = text_length > 0 ? malloc((size_t)text_length) : NULL;
        if (copy) {
            memcpy(copy, text, (size_t)text_length);
            free(failure->frames);
            failure->frames = copy;
            failure->frames_length = (size_t)text_length;
        }
        run->names_pending--;
    }
    worker->failure_pending = 0;
}
