/*
 * c_only.c: lets a product written only in C load without the Swift runtime.
 *
 * Purpose. SwiftPM links every product with the Swift driver, which adds
 * swiftrt.o (whose constructor registers the image's Swift metadata by
 * calling swift_addNewDSOImage) and -lswiftCore to the link. A C program
 * then loads libswiftCore, libstdc++, libm and libgcc_s it never uses: about
 * twenty more mappings, which every fork copies and every exit tears down.
 * For the pool's helper (faultline-helper), whose forks are the cost of every
 * crash, that is ~12 % of the crash rate; for faultline-floors it would raise
 * the floors it exists to measure; for the victims library it is what a real
 * C library would not carry.
 *
 * How. This file (1) resolves swiftrt.o's two references inside the image
 * (hidden: never exported, so no other image binds to them), forwarding to
 * libswiftCore's own functions when something else has loaded it; and (2)
 * asks the linker for --as-needed through the autolink entries the Swift
 * driver extracts from every object (swift-autolink-extract) and places
 * before -lswiftCore. With both, nothing needs libswiftCore and the linker
 * drops it.
 *
 * Limits. Only for products with no Swift code: in a Swift image the image's
 * metadata is still registered (the forwarding), but nothing here is needed.
 * If a toolchain stops extracting autolink entries from C objects, the
 * product simply loads the Swift runtime again (slower forks, same behaviour).
 * Runs in constructors of a loading image; no signal handler, no fork.
 */
#include <dlfcn.h>

/* One linker argument per NUL-terminated entry, placed before -lswiftCore. */
__attribute__((used, section(".swift1_autolink_entries"))) static const char autolink_entries[] = "-Xlinker\0--as-needed";

typedef void (*add_image_function)(const void *);
typedef int (*is_thunk_function)(const char *);

/* swiftrt.o's constructor calls this with its image's section table. */
__attribute__((visibility("hidden"))) void swift_addNewDSOImage(const void *image) {
    add_image_function runtime = (add_image_function)dlsym(RTLD_DEFAULT, "swift_addNewDSOImage");
    if (runtime) runtime(image);
}

/* swiftrt.o keeps a reference to this (for the Swift backtracer); never called here. */
__attribute__((visibility("hidden"))) int _swift_backtrace_isThunkFunction(const char *name) {
    is_thunk_function runtime = (is_thunk_function)dlsym(RTLD_DEFAULT, "_swift_backtrace_isThunkFunction");
    return runtime ? runtime(name) : 0;
}
