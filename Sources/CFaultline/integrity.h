/*
 * integrity.h: how the pool tells a worker's real records from memory a
 * callee wrote over. Internal; header-only so that the worker's loop and its
 * fault handler inline it (pure arithmetic: async-signal-safe).
 *
 * Each worker gets a 64-bit secret from the helper (getrandom) before it is
 * forked; the worker keeps it in a local of its loop (on its own stack, which
 * the contract leaves to the callee's own frames) and a copy in a global for
 * its fault handler. Every record the worker publishes carries a keyed check
 * over what it says; the supervisor, which got the secret from the helper,
 * accepts a record only when its check matches. A callee that writes garbage
 * over the channel (or into the worker's socket) cannot produce a matching
 * check except by a 1-in-2^64 accident: its records are rejected, never
 * believed. Canaries (the secret, folded, in the shared header and in a
 * private global) are compared after every call: a call that wrote over
 * either is reported as corrupted by the worker itself.
 *
 * Limits: this defends against accidents (wild writes, overruns, stray
 * frees, writes into descriptors), not against a callee written to attack
 * Faultline: code running in the worker can read the secret and forge what
 * its own process reports. Isolation is not a sandbox.
 */
#ifndef CFAULTLINE_INTEGRITY_H
#define CFAULTLINE_INTEGRITY_H

#include "internal.h"

#include <stdint.h>

/* The check of call `index` of batch `seq`: what it was given and what it says. */
static inline uint64_t fl_pool_record_check(uint64_t secret, uint64_t seq, uint32_t index, int32_t input, int32_t kind,
                                       int32_t value) {
    uint64_t said = ((uint64_t)(uint32_t)input << 32 | (uint32_t)value) ^ ((uint64_t)(uint32_t)kind << 17);
    return fl_mix64(secret ^ fl_mix64(seq * 0x9e3779b97f4a7c15ULL + index) ^ fl_mix64(said + 0x632be59bd9b4e019ULL));
}

/* The check of a batch's "done" message and of a call's "begun" mark (same shape, other salts). */
static inline uint64_t fl_event_check(uint64_t secret, uint64_t salt, uint64_t seq, uint64_t a, uint64_t b) {
    return fl_mix64(secret ^ fl_mix64(seq ^ salt) ^ fl_mix64(a * 0xd6e8feb86659fd93ULL + b));
}

#define FL_SALT_DONE 0x646f6e65ULL
#define FL_SALT_BEGUN 0x626567756eULL
#define FL_SALT_CRASH 0x6372617368ULL
#define FL_SALT_NOTICE 0x6e6f74696365ULL

/* The check of a crash record: the batch, the index, and everything the report
   says (signal, code, address, flags, stack pointer, access, message, frames). */
static inline uint64_t fl_crash_check(uint64_t secret, uint64_t seq, uint64_t index, const fl_report *crash) {
    uint32_t frame_count = crash->frame_count > FL_MAX_FRAMES ? FL_MAX_FRAMES : crash->frame_count;
    uint32_t message_length = crash->message_length > FL_MESSAGE_MAX ? FL_MESSAGE_MAX : crash->message_length;
    uint64_t folded = fl_mix64(((uint64_t)(uint32_t)crash->signo << 32 | (uint32_t)crash->code) ^ crash->address) ^ frame_count;
    folded = fl_mix64(folded ^ crash->sp ^ ((uint64_t)crash->flags << 32 | crash->access));
    folded = fl_mix64(folded ^ message_length);
    for (uint32_t i = 0; i < message_length; i++) folded = fl_mix64(folded ^ (uint8_t)crash->message[i]);
    for (uint32_t i = 0; i < frame_count; i++) folded = fl_mix64(folded ^ crash->frames[i]);
    uint32_t notes = crash->image_note_count > FL_IMAGE_NOTES ? FL_IMAGE_NOTES : crash->image_note_count;
    folded = fl_mix64(folded ^ notes);
    for (uint32_t n = 0; n < notes; n++) {
        const uint8_t *bytes = (const uint8_t *)&crash->image_notes[n];
        for (size_t i = 0; i + 8 <= sizeof crash->image_notes[n]; i += 8) {
            uint64_t word;
            __builtin_memcpy(&word, bytes + i, 8);
            folded = fl_mix64(folded ^ word);
        }
    }
    return fl_event_check(secret, FL_SALT_CRASH, seq, index, folded);
}

/* The canaries' values, derived from the secret. */
#define FL_CANARY_SHARED(secret) ((secret) ^ 0x5bd1e9955bd1e995ULL)
#define FL_CANARY_PRIVATE(secret) ((secret) ^ 0xc2b2ae3d27d4eb4fULL)

#endif
