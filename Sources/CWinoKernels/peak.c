// FMA peak of the instruction set in use, measured: the reference for the "fraction of
// peak" figures of wino-bench (no clock speed or port count has to be assumed).
#include "wino_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
// 12 independent accumulator chains hide the FMA latency on both FMA ports.
#define BURN(NAME, ATTRS, VT, SET1, FMA, ADD, STORE, VW)                                         \
    __attribute__((target(ATTRS))) static void NAME(long iters, float *sink) {                   \
        VT acc[12];                                                                              \
        for (int i = 0; i < 12; i++) acc[i] = SET1(sink[i]);                                     \
        const VT a = SET1(0.999999f), b = SET1(1e-7f);                                           \
        for (long it = 0; it < iters; it++)                                                      \
            for (int i = 0; i < 12; i++) acc[i] = FMA(acc[i], a, b);                             \
        for (int i = 1; i < 12; i++) acc[0] = ADD(acc[0], acc[i]);                               \
        float out[VW] __attribute__((aligned(64)));                                              \
        STORE(out, acc[0]);                                                                      \
        sink[0] = out[0];                                                                        \
    }
BURN(burn_avx512, "avx512f,fma,avx2", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_store_ps, 16)
BURN(burn_avx2, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_store_ps, 8)
#endif

static void burn_portable(long iters, float *sink) {
    float acc[12];
    for (int i = 0; i < 12; i++) acc[i] = sink[i];
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 12; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    for (int i = 1; i < 12; i++) acc[0] += acc[i];
    sink[0] = acc[0];
}

double wk_fma_burn(long iters, float *sink) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    switch (wk_isa()) {
    case 2:
        if (!wk_avx512_emulated()) { burn_avx512(iters, sink); return (double)iters * 12 * 16 * 2; }
        // Emulated AVX-512 (wk_emulate_avx512) runs on AVX2 units: their peak.
        // fall through
    case 1: burn_avx2(iters, sink); return (double)iters * 12 * 8 * 2;
    default: break;
    }
#endif
    burn_portable(iters, sink);
    return (double)iters * 12 * 2;
}
