// Local response normalisation across channels for a run of pixels:
//   y[c][q] = x[c][q] / (bias + scale * sum_{c' in window(c)} x[c'][q]^2)^beta
// with window(c) = [c - before, c + after] clipped to [0, C). Each window sum is recomputed
// in channel order (no running sums), so results do not depend on how pixels are split.
// beta = 0.75 (AlexNet) uses two square roots instead of pow.
#include "wino_kernels.h"
#include <math.h>

static void lrn_portable(int C, int c0, int c1, long stride, int n, const float *x, float *y, long ystride,
                         int before, int after, float scale, float bias, float beta) {
    for (int c = c0; c < c1; c++) {
        const int lo = c - before < 0 ? 0 : c - before, hi = c + after >= C ? C - 1 : c + after;
        for (int q = 0; q < n; q++) {
            float s = 0;
            for (int cc = lo; cc <= hi; cc++) { const float v = x[cc * stride + q]; s += v * v; }
            const float d = bias + scale * s;
            y[(c - c0) * ystride + q] = x[c * stride + q] / (beta == 0.75f ? sqrtf(d) * sqrtf(sqrtf(d)) : powf(d, beta));
        }
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
__attribute__((target("avx2,fma,bmi,bmi2")))
static void lrn_avx2(int C, int c0, int c1, long stride, int n, const float *x, float *y, long ystride,
                     int before, int after, float scale, float bias, float beta) {
    const __m256 vs = _mm256_set1_ps(scale), vb = _mm256_set1_ps(bias);
    const int full = beta == 0.75f ? n / 8 * 8 : 0;
    // Channel by channel, each over the whole run: every plane is read as one contiguous
    // stream (the hardware prefetcher follows it), not 8 pixels at a time across all planes.
    for (int c = c0; c < c1; c++) {
        const int lo = c - before < 0 ? 0 : c - before, hi = c + after >= C ? C - 1 : c + after;
        for (int q = 0; q < full; q += 8) {
            __m256 s = _mm256_setzero_ps();
            for (int cc = lo; cc <= hi; cc++) {
                const __m256 v = _mm256_loadu_ps(x + cc * stride + q);
                s = _mm256_add_ps(s, _mm256_mul_ps(v, v));
            }
            const __m256 d = _mm256_add_ps(vb, _mm256_mul_ps(vs, s));
            const __m256 r = _mm256_sqrt_ps(d);
            _mm256_storeu_ps(y + (c - c0) * ystride + q, _mm256_div_ps(_mm256_loadu_ps(x + c * stride + q),
                                                               _mm256_mul_ps(r, _mm256_sqrt_ps(r))));
        }
    }
    if (full < n) lrn_portable(C, c0, c1, stride, n - full, x + full, y + full, ystride, before, after, scale, bias, beta);
}
#endif

void wk_lrn(int C, int c0, int c1, long stride, int n, const float *x, float *y, long ystride, int before, int after,
            float scale, float bias, float beta) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wk_isa() >= 1) { lrn_avx2(C, c0, c1, stride, n, x, y, ystride, before, after, scale, bias, beta); return; }
#endif
    lrn_portable(C, c0, c1, stride, n, x, y, ystride, before, after, scale, bias, beta);
}
