// Run-time instruction-set selection for every dispatching kernel.
#include "internal.h"

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

int cfhe_isa_force(int level) {
    int best = cfhe_isa_detected();
    if (level < CFHE_ISA_SCALAR) level = CFHE_ISA_SCALAR;
    cfhe_isa_thread = level < best ? level : best;
    return cfhe_isa_thread;
}

__attribute__((constructor)) static void cfhe_isa_init(void) { cfhe_isa_global = cfhe_isa_detected(); }
