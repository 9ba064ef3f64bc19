// Max pooling of one output row whose windows lie inside the input (no clipping):
//   out[j] = max over r < kh, k < kw of row0[r * w + x0 + j * sw + k],   j < n.
// Separable: column maxima over the kh rows first (contiguous, vectorised), then maxima over
// kw of them. Every maximum is taken as `next >= best ? next : best`, in the order of the
// window (rows, then columns): the same result, NaNs included, as the Swift loops it replaces.
// colmax needs (n - 1) * sw + kw + 16 floats.
#include "wino_kernels.h"

static void maxpool_row_portable(const float *row0, long w, int kh, int kw, int sw, int x0, int n,
                                 float *colmax, float *out) {
    const int span = (n - 1) * sw + kw;
    const float *base = row0 + x0;
    for (int i = 0; i < span; i++) {
        float best = base[i];
        for (int r = 1; r < kh; r++) {
            const float v = base[r * w + i];
            best = v >= best ? v : best;
        }
        colmax[i] = best;
    }
    for (int j = 0; j < n; j++) {
        const float *c = colmax + j * sw;
        float best = c[0];
        for (int k = 1; k < kw; k++) best = c[k] >= best ? c[k] : best;
        out[j] = best;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2"))) __m256 max_ge(__m256 best, __m256 next) {
    return _mm256_blendv_ps(best, next, _mm256_cmp_ps(next, best, _CMP_GE_OQ));
}

__attribute__((target("avx2,fma,bmi,bmi2")))
static void maxpool_row_avx2(const float *row0, long w, int kh, int kw, int sw, int x0, int n,
                             float *colmax, float *out) {
    const int span = (n - 1) * sw + kw;
    const float *base = row0 + x0;
    int i = 0;
    for (; i + 8 <= span; i += 8) {
        __m256 best = _mm256_loadu_ps(base + i);
        for (int r = 1; r < kh; r++) best = max_ge(best, _mm256_loadu_ps(base + r * w + i));
        _mm256_storeu_ps(colmax + i, best);
    }
    for (; i < span; i++) {
        float best = base[i];
        for (int r = 1; r < kh; r++) {
            const float v = base[r * w + i];
            best = v >= best ? v : best;
        }
        colmax[i] = best;
    }
    int j = 0;
    if (sw == 1) {
        for (; j + 8 <= n; j += 8) {
            __m256 best = _mm256_loadu_ps(colmax + j);
            for (int k = 1; k < kw; k++) best = max_ge(best, _mm256_loadu_ps(colmax + j + k));
            _mm256_storeu_ps(out + j, best);
        }
    } else if (sw == 2) {
        // Elements c[2 j + k] of 8 consecutive j: the even lanes of 16 floats at c + 2 j + k
        // (reads c[2 j + k + 15] at most: within the 16 spare floats of colmax).
        for (; j + 8 <= n; j += 8) {
            __m256 best = _mm256_setzero_ps();
            for (int k = 0; k < kw; k++) {
                const float *p = colmax + 2 * j + k;
                const __m256 even = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), 0x88);
                const __m256 v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
                best = k == 0 ? v : max_ge(best, v);
            }
            _mm256_storeu_ps(out + j, best);
        }
    }
    for (; j < n; j++) {
        const float *c = colmax + j * sw;
        float best = c[0];
        for (int k = 1; k < kw; k++) best = c[k] >= best ? c[k] : best;
        out[j] = best;
    }
}
#endif

void wk_maxpool_row(const float *row0, long w, int kh, int kw, int sw, int x0, int n, float *colmax, float *out) {
    if (n <= 0) return;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wk_isa() >= 1) { maxpool_row_avx2(row0, w, kh, kw, sw, x0, n, colmax, out); return; }
#endif
    maxpool_row_portable(row0, w, kh, kw, sw, x0, n, colmax, out);
}
