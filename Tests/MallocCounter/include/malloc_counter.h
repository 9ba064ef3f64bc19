// Counts heap allocations of the whole test process (malloc and friends are
// interposed and forwarded to glibc), so a test can assert that a code path
// allocates nothing.
#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H
#include <stdint.h>

/// Number of allocation calls (malloc, calloc, realloc, memalign family) so far.
uint64_t mc_allocations(void);

/// Debugging aid: while armed, every allocation calls mc_debug_hit (break there).
void mc_debug_arm(int on);
void mc_debug_hit(void);

#endif
