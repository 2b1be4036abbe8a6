/*
 * FaultlineBugs: a small C++ library behind extern "C" functions with six
 * bugs of the ordinary kinds, for crash triage (experiment 13): a parser of
 * 4-byte log records, and a shim that hands a bad destination to Debian's
 * zlib. Compiled with -g -O2 -fno-omit-frame-pointer, so that its frames
 * carry source lines; without the Swift runtime, like the C++ libraries it
 * stands for.
 */
#ifndef FAULTLINE_BUGS_H
#define FAULTLINE_BUGS_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* int32(int32): parses one record, the input's four bytes from the lowest:
   type, argument, length, version. Returns a checksum of the record
   (never negative), or crashes in one of six ways, each in its own code:
   - types 0xe0..0xef (field records), argument >= 0xa0: the field number is
     not in the table; the lookup's nullptr is dereferenced (SIGSEGV near 0x0);
   - types 0xf0..0xf3 (sample records), argument >= 0x80: a packed pointer
     decoded wrong, a store far from any mapping (SIGSEGV, write);
   - types 0xf4..0xf9 (rate records), argument % 3 == 0: a division by a zero
     count (SIGFPE);
   - types 0xfa..0xfb (versioned records), version >= 0xa0: an exception no
     one catches (std::runtime_error, then std::terminate: SIGABRT);
   - types 0xfc..0xfd (blob records), argument % 4 == 0: the error path frees
     the buffer and the normal path frees it again (glibc: SIGABRT);
   - types 0xfe..0xff (group records), argument >= 0xe0: a group that
     contains itself, parsed without a depth limit (stack overflow). */
int32_t parse_record(int32_t input);

/* int32(int32): the lab's ground truth for parse_record: 0 when the input
   returns, else which bug it reaches (1 null field, 2 wild store, 3 zero
   count, 4 uncaught exception, 5 double free, 6 self-containing group). */
int32_t parse_record_defect(int32_t input);

/* int32(uint64): decompresses a small zlib stream (made with zlib's own
   compress()) with uncompress() from libz.so.1 into DESTINATION, a capacity
   of 4096 bytes; 0 means into a buffer of the shim's own. Returns zlib's
   status (0: Z_OK), or -100 when libz.so.1 could not be loaded (it is
   loaded with this library). A bad DESTINATION crashes inside zlib. */
int32_t unpack_into(uint64_t destination);

#ifdef __cplusplus
}
#endif
#endif
