// Dense matrix product for direct (im2col) convolutions and dense layers.
//
// C[i][j] = sum_d A[i][d] * B[d][j] for rows i in [i0, i1) and all n columns; A is
// M x K (row stride lda), B is K x n (ldb), C is M x n (ldc), all row-major.
// Every C element is one accumulator summed over d in increasing order, so results do
// not depend on how rows are split between threads.
//
// AVX2 micro-kernel: 6 rows x 16 columns in 12 ymm accumulators; per d, 6 broadcasts
// of A and 2 loads of B feed 12 FMAs. The B panel (K x 16 floats) is reused by every
// 6-row strip. Edges fall back to a masked kernel (columns) and single rows.
#include "wino_kernels.h"
#include <math.h>
#include <string.h>

static void gemm_portable(int i0, int i1, int n, int K, const float *A, long lda, const float *B, long ldb,
                          float *C, long ldc) {
    for (int i = i0; i < i1; i++) {
        float *c = C + i * ldc;
        for (int j = 0; j < n; j++) c[j] = 0;
        for (int d = 0; d < K; d++) {
            const float a = A[i * lda + d], *b = B + d * ldb;
            for (int j = 0; j < n; j++) c[j] += a * b[j];
        }
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma,bmi,bmi2")))

static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2"))) __m256i tail_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// R rows (<= 6) x 16 columns starting at column j; `cols` (<= 16) of them are stored.
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
void strip(const int R, int i, int j, int cols, int K, const float *A, long lda, const float *B, long ldb,
           float *C, long ldc) {
    __m256 acc[6][2];
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const __m256i m0 = tail_mask(cols), m1 = tail_mask(cols - 8);
    const int full = cols == 16;
    const float *a = A + i * lda, *b = B + j;
    for (int d = 0; d < K; d++, b += ldb) {
        __m256 b0, b1;
        if (full) { b0 = _mm256_loadu_ps(b); b1 = _mm256_loadu_ps(b + 8); }
        else { b0 = _mm256_maskload_ps(b, m0); b1 = _mm256_maskload_ps(b + 8, m1); }
        for (int r = 0; r < R; r++) {
            const __m256 ar = _mm256_broadcast_ss(a + r * lda + d);
            acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        float *c = C + (i + r) * ldc + j;
        if (full) { _mm256_storeu_ps(c, acc[r][0]); _mm256_storeu_ps(c + 8, acc[r][1]); }
        else { _mm256_maskstore_ps(c, m0, acc[r][0]); _mm256_maskstore_ps(c + 8, m1, acc[r][1]); }
    }
}

AVX2 static void gemm_avx2(int i0, int i1, int n, int K, const float *A, long lda, const float *B, long ldb,
                           float *C, long ldc) {
    for (int j = 0; j < n; j += 16) {
        const int cols = n - j < 16 ? n - j : 16;
        int i = i0;
        for (; i + 6 <= i1; i += 6) strip(6, i, j, cols, K, A, lda, B, ldb, C, ldc);
        for (; i < i1; i++) strip(1, i, j, cols, K, A, lda, B, ldb, C, ldc);
    }
}
#endif

void wk_gemm(int i0, int i1, int n, int K, const float *A, long lda, const float *B, long ldb, float *C, long ldc) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wk_isa() >= 1) { gemm_avx2(i0, i1, n, K, A, lda, B, ldb, C, ldc); return; }
#endif
    gemm_portable(i0, i1, n, K, A, lda, B, ldb, C, ldc);
}

// ---------------------------------------------------------------- sparse rows x vector
// y[i - i0] = sum_{e in row i} values[e] * x[col[e]] for i0 <= i < i1 (CSR), with 32-bit or
// 16-bit (`wide` = 0) column indices. AVX2, 32-bit indices: 8 entries per step with a gather
// of x, one accumulator per row summed in a fixed lane order at the end; 16-bit indices: see
// csr_dot16_avx2. The result depends only on the row, never on the thread split.
static inline int col_at(const void *col, int wide, int e) {
    return wide ? ((const int32_t *)col)[e] : ((const uint16_t *)col)[e];
}

static void csr_dot_portable(int i0, int i1, const int32_t *row_ptr, const void *col, int wide,
                             const float *val, const float *x, float *y, int accumulate) {
    for (int i = i0; i < i1; i++) {
        float s = 0;
        for (int e = row_ptr[i]; e < row_ptr[i + 1]; e++) s += val[e] * x[col_at(col, wide, e)];
        y[i - i0] = accumulate ? y[i - i0] + s : s;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
AVX2 static void csr_dot32_avx2(int i0, int i1, const int32_t *row_ptr, const int32_t *col, const float *val,
                                const float *x, float *y) {
    for (int i = i0; i < i1; i++) {
        int e = row_ptr[i];
        const int e1 = row_ptr[i + 1];
        __m256 acc = _mm256_setzero_ps();
        for (; e + 8 <= e1; e += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(val + e),
                                  _mm256_i32gather_ps(x, _mm256_loadu_si256((const __m256i *)(col + e)), 4), acc);
        if (e < e1) {
            int32_t tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (int k = 0; k < e1 - e; k++) tail[k] = col[e + k];
            const __m256i m = tail_mask(e1 - e);
            const __m256i idx = _mm256_loadu_si256((const __m256i *)tail);
            const __m256 xv = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), x, idx, _mm256_castsi256_ps(m), 4);
            acc = _mm256_fmadd_ps(_mm256_maskload_ps(val + e, m), xv, acc);
        }
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        y[i - i0] = _mm_cvtss_f32(s);
    }
}
// 16-bit indices: no gather instruction. AMD Zen 3 takes about 8 cycles per 8-lane gather
// (measured here: 13 cycles per 8 entries for the whole loop); four indices come in one
// 64-bit load, and each x value with one scalar load inserted into the vector: the loop is
// bound by its loads (22 per 16 entries). Measured on FC6's shape (4096 x 9216, 10%):
// 30% faster with the weights in cache, 10% from memory, on one core.
// Two accumulators (entries 16j .. 16j + 7 and 16j + 8 .. 16j + 15), added together, then
// the remaining entries in order: a fixed order for each row.
#define WK_FC_PF 1024
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
__m128 x4_avx2(const float *x, uint64_t q) {
    __m128 v = _mm_load_ss(x + (q & 0xffff));
    v = _mm_insert_ps(v, _mm_load_ss(x + ((q >> 16) & 0xffff)), 0x10);
    v = _mm_insert_ps(v, _mm_load_ss(x + ((q >> 32) & 0xffff)), 0x20);
    return _mm_insert_ps(v, _mm_load_ss(x + (q >> 48)), 0x30);
}
AVX2 static void csr_dot16_avx2(int i0, int i1, const int32_t *rp, const uint16_t *col, const float *val,
                                const float *x, float *y, int accumulate) {
    for (int i = i0; i < i1; i++) {
        int e = rp[i];
        const int e1 = rp[i + 1];
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (; e + 16 <= e1; e += 16) {
            // The weights stream from memory once per image: prefetch 1024 entries ahead (4 KiB
            // of values, 2 KiB of indices). Measured, 2 threads, caches flushed: 10-20% faster.
            __builtin_prefetch(val + e + WK_FC_PF);
            __builtin_prefetch(col + e + WK_FC_PF);
            uint64_t q[4];
            memcpy(q, col + e, sizeof q);
            const __m256 x0 = _mm256_insertf128_ps(_mm256_castps128_ps256(x4_avx2(x, q[0])), x4_avx2(x, q[1]), 1);
            const __m256 x1 = _mm256_insertf128_ps(_mm256_castps128_ps256(x4_avx2(x, q[2])), x4_avx2(x, q[3]), 1);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(val + e), x0, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(val + e + 8), x1, a1);
        }
        a0 = _mm256_add_ps(a0, a1);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        float t = _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
        for (; e < e1; e++) t = fmaf(val[e], x[col[e]], t);
        y[i - i0] = accumulate ? y[i - i0] + t : t;
    }
}
#endif

void wk_csr_dot(int i0, int i1, const int32_t *row_ptr, const int32_t *col, const float *val, const float *x, float *y) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wk_isa() >= 1) { csr_dot32_avx2(i0, i1, row_ptr, col, val, x, y); return; }
#endif
    csr_dot_portable(i0, i1, row_ptr, col, 1, val, x, y, 0);
}

void wk_csr_dot16(int i0, int i1, const int32_t *row_ptr, const uint16_t *col, const float *val, const float *x, float *y,
                  int accumulate) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wk_isa() >= 1) { csr_dot16_avx2(i0, i1, row_ptr, col, val, x, y, accumulate); return; }
#endif
    csr_dot_portable(i0, i1, row_ptr, col, 0, val, x, y, accumulate);
}

// ---------------------------------------------------------------- sparse or dense rows x 8 images
// See wino_kernels.h. Column index of entry e of a row starting at e0.
static inline long fc_col(const int32_t *row_ptr, const uint16_t *col16, const int32_t *col32, int e, int e0) {
    if (!row_ptr) return e - e0;
    return col16 ? col16[e] : col32[e];
}

static void fc_rows8_portable(int i0, int i1, const int32_t *row_ptr, const uint16_t *col16, const int32_t *col32,
                              const float *values, int F, const float *xt, int nb, float *y, long ldy, int accumulate) {
    for (int i = i0; i < i1; i++) {
        const int e0 = row_ptr ? row_ptr[i] : 0, e1 = row_ptr ? row_ptr[i + 1] : F;
        const float *v = row_ptr ? values : values + (long)i * F;
        for (int n = 0; n < nb; n++) {
            float s[4] = {0, 0, 0, 0};
            for (int e = e0; e < e1; e++)
                s[(e - e0) & 3] = fmaf(v[e], xt[fc_col(row_ptr, col16, col32, e, e0) * 8 + n], s[(e - e0) & 3]);
            const float t = (s[0] + s[1]) + (s[2] + s[3]);
            y[n * ldy + i] = accumulate ? y[n * ldy + i] + t : t;
        }
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
void fc_rows8_body(int i0, int i1, const int32_t *row_ptr, const uint16_t *col16, const int32_t *col32,
                   const float *values, int F, const float *xt, int nb, float *y, long ldy, int accumulate) {
    for (int i = i0; i < i1; i++) {
        const int e0 = row_ptr ? row_ptr[i] : 0, e1 = row_ptr ? row_ptr[i + 1] : F;
        const float *v = row_ptr ? values : values + (long)i * F;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        int e = e0;
        for (; e + 4 <= e1; e += 4) {
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + e), _mm256_load_ps(xt + fc_col(row_ptr, col16, col32, e, e0) * 8), a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + e + 1), _mm256_load_ps(xt + fc_col(row_ptr, col16, col32, e + 1, e0) * 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + e + 2), _mm256_load_ps(xt + fc_col(row_ptr, col16, col32, e + 2, e0) * 8), a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + e + 3), _mm256_load_ps(xt + fc_col(row_ptr, col16, col32, e + 3, e0) * 8), a3);
        }
        if (e < e1) a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + e), _mm256_load_ps(xt + fc_col(row_ptr, col16, col32, e, e0) * 8), a0);
        if (e + 1 < e1) a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + e + 1), _mm256_load_ps(xt + fc_col(row_ptr, col16, col32, e + 1, e0) * 8), a1);
        if (e + 2 < e1) a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + e + 2), _mm256_load_ps(xt + fc_col(row_ptr, col16, col32, e + 2, e0) * 8), a2);
        float out[8] __attribute__((aligned(32)));
        _mm256_store_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (int n = 0; n < nb; n++) y[n * ldy + i] = accumulate ? y[n * ldy + i] + out[n] : out[n];
    }
}
AVX2 static void fc_rows8_csr16(int i0, int i1, const int32_t *rp, const uint16_t *col, const float *v, const float *xt,
                                int nb, float *y, long ldy, int acc) { fc_rows8_body(i0, i1, rp, col, 0, v, 0, xt, nb, y, ldy, acc); }
AVX2 static void fc_rows8_csr32(int i0, int i1, const int32_t *rp, const int32_t *col, const float *v, const float *xt,
                                int nb, float *y, long ldy, int acc) { fc_rows8_body(i0, i1, rp, 0, col, v, 0, xt, nb, y, ldy, acc); }
AVX2 static void fc_rows8_dense(int i0, int i1, const float *v, int F, const float *xt, int nb, float *y, long ldy, int acc) {
    fc_rows8_body(i0, i1, 0, 0, 0, v, F, xt, nb, y, ldy, acc);
}
#endif

void wk_fc_rows8(int i0, int i1, const int32_t *row_ptr, const uint16_t *col16, const int32_t *col32,
                 const float *values, int F, const float *xt, int nb, float *y, long ldy, int accumulate) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wk_isa() >= 1) {
        if (!row_ptr) fc_rows8_dense(i0, i1, values, F, xt, nb, y, ldy, accumulate);
        else if (col16) fc_rows8_csr16(i0, i1, row_ptr, col16, values, xt, nb, y, ldy, accumulate);
        else fc_rows8_csr32(i0, i1, row_ptr, col32, values, xt, nb, y, ldy, accumulate);
        return;
    }
#endif
    fc_rows8_portable(i0, i1, row_ptr, col16, col32, values, F, xt, nb, y, ldy, accumulate);
}

// ---------------------------------------------------------------- strided copy (im2col rows)
// dst[j] = src[j * stride] for j < n. AVX2 for strides 2 and 4 (contiguous loads and lane
// shuffles, eight outputs per step); reads stay within src[0 .. (n - 1) * stride].
static void strided_portable(const float *src, int stride, int n, float *dst) {
    for (int j = 0; j < n; j++) dst[j] = src[(long)j * stride];
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
AVX2 static void strided_avx2(const float *src, int stride, int n, float *dst) {
    int j = 0;
    if (stride == 4) {
        const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (; j + 8 < n; j += 8) {   // reads src[4j .. 4j + 31], within 4 (n - 1)
            const float *p = src + (long)j * 4;
            __m256 ab = _mm256_unpacklo_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8));
            __m256 cd = _mm256_unpacklo_ps(_mm256_loadu_ps(p + 16), _mm256_loadu_ps(p + 24));
            _mm256_storeu_ps(dst + j, _mm256_permutevar8x32_ps(_mm256_shuffle_ps(ab, cd, 0x44), perm));
        }
    } else if (stride == 2) {
        const __m256i perm = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
        for (; j + 8 < n; j += 8) {   // reads src[2j .. 2j + 15], within 2 (n - 1)
            const float *p = src + (long)j * 2;
            __m256 even = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), 0x88);
            _mm256_storeu_ps(dst + j, _mm256_permutevar8x32_ps(even, perm));
        }
    }
    for (; j < n; j++) dst[j] = src[(long)j * stride];
}
#endif

void wk_strided_copy(const float *src, int stride, int n, float *dst) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wk_isa() >= 1 && (stride == 2 || stride == 4)) { strided_avx2(src, stride, n, dst); return; }
#endif
    strided_portable(src, stride, n, dst);
}

// ---------------------------------------------------------------- im2col slice
// col[d][q] for d = (c, r, s) over C x R x S and q < pn, the output pixels p0 + q in raster
// order over rows of OW: x[c][oy * sh + r - pt][ox * sw + s - pl], 0 outside the input.
// The pixels split into runs along output rows (computed once); each (d, run) is a zero
// prefix, a strided copy and a zero suffix.
void wk_im2col(const float *x, int C, int H, int W, int R, int S, int sh, int sw, int pt, int pl,
               int OW, int p0, int pn, float *col) {
    int run_oy[64], run_ox[64], run_q[64], run_n[64], runs = 0;
    for (int q = 0; q < pn;) {
        const int pix = p0 + q, oy = pix / OW, ox = pix % OW;
        const int n = OW - ox < pn - q ? OW - ox : pn - q;   // pn <= 64: at most 64 runs
        run_oy[runs] = oy; run_ox[runs] = ox; run_q[runs] = q; run_n[runs] = n;
        runs++;
        q += n;
    }
    for (int c = 0; c < C; c++) {
        const float *plane = x + (long)c * H * W;
        for (int r = 0; r < R; r++)
            for (int s = 0; s < S; s++) {
                float *dst = col + ((long)(c * R + r) * S + s) * pn;
                const int off = s - pl;
                // Output columns whose input column ox * sw + off lies in [0, W).
                const int loO = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int hiO = W - off <= 0 ? 0 : (W - off + sw - 1) / sw;
                if (hiO < loO) hiO = loO;
                for (int k = 0; k < runs; k++) {
                    float *out = dst + run_q[k];
                    const int n = run_n[k], ox0 = run_ox[k], iy = run_oy[k] * sh + r - pt;
                    if (iy < 0 || iy >= H) {
                        memset(out, 0, sizeof(float) * n);
                        continue;
                    }
                    int lo = loO - ox0, hi = hiO - ox0;
                    lo = lo < 0 ? 0 : (lo > n ? n : lo);
                    hi = hi > n ? n : hi;
                    if (hi < lo) hi = lo;
                    for (int j = 0; j < lo; j++) out[j] = 0;
                    const float *line = plane + (long)iy * W + off + (long)(ox0 + lo) * sw;
                    if (sw == 1) memcpy(out + lo, line, sizeof(float) * (hi - lo));
                    else if (hi > lo) wk_strided_copy(line, sw, hi - lo, out + lo);
                    for (int j = hi; j < n; j++) out[j] = 0;
                }
            }
    }
}
