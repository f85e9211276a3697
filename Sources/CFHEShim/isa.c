// Run-time instruction-set selection for every dispatching kernel.
//
// Every level computes the same bytes (fft.c explains how), so the choice is about speed only;
// SYPHON_ISA=scalar|avx2|avx512 in the environment caps it for a whole process (for anyone who
// wants to check that claim from the command line, and to measure the AVX2 path on an AVX-512 CPU).
#include "internal.h"
#include <stdlib.h>
#include <string.h>

int cfhe_isa_global = CFHE_ISA_SCALAR;
_Thread_local int cfhe_isa_thread = -1;
static int detected_level = -1;

int cfhe_isa_detected(void) {
    if (detected_level < 0) {
        int level = CFHE_ISA_SCALAR;
#if defined(__x86_64__)
        __builtin_cpu_init();
        // __builtin_cpu_supports returns a non-zero mask, not 1: test as booleans.
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = CFHE_ISA_AVX2;
        if (level == CFHE_ISA_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
            level = CFHE_ISA_AVX512;
#endif
        detected_level = level;
    }
    return detected_level;
}

int cfhe_isa_active(void) { return cfhe_isa_level; }

static int clamp_to_detected(int level) {
    int best = cfhe_isa_detected();
    if (level < CFHE_ISA_SCALAR) level = CFHE_ISA_SCALAR;
    return level < best ? level : best;
}

int cfhe_isa_limit(int level) {
    cfhe_isa_global = clamp_to_detected(level);
    return cfhe_isa_global;
}

int cfhe_isa_from_environment(void) {
    const char *name = getenv("SYPHON_ISA");
    if (name == NULL || *name == 0) return -1;
    if (strcmp(name, "scalar") == 0) return CFHE_ISA_SCALAR;
    if (strcmp(name, "avx2") == 0) return CFHE_ISA_AVX2;
    if (strcmp(name, "avx512") == 0) return CFHE_ISA_AVX512;
    return -2;
}

int cfhe_isa_force(int level) {
    cfhe_isa_thread = level < 0 ? -1 : clamp_to_detected(level);
    return cfhe_isa_level;
}

__attribute__((constructor)) static void cfhe_isa_init(void) {
    int requested = cfhe_isa_from_environment();
    cfhe_isa_global = requested >= 0 ? clamp_to_detected(requested) : cfhe_isa_detected();
}
