/*
 * The C++ corner of the zoo: exceptions. The write-up's library was C++, and
 * linking libunwind.so process-wide would make every throw below slower.
 */
#include "FaultlineVictims.h"

#include <stdexcept>

namespace {
[[gnu::noinline]] void thrower(int value) {
    if (value >= 0) throw std::runtime_error("faultline victim");
}
} // namespace

extern "C" int fl_cxx_throw_catch(int r) {
    int caught = 0;
    for (int i = 0; i < (r > 0 ? r : 1); i++) {
        try {
            thrower(i);
        } catch (const std::exception &) {
            caught++;
        }
    }
    return caught;
}

extern "C" int fl_cxx_uncaught(int r) {
    thrower(r < 0 ? 0 : r);
    return r;
}
