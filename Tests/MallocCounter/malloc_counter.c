// Interposes the allocation functions of glibc: each call bumps a counter and
// forwards to glibc's own implementation (__libc_*).
#include "malloc_counter.h"
#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t count;
static volatile int armed;

void mc_debug_arm(int on) { armed = on; }
__attribute__((noinline)) void mc_debug_hit(void) { __asm__ volatile(""); }

uint64_t mc_allocations(void) { return __atomic_load_n(&count, __ATOMIC_RELAXED); }

static inline void bump(void) {
    __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
    if (armed) mc_debug_hit();   // a place for a debugger breakpoint
}

void *malloc(size_t n) { bump(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { bump(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { bump(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { bump(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { bump(); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    bump();
    void *p = __libc_memalign(a, n);
    if (!p && n) return ENOMEM;
    *out = p;
    return 0;
}
