// Tiny atomic and CPU helpers for the Swift thread pool (Swift on Linux has no
// portable way to spell these without extra packages).
#ifndef WINO_SYNC_H
#define WINO_SYNC_H
#include <stdint.h>

/// Sequentially consistent load.
static inline int64_t wk_atomic_load(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
/// Sequentially consistent store.
static inline void wk_atomic_store(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
/// Atomic add; returns the new value.
static inline int64_t wk_atomic_add(int64_t *p, int64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }

/// A spin-wait hint to the CPU.
static inline void wk_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/// Pins the calling thread to one CPU (best effort); returns 0 on success.
int wk_pin_thread(int cpu);

/// Number of CPUs this process may run on.
int wk_cpu_count(void);

#endif
