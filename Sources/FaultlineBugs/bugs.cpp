// bugs.cpp: a parser of 4-byte log records behind extern "C" (see
// FaultlineBugs.h), with six bugs of the ordinary kinds, each reached through
// a few functions of its own so that a crash's stack says where it is. The
// helpers are kept out of line (noinline) so that every strategy sees the
// same frames; the bugs themselves are plain C++ mistakes, not tricks.
#include "FaultlineBugs.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#define NOINLINE __attribute__((noinline))

struct Record {
    uint8_t type;
    uint8_t argument;
    uint8_t length;
    uint8_t version;
};

static Record decode(int32_t input) {
    uint32_t bits = static_cast<uint32_t>(input);
    return Record{uint8_t(bits), uint8_t(bits >> 8), uint8_t(bits >> 16), uint8_t(bits >> 24)};
}

/* A checksum, never negative. */
static int32_t mix(uint32_t a, uint32_t b) {
    uint32_t h = a * 0x9e3779b1u ^ (b + 0x7f4a7c15u);
    h ^= h >> 15;
    return int32_t(h & 0x7fffffff);
}

NOINLINE static int32_t parse_plain(const Record &record) {
    return mix(record.type | record.argument << 8, record.length | record.version << 8);
}

// ---- field records: a field looked up by number ----------------------------

struct Field {
    const char *name;
    int width;
    int scale;
};

static const char *const field_names[10] = {"time", "level", "source", "thread", "message",
                                            "code", "duration", "bytes", "peer", "checksum"};

/* The 160 known fields: each name at 16 scales. */
static const Field *field_table() {
    static const Field *table = [] {
        Field *fields = new Field[160];
        for (int i = 0; i < 160; i++) fields[i] = Field{field_names[i % 10], 1 + i % 8, 1 + i / 10};
        return fields;
    }();
    return table;
}

NOINLINE static const Field *find_field(unsigned number) {
    if (number >= 160) return nullptr;  // an unknown field
    return &field_table()[number];
}

NOINLINE static int field_width(const Field *field) {
    return field->width * field->scale;  // bug: an unknown field is nullptr here
}

NOINLINE static int32_t parse_field_record(const Record &record) {
    const Field *field = find_field(record.argument);
    return mix(uint32_t(field_width(field)), record.length);
}

// ---- sample records: a value stored in a slot -------------------------------

static uint8_t ring[128];

/* Small slots index the ring; large ones were meant for a second, far ring,
   and are decoded by shifting the argument into a pointer's high bits. */
NOINLINE static uint8_t *slot_address(uint8_t argument) {
    if (argument < 0x80) return &ring[argument];
    return reinterpret_cast<uint8_t *>(static_cast<uintptr_t>(argument) << 37);  // bug: a wild pointer
}

NOINLINE static void store_sample(uint8_t *slot, uint8_t value) {
    *reinterpret_cast<volatile uint8_t *>(slot) = value;
}

NOINLINE static int32_t parse_sample_record(const Record &record) {
    uint8_t *slot = slot_address(record.argument);
    store_sample(slot, record.length);
    return mix(ring[record.argument & 0x7f], record.version);
}

// ---- rate records: an average over a window ---------------------------------

NOINLINE static int average_rate(int total, uint8_t argument) {
    volatile int count = argument % 3;  // bug: a window of 0 samples is not rejected
    return total / count;
}

NOINLINE static int32_t parse_rate_record(const Record &record) {
    int rate = average_rate(record.length * 1000 + record.version, record.argument);
    return mix(uint32_t(rate), record.argument);
}

// ---- versioned records: the version is checked ------------------------------

NOINLINE static void check_version(const Record &record) {
    if (record.version >= 0xa0) {
        char text[64];
        std::snprintf(text, sizeof text, "unsupported record version %u", unsigned(record.version));
        throw std::runtime_error(text);  // bug: nothing on the way up catches it
    }
}

NOINLINE static int32_t parse_versioned_record(const Record &record) {
    check_version(record);
    return mix(record.version, record.length);
}

// ---- blob records: a buffer filled, verified, released ----------------------

struct Blob {
    char *data;
    size_t size;
};

NOINLINE static void release_blob(Blob &blob) { std::free(blob.data); }

NOINLINE static bool verify_blob(const Blob &blob, uint8_t argument) {
    return blob.size > 0 && argument % 4 != 0;
}

NOINLINE static int32_t parse_blob_record(const Record &record) {
    Blob blob{static_cast<char *>(std::malloc(record.length + 16u)), record.length + 16u};
    std::memset(blob.data, record.argument, blob.size);
    uint32_t sum = 0;
    for (size_t i = 0; i < blob.size; i++) sum += uint8_t(blob.data[i]);
    if (!verify_blob(blob, record.argument)) {
        release_blob(blob);  // the error path frees the buffer… (bug: and does not return)
    }
    release_blob(blob);  // …and so does the normal one
    return mix(sum, record.version);
}

// ---- group records: records that contain records ----------------------------

NOINLINE static int32_t parse_group(const Record &group, int depth);

/* Member `index` of a group; from argument 0xe0 up, the first member is the group itself. */
static Record member_of(const Record &group, int index) {
    if (index == 0 && group.argument >= 0xe0) return group;
    return Record{uint8_t((group.argument + index) & 0x7f), group.length, uint8_t(index), group.version};
}

NOINLINE static int32_t parse_members(const Record &group, int depth) {
    int32_t total = 0;
    for (int index = 0; index < 1 + group.length % 4; index++) {
        Record member = member_of(group, index);
        total += member.type >= 0xfe ? parse_group(member, depth) : parse_plain(member);  // bug: no depth limit
    }
    return total & 0x7fffffff;
}

NOINLINE static int32_t parse_group(const Record &group, int depth) {
    volatile uint8_t header[32];
    header[0] = uint8_t(depth);
    int32_t members = parse_members(group, depth + 1);
    return (members + header[0]) & 0x7fffffff;
}

// ---- the entry points -------------------------------------------------------

NOINLINE static int32_t parse_body(const Record &record) {
    if (record.type < 0xe0) return parse_plain(record);
    if (record.type < 0xf0) return parse_field_record(record);
    if (record.type < 0xf4) return parse_sample_record(record);
    if (record.type < 0xfa) return parse_rate_record(record);
    if (record.type < 0xfc) return parse_versioned_record(record);
    if (record.type < 0xfe) return parse_blob_record(record);
    return parse_group(record, 0);
}

extern "C" int32_t parse_record(int32_t input) {
    Record record = decode(input);
    return parse_body(record);
}

extern "C" int32_t parse_record_defect(int32_t input) {
    Record record = decode(input);
    if (record.type < 0xe0) return 0;
    if (record.type < 0xf0) return record.argument >= 160 ? 1 : 0;
    if (record.type < 0xf4) return record.argument >= 0x80 ? 2 : 0;
    if (record.type < 0xfa) return record.argument % 3 == 0 ? 3 : 0;
    if (record.type < 0xfc) return record.version >= 0xa0 ? 4 : 0;
    if (record.type < 0xfe) return record.argument % 4 == 0 ? 5 : 0;
    return record.argument >= 0xe0 ? 6 : 0;
}
