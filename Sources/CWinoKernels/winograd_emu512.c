// The AVX-512 body of the Winograd kernels (winograd_avx512.h) compiled for AVX2 machines:
// every _mm512 intrinsic it uses is mapped onto a function of the same meaning (Intel's
// definitions) on GCC/Clang vector types, which the compiler lowers to AVX2 code. The same
// source, the same 16-lane index logic, the same operations in the same order: the
// results are the bits the AVX-512 kernels give (every operation is an IEEE add, subtract,
// multiply, max or fused multiply-add, lane by lane). wk_emulate_avx512(1) selects it on a
// CPU without AVX-512 (wino_kernels.h): the tests run it beside the AVX2 and portable
// kernels, so the AVX-512 body is checked on every machine, and an AVX-512 server's results
// can be reproduced on an AVX2 one.
//
// Stricter than the hardware where it helps: aligned loads and stores (and the streaming
// store) trap unless 64-byte aligned, as the AVX-512 instructions fault, so a misaligned
// V, M or output row shows up here too.
#include "winograd_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

typedef int wk_emu_i32 __attribute__((vector_size(64)));
#define EMU static inline __attribute__((always_inline))
#define EMU_ALIGNED(p) do { if ((uintptr_t)(p) & 63) __builtin_trap(); } while (0)

EMU __m512 emu_setzero_ps(void) { return (__m512){0}; }
EMU __m512 emu_set1_ps(float x) {
    __m512 r;
    for (int i = 0; i < 16; i++) r[i] = x;
    return r;
}
EMU __m512 emu_load_ps(const void *p) { EMU_ALIGNED(p); return *(const __m512 *)p; }
EMU __m512 emu_loadu_ps(const void *p) { __m512 r; memcpy(&r, p, 64); return r; }
EMU void emu_store_ps(void *p, __m512 v) { EMU_ALIGNED(p); *(__m512 *)p = v; }
EMU void emu_storeu_ps(void *p, __m512 v) { memcpy(p, &v, 64); }
EMU void emu_stream_ps(void *p, __m512 v) { EMU_ALIGNED(p); *(__m512 *)p = v; }
EMU __m512 emu_add_ps(__m512 a, __m512 b) { return a + b; }
EMU __m512 emu_sub_ps(__m512 a, __m512 b) { return a - b; }
EMU __m512 emu_mul_ps(__m512 a, __m512 b) { return a * b; }
// vmaxps: a where a > b, else b (b when either is NaN or both are zeros).
EMU __m512 emu_max_ps(__m512 a, __m512 b) {
    __m512 r;
    for (int i = 0; i < 16; i++) r[i] = a[i] > b[i] ? a[i] : b[i];
    return r;
}
// Fused: one rounding, as vfmadd / vfnmadd.
EMU __m512 emu_fmadd_ps(__m512 a, __m512 b, __m512 c) { return __builtin_elementwise_fma(a, b, c); }
EMU __m512 emu_fnmadd_ps(__m512 a, __m512 b, __m512 c) { return __builtin_elementwise_fma(-a, b, c); }

EMU __m512i emu_setzero_si512(void) { return (__m512i){0}; }
EMU __m512i emu_set1_epi32(int x) {
    wk_emu_i32 r;
    for (int i = 0; i < 16; i++) r[i] = x;
    return (__m512i)r;
}
EMU __m512i emu_setr_epi32(int e0, int e1, int e2, int e3, int e4, int e5, int e6, int e7, int e8, int e9,
                           int e10, int e11, int e12, int e13, int e14, int e15) {
    return (__m512i)(wk_emu_i32){e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15};
}
EMU __m512i emu_load_si512(const void *p) { EMU_ALIGNED(p); return *(const __m512i *)p; }
EMU __m512i emu_add_epi32(__m512i a, __m512i b) { return (__m512i)((wk_emu_i32)a + (wk_emu_i32)b); }
#define EMU_CMP(NAME, OP)                                                                         \
    EMU __mmask16 NAME(__m512i a, __m512i b) {                                                    \
        const wk_emu_i32 x = (wk_emu_i32)a, y = (wk_emu_i32)b;                                    \
        unsigned k = 0;                                                                           \
        for (int i = 0; i < 16; i++) k |= (unsigned)(x[i] OP y[i]) << i;                          \
        return (__mmask16)k;                                                                      \
    }
EMU_CMP(emu_cmpneq_epi32_mask, !=)
EMU_CMP(emu_cmplt_epi32_mask, <)
EMU_CMP(emu_cmpge_epi32_mask, >=)
#undef EMU_CMP

// Masked lanes only are read or written (the hardware suppresses faults of the others).
EMU __m512 emu_maskz_loadu_ps(__mmask16 k, const void *p) {
    __m512 r = (__m512){0};
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) r[i] = ((const float *)p)[i];
    return r;
}
EMU void emu_mask_storeu_ps(void *p, __mmask16 k, __m512 v) {
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) ((float *)p)[i] = v[i];
}
EMU __m512 emu_mask_i32gather_ps(__m512 src, __mmask16 k, __m512i idx, const void *base, int scale) {
    const wk_emu_i32 ix = (wk_emu_i32)idx;
    __m512 r = src;
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) r[i] = *(const float *)((const char *)base + (long)ix[i] * scale);
    return r;
}
// Lanes in increasing order: where two write the same address, the higher lane's value stays.
EMU void emu_mask_i32scatter_ps(void *base, __mmask16 k, __m512i idx, __m512 v, int scale) {
    const wk_emu_i32 ix = (wk_emu_i32)idx;
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) *(float *)((char *)base + (long)ix[i] * scale) = v[i];
}

// Shuffles: within each 128-bit block j (lanes 4j..4j+3) unless stated.
EMU __m512 emu_unpacklo_ps(__m512 a, __m512 b) {
    __m512 r;
    for (int j = 0; j < 16; j += 4) { r[j] = a[j]; r[j + 1] = b[j]; r[j + 2] = a[j + 1]; r[j + 3] = b[j + 1]; }
    return r;
}
EMU __m512 emu_unpackhi_ps(__m512 a, __m512 b) {
    __m512 r;
    for (int j = 0; j < 16; j += 4) { r[j] = a[j + 2]; r[j + 1] = b[j + 2]; r[j + 2] = a[j + 3]; r[j + 3] = b[j + 3]; }
    return r;
}
EMU __m512 emu_shuffle_ps(__m512 a, __m512 b, int imm) {
    __m512 r;
    for (int j = 0; j < 16; j += 4) {
        r[j] = a[j + (imm & 3)];
        r[j + 1] = a[j + ((imm >> 2) & 3)];
        r[j + 2] = b[j + ((imm >> 4) & 3)];
        r[j + 3] = b[j + ((imm >> 6) & 3)];
    }
    return r;
}
// Whole 128-bit blocks: two of a (selected by imm bits 0-1 and 2-3), then two of b (4-5, 6-7).
EMU __m512 emu_shuffle_f32x4(__m512 a, __m512 b, int imm) {
    __m512 r;
    for (int q = 0; q < 4; q++) {
        const int sel = (imm >> (2 * q)) & 3;
        for (int i = 0; i < 4; i++) r[4 * q + i] = q < 2 ? a[4 * sel + i] : b[4 * sel + i];
    }
    return r;
}
// Lane i of the result is lane idx[i] mod 16 of a.
EMU __m512 emu_permutexvar_ps(__m512i idx, __m512 a) {
    const wk_emu_i32 ix = (wk_emu_i32)idx;
    __m512 r;
    for (int i = 0; i < 16; i++) r[i] = a[ix[i] & 15];
    return r;
}

#undef _mm512_setzero_ps
#define _mm512_setzero_ps emu_setzero_ps
#undef _mm512_set1_ps
#define _mm512_set1_ps emu_set1_ps
#undef _mm512_load_ps
#define _mm512_load_ps emu_load_ps
#undef _mm512_loadu_ps
#define _mm512_loadu_ps emu_loadu_ps
#undef _mm512_store_ps
#define _mm512_store_ps emu_store_ps
#undef _mm512_storeu_ps
#define _mm512_storeu_ps emu_storeu_ps
#undef _mm512_stream_ps
#define _mm512_stream_ps emu_stream_ps
#undef _mm512_add_ps
#define _mm512_add_ps emu_add_ps
#undef _mm512_sub_ps
#define _mm512_sub_ps emu_sub_ps
#undef _mm512_mul_ps
#define _mm512_mul_ps emu_mul_ps
#undef _mm512_max_ps
#define _mm512_max_ps emu_max_ps
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps emu_fmadd_ps
#undef _mm512_fnmadd_ps
#define _mm512_fnmadd_ps emu_fnmadd_ps
#undef _mm512_setzero_si512
#define _mm512_setzero_si512 emu_setzero_si512
#undef _mm512_set1_epi32
#define _mm512_set1_epi32 emu_set1_epi32
#undef _mm512_setr_epi32
#define _mm512_setr_epi32 emu_setr_epi32
#undef _mm512_load_si512
#define _mm512_load_si512 emu_load_si512
#undef _mm512_add_epi32
#define _mm512_add_epi32 emu_add_epi32
#undef _mm512_cmpneq_epi32_mask
#define _mm512_cmpneq_epi32_mask emu_cmpneq_epi32_mask
#undef _mm512_cmplt_epi32_mask
#define _mm512_cmplt_epi32_mask emu_cmplt_epi32_mask
#undef _mm512_cmpge_epi32_mask
#define _mm512_cmpge_epi32_mask emu_cmpge_epi32_mask
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps emu_maskz_loadu_ps
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps emu_mask_storeu_ps
#undef _mm512_mask_i32gather_ps
#define _mm512_mask_i32gather_ps emu_mask_i32gather_ps
#undef _mm512_mask_i32scatter_ps
#define _mm512_mask_i32scatter_ps emu_mask_i32scatter_ps
#undef _mm512_unpacklo_ps
#define _mm512_unpacklo_ps emu_unpacklo_ps
#undef _mm512_unpackhi_ps
#define _mm512_unpackhi_ps emu_unpackhi_ps
#undef _mm512_shuffle_ps
#define _mm512_shuffle_ps emu_shuffle_ps
#undef _mm512_shuffle_f32x4
#define _mm512_shuffle_f32x4 emu_shuffle_f32x4
#undef _mm512_permutexvar_ps
#define _mm512_permutexvar_ps emu_permutexvar_ps

// Every vector function below is inlined into its caller: no __m512 crosses a call, so the
// compiler's note that passing one without AVX-512 changes the ABI does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
#define SFX avx512emu
#define ATTR __attribute__((target("avx2,fma,bmi,bmi2")))
#include "winograd_avx512.h"

void wk_emu512_block(const wk_wino_geom *g, const float *x, int t0, int tb,
                     const int32_t *row_ptr, const uint16_t *row_pos, const uint8_t *pos_dense,
                     const uint8_t *live, const void *col_off, int col_kind, const float *values,
                     int row_stride, int row_base, int k0, int k1,
                     const float *bias, int relu, float *y, float *V, float *M, int transform_input) {
    block_avx512emu(g, x, t0, tb, row_ptr, row_pos, pos_dense, live, col_off, col_kind, values, row_stride,
                    row_base, k0, k1, bias, relu, y, V, M, transform_input);
}

void wk_emu512_input(const wk_wino_geom *g, const uint8_t *live, const float *x, int t0, int tb, int c0,
                     int c1, float *V) {
    input_avx512emu(g, x, t0, tb, c0, c1, V, live);
}

void wk_emu512_products_8(const float *V, int tiles, int tbs, int channels, const int32_t *row_ptr,
                          const uint8_t *cols, const float *values, int rows, float *M) {
    products_8_avx512emu(V, 0, 1, tiles, tbs, channels, 0, 0, row_ptr, cols, values, rows, 0, 0, 0, rows, M);
}
#endif
