// The AVX-512 instantiation of the kernels (winograd_simd.h with 16 tiles per vector) and
// its lane-shuffle helpers. Included by winograd.c (SFX avx512, AVX-512 target) and by
// winograd_emu512.c, which defines SFX and ATTR itself and maps every _mm512 intrinsic used
// here onto AVX2 code, so that this body runs, and is tested, on AVX2 machines too.
#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, SFX)
// AVX-512: 16 tiles per vector, masked gathers and scatters.
#ifndef SFX
#define SFX avx512
#endif
#define VW 16
#define VT __m512
#ifndef ATTR
#define ATTR __attribute__((target("avx512f,fma,avx2,bmi,bmi2")))
#endif
#define INL512 static inline __attribute__((always_inline)) ATTR
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOAD(p) _mm512_load_ps(p)
#define V_STORE(p, v) _mm512_store_ps((p), (v))
#define V_STOREU(p, v) _mm512_storeu_ps((p), (v))
#define V_STREAM(p, v) _mm512_stream_ps((p), (v))
#define V_ADD _mm512_add_ps
#define V_SUB _mm512_sub_ps
#define V_MUL _mm512_mul_ps
#define V_MAX _mm512_max_ps
#define V_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define V_FNMA(a, b, c) _mm512_fnmadd_ps((a), (b), (c))

// Lane shuffles for contiguous (gather/scatter-free) access to rows of tiles.
// FN(load)(p, x, W, masked): 16 floats p[0..16); when masked, lanes whose column
// x + lane lies outside [0, W) read as 0 (and are not accessed).
INL512
__m512 FN(load)(const float *p, int x, int W, int masked) {
    if (!masked) return _mm512_loadu_ps(p);
    const __m512i col = _mm512_add_epi32(_mm512_set1_epi32(x), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    const __mmask16 ok = _mm512_cmpge_epi32_mask(col, _mm512_setzero_si512()) & _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32(W));
    return _mm512_maskz_loadu_ps(ok, p);
}
// deint4: d[j][l] = p[4l + j] for 16 lanes l, j < 4 (p at column x of a row of W).
INL512
void FN(deint4)(const float *p, int x, int W, int masked, __m512 *d) {
    __m512 q0 = FN(load)(p, x, W, masked), q1 = FN(load)(p + 16, x + 16, W, masked);
    __m512 q2 = FN(load)(p + 32, x + 32, W, masked), q3 = FN(load)(p + 48, x + 48, W, masked);
    __m512 t0 = _mm512_unpacklo_ps(q0, q1), t1 = _mm512_unpackhi_ps(q0, q1);
    __m512 t2 = _mm512_unpacklo_ps(q2, q3), t3 = _mm512_unpackhi_ps(q2, q3);
    const __m512i perm = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    d[0] = _mm512_permutexvar_ps(perm, _mm512_shuffle_ps(t0, t2, 0x44));
    d[1] = _mm512_permutexvar_ps(perm, _mm512_shuffle_ps(t0, t2, 0xEE));
    d[2] = _mm512_permutexvar_ps(perm, _mm512_shuffle_ps(t1, t3, 0x44));
    d[3] = _mm512_permutexvar_ps(perm, _mm512_shuffle_ps(t1, t3, 0xEE));
}
// deint2: d[j][l] = p[2l + j] for 16 lanes, j < 2.
INL512
void FN(deint2)(const float *p, int x, int W, int masked, __m512 *d) {
    __m512 q0 = FN(load)(p, x, W, masked), q1 = FN(load)(p + 16, x + 16, W, masked);
    const __m512i perm = _mm512_setr_epi32(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
    d[0] = _mm512_permutexvar_ps(perm, _mm512_shuffle_ps(q0, q1, 0x88));
    d[1] = _mm512_permutexvar_ps(perm, _mm512_shuffle_ps(q0, q1, 0xDD));
}
// inter4: out (4 vectors, memory order) = y[j][l] at position 4l + j, 16 lanes.
INL512
void FN(inter4)(const __m512 *y, __m512 *out) {
    __m512 a = _mm512_unpacklo_ps(y[0], y[1]), b = _mm512_unpacklo_ps(y[2], y[3]);
    __m512 c = _mm512_unpackhi_ps(y[0], y[1]), d = _mm512_unpackhi_ps(y[2], y[3]);
    __m512 e0 = _mm512_shuffle_ps(a, b, 0x44), e1 = _mm512_shuffle_ps(a, b, 0xEE);
    __m512 e2 = _mm512_shuffle_ps(c, d, 0x44), e3 = _mm512_shuffle_ps(c, d, 0xEE);
    __m512 x0 = _mm512_shuffle_f32x4(e0, e1, 0x44), x1 = _mm512_shuffle_f32x4(e2, e3, 0x44);
    __m512 x2 = _mm512_shuffle_f32x4(e0, e1, 0xEE), x3 = _mm512_shuffle_f32x4(e2, e3, 0xEE);
    out[0] = _mm512_shuffle_f32x4(x0, x1, 0x88);
    out[1] = _mm512_shuffle_f32x4(x0, x1, 0xDD);
    out[2] = _mm512_shuffle_f32x4(x2, x3, 0x88);
    out[3] = _mm512_shuffle_f32x4(x2, x3, 0xDD);
}
// inter2: out (2 vectors) = y[j][l] at position 2l + j, 16 lanes.
INL512
void FN(inter2)(const __m512 *y, __m512 *out) {
    __m512 lo = _mm512_unpacklo_ps(y[0], y[1]), hi = _mm512_unpackhi_ps(y[0], y[1]);
    __m512 x0 = _mm512_shuffle_f32x4(lo, hi, 0x44), x1 = _mm512_shuffle_f32x4(lo, hi, 0xEE);
    out[0] = _mm512_shuffle_f32x4(x0, x0, 0xD8);
    out[1] = _mm512_shuffle_f32x4(x1, x1, 0xD8);
}
// Stores the first n (< 16) floats of v.
INL512
void FN(store_part)(float *p, __m512 v, int n) {
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v);
}
#define GATHER(src, idx, ok)                                                                          \
    _mm512_mask_i32gather_ps(_mm512_setzero_ps(),                                                     \
                             _mm512_cmpneq_epi32_mask(_mm512_load_si512((const void *)(ok)), _mm512_setzero_si512()), \
                             _mm512_load_si512((const void *)(idx)), (src), 4)
#define STORE_LANES(dst, idx, ok, v)                                                                  \
    _mm512_mask_i32scatter_ps((dst),                                                                  \
                              _mm512_cmpneq_epi32_mask(_mm512_load_si512((const void *)(ok)), _mm512_setzero_si512()), \
                              _mm512_load_si512((const void *)(idx)), (v), 4)
#include "winograd_simd.h"
#undef INL512
#undef SFX
#undef VW
#undef VT
#undef ATTR
#undef V_ZERO
#undef V_SET1
#undef V_LOAD
#undef V_STORE
#undef V_STOREU
#undef V_STREAM
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_MAX
#undef V_FMA
#undef V_FNMA
#undef GATHER
#undef STORE_LANES

