// CPU affinity helpers for the thread pool.
#define _GNU_SOURCE
#include "wino_sync.h"
#include <pthread.h>
#include <sched.h>

int wk_pin_thread(int cpu) {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
#else
    (void)cpu;
    return -1;
#endif
}

int wk_cpu_count(void) {
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
    return 1;
}
