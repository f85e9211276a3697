// How many CPUs this process may run on, for the default thread count of the FHE paths.
#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>
#include "cfhe_kernels.h"

int cfhe_available_cpus(void) {
#if defined(__linux__)
    cpu_set_t set;
    // The affinity mask is what taskset and container cpusets restrict; the online count is not.
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int count = CPU_COUNT(&set);
        if (count > 0) return count;
    }
#endif
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}
