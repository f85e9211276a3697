// Giving freed heap memory back to the system, for a service whose bursts (a key registration, a
// tick over a large book) free far more than it keeps.
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "cfhe_kernels.h"

int cfhe_release_free_memory(void) {
#if defined(__GLIBC__)
    // glibc keeps freed chunks in its arenas (one per thread that allocated); malloc_trim returns
    // the free pages of every arena, not only the top of the main heap.
    return malloc_trim(0);
#else
    return 0;
#endif
}
