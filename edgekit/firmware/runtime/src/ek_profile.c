/* ek_layer_mark: an empty, never-inlined function whose entry the profiler watches. */
#include "ek_profile.h"

__attribute__((noinline)) void ek_layer_mark(int layer) {
    __asm volatile("" : : "r"(layer) : "memory");
}
