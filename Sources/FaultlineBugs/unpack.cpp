// unpack.cpp: hands a destination to zlib's uncompress() (libz.so.1), with a
// valid stream made by zlib's own compress(). A bad destination crashes inside
// zlib's code: the bug to triage is then in a library nobody here wrote.
// libz.so.1 is loaded with this library, as if linked against it (a
// constructor's dlopen: no zlib headers or development files are needed).
#include "FaultlineBugs.h"

#include <dlfcn.h>

typedef int (*zlib_pack)(unsigned char *dest, unsigned long *destLen, const unsigned char *source, unsigned long sourceLen);

static const char text[] =
    "2015-05-04 12:00:01 INFO  reactor: step 1 of 300, 8 species, 2 reactions\n"
    "2015-05-04 12:00:02 INFO  reactor: step 2 of 300, 8 species, 2 reactions\n"
    "2015-05-04 12:00:03 WARN  reactor: rate of C+A>D below 1e-9, clamped\n"
    "2015-05-04 12:00:04 INFO  reactor: step 3 of 300, 8 species, 3 reactions\n";

static void *zlib;

__attribute__((constructor)) static void load_zlib() { zlib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL); }

extern "C" int32_t unpack_into(uint64_t destination) {
    if (zlib == nullptr) return -100;
    zlib_pack compress = reinterpret_cast<zlib_pack>(dlsym(zlib, "compress"));
    zlib_pack uncompress = reinterpret_cast<zlib_pack>(dlsym(zlib, "uncompress"));
    if (compress == nullptr || uncompress == nullptr) return -100;
    unsigned char packed[1024];
    unsigned long packedLength = sizeof packed;
    int status = compress(packed, &packedLength, reinterpret_cast<const unsigned char *>(text), sizeof text);
    if (status != 0) return status;
    static unsigned char own[4096];
    unsigned char *into = destination == 0 ? own : reinterpret_cast<unsigned char *>(static_cast<uintptr_t>(destination));
    unsigned long capacity = 4096;
    return uncompress(into, &capacity, packed, packedLength);
}
