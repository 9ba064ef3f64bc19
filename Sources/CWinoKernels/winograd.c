// Sparse Winograd convolution micro-kernels.
//
// Legend: m output-tile edge, r kernel edge, a = alpha = m + r - 1, a2 = a * a,
// xi = i * a + j a Winograd position, C input channels (of the group), TB tiles
// per block (16 or 32; one AVX-512 vector holds 16 tiles), t a tile index in
// raster order (ty = t / tilesW, tx = t % tilesW).
//
// Memory layout of a block (per thread scratch):
//   V[xi][c][TB]   input transform B^T d B of every channel, 16 tiles per vector
//   M[xi][TB]      products for one out-channel k (a2 * TB floats: stays in L1)
// Per out-channel k: M[xi] = sum_{e in row (xi, k)} w_e * V[xi][c_e], then
// Y = A^T M A + bias (ReLU), scattered to the output planes. The sum over a row's
// entries runs in a fixed order (4 partial sums by entry index mod 4, or 2 per
// vector when TB = 32), so results do not depend on the thread count.
//
// Two implementations: AVX-512 (function-level target attributes, chosen at run
// time) and portable C. They may differ in the last bits; each is deterministic.
#include "wino_kernels.h"
#include <string.h>

// ---------------------------------------------------------------- tables
// B^T and A^T of each variant (Docs/WINOGRAD.md); every entry is exact in float.
static const float BT2[16] = {
    1, 0, -1, 0,
    0, 1, 1, 0,
    0, -1, 1, 0,
    0, 1, 0, -1};
static const float AT2[8] = {
    1, 1, 1, 0,
    0, 1, -1, -1};
static const float BT4[36] = {
    4, 0, -5, 0, 1, 0,
    0, -4, -4, 1, 1, 0,
    0, 4, -4, -1, 1, 0,
    0, -2, -1, 2, 1, 0,
    0, 2, -1, -2, 1, 0,
    0, 4, 0, -5, 0, 1};
static const float AT4[24] = {
    1, 1, 1, 1, 1, 0,
    0, 1, -1, 2, -2, 0,
    0, 1, 1, 4, 4, 0,
    0, 1, -1, 8, -8, 1};
static const float BT5[64] = {
    -1, 0, 21.f / 4, 0, -21.f / 4, 0, 1, 0,
    0, 1, 1, -17.f / 4, -17.f / 4, 1, 1, 0,
    0, -1, 1, 17.f / 4, -17.f / 4, -1, 1, 0,
    0, 0.5f, 0.25f, -2.5f, -1.25f, 2, 1, 0,
    0, -0.5f, 0.25f, 2.5f, -1.25f, -2, 1, 0,
    0, 2, 4, -2.5f, -5, 0.5f, 1, 0,
    0, -2, 4, 2.5f, -5, -0.5f, 1, 0,
    0, -1, 0, 21.f / 4, 0, -21.f / 4, 0, 1};
static const float AT5[32] = {
    1, 1, 1, 1, 1, 1, 1, 0,
    0, 1, -1, 2, -2, 0.5f, -0.5f, 0,
    0, 1, 1, 4, 4, 0.25f, 0.25f, 0,
    0, 1, -1, 8, -8, 0.125f, -0.125f, 1};

const float *wk_table(int variant, int which) {
    switch (variant) {
    case 1: return which ? AT2 : BT2;
    case 2: return which ? AT4 : BT4;
    case 3: return which ? AT5 : BT5;
    default: return 0;
    }
}

static inline int var_m(int v) { return v == 1 ? 2 : 4; }
static inline int var_a(int v) { return v == 1 ? 4 : (v == 2 ? 6 : 8); }

long wk_wino_scratch_floats(const wk_wino_geom *g) {
    long a = var_a(g->variant), a2 = a * a;
    return a2 * (long)g->C * g->TB + a2 * (long)g->TB + 64;
}

// ---------------------------------------------------------------- dispatch
static int force_portable = 0;
static int cpu_avx512 = -1;

void wk_force_portable(int on) { force_portable = on; }

int wk_using_avx512(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (cpu_avx512 < 0) {
        __builtin_cpu_init();
        cpu_avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cpu_avx512 && !force_portable;
#else
    return 0;
#endif
}

// ---------------------------------------------------------------- portable
// Generic 1-D transform with a row-major (rows x a) matrix: out[i*os] = sum_k mat[i][k] in[k*is].
static void tr1d(const float *mat, int rows, int a, const float *in, int is, float *out, int os) {
    for (int i = 0; i < rows; i++) {
        float s = 0;
        for (int k = 0; k < a; k++) {
            float c = mat[i * a + k];
            if (c != 0) s += c * in[k * is];
        }
        out[i * os] = s;
    }
}

static void block_portable(const wk_wino_geom *g, const float *x, int t0,
                           const int32_t *row_ptr, const int32_t *col_off, const float *values,
                           int row_stride, int row_base, int k0, int k1,
                           const float *bias, int relu, float *y, float *scratch, int transform_input) {
    const int v = g->variant, m = var_m(v), a = var_a(v), a2 = a * a, C = g->C, TB = g->TB;
    const float *bt = wk_table(v, 0), *at = wk_table(v, 1);
    const int tb = (g->T - t0) < TB ? (g->T - t0) : TB;
    float *V = scratch, *M = scratch + (long)a2 * C * TB;
    float d[64], t[64], o[64];
    if (transform_input) {
        for (int c = 0; c < C; c++) {
            const float *src = x + (long)c * g->H * g->W;
            for (int l = 0; l < TB; l++) {
                if (l >= tb) {
                    for (int xi = 0; xi < a2; xi++) V[((long)xi * C + c) * TB + l] = 0;
                    continue;
                }
                int tile = t0 + l, iy0 = (tile / g->tilesW) * m - g->padT, ix0 = (tile % g->tilesW) * m - g->padL;
                for (int i = 0; i < a; i++)
                    for (int j = 0; j < a; j++) {
                        int iy = iy0 + i, ix = ix0 + j;
                        d[i * a + j] = (iy >= 0 && iy < g->H && ix >= 0 && ix < g->W) ? src[(long)iy * g->W + ix] : 0;
                    }
                for (int j = 0; j < a; j++) tr1d(bt, a, a, d + j, a, t + j, a);      // columns: t = B^T d
                for (int i = 0; i < a; i++) tr1d(bt, a, a, t + i * a, 1, o + i * a, 1); // rows: (B^T d) B
                for (int xi = 0; xi < a2; xi++) V[((long)xi * C + c) * TB + l] = o[xi];
            }
        }
    }
    for (int k = k0; k < k1; k++) {
        for (int xi = 0; xi < a2; xi++) {
            long row = (long)row_stride * xi + row_base + k;
            const float *Vx = V + (long)xi * C * TB;
            float *Mx = M + xi * TB;
            for (int l = 0; l < TB; l++) Mx[l] = 0;
            for (int e = row_ptr[row]; e < row_ptr[row + 1]; e++) {
                const float w = values[e], *src = Vx + col_off[e];
                for (int l = 0; l < TB; l++) Mx[l] += w * src[l];
            }
        }
        float *dst = y + (long)k * g->OH * g->OW;
        for (int l = 0; l < tb; l++) {
            int tile = t0 + l, oy0 = (tile / g->tilesW) * m, ox0 = (tile % g->tilesW) * m;
            for (int xi = 0; xi < a2; xi++) d[xi] = M[xi * TB + l];
            for (int j = 0; j < a; j++) tr1d(at, m, a, d + j, a, t + j, a);        // columns: A^T M
            for (int i = 0; i < m; i++) tr1d(at, m, a, t + i * a, 1, o + i * m, 1); // rows
            for (int i = 0; i < m && oy0 + i < g->OH; i++)
                for (int j = 0; j < m && ox0 + j < g->OW; j++) {
                    float val = o[i * m + j] + bias[k];
                    dst[(long)(oy0 + i) * g->OW + ox0 + j] = (relu && val < 0) ? 0 : val;
                }
        }
    }
}

// ---------------------------------------------------------------- AVX-512
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512dq,fma,avx2")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512dq,fma,avx2")))
typedef __m512 vf;

// 1-D transforms over vectors: in[k * is] -> out[i * os].
AVX512_INLINE void bt1d_2(const vf *d, int is, vf *v, int os) {
    vf d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is];
    v[0] = _mm512_sub_ps(d0, d2);
    v[os] = _mm512_add_ps(d1, d2);
    v[2 * os] = _mm512_sub_ps(d2, d1);
    v[3 * os] = _mm512_sub_ps(d1, d3);
}
AVX512_INLINE void at1d_2(const vf *m, int is, vf *y, int os) {
    vf m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is];
    y[0] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
    y[os] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
}
AVX512_INLINE void bt1d_4(const vf *d, int is, vf *v, int os) {
    vf d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is], d4 = d[4 * is], d5 = d[5 * is];
    const vf c4 = _mm512_set1_ps(4), c5 = _mm512_set1_ps(5), c2 = _mm512_set1_ps(2);
    v[0] = _mm512_add_ps(_mm512_fnmadd_ps(d2, c5, _mm512_mul_ps(d0, c4)), d4);        // 4d0 - 5d2 + d4
    v[os] = _mm512_fnmadd_ps(_mm512_add_ps(d1, d2), c4, _mm512_add_ps(d3, d4));      // -4(d1+d2) + d3+d4
    v[2 * os] = _mm512_fmadd_ps(_mm512_sub_ps(d1, d2), c4, _mm512_sub_ps(d4, d3));   // 4(d1-d2) + d4-d3
    vf t5 = _mm512_sub_ps(d3, d1), t6 = _mm512_sub_ps(d4, d2);
    v[3 * os] = _mm512_fmadd_ps(t5, c2, t6);                                         // 2(d3-d1) + d4-d2
    v[4 * os] = _mm512_fnmadd_ps(t5, c2, t6);                                        // 2(d1-d3) + d4-d2
    v[5 * os] = _mm512_add_ps(_mm512_fnmadd_ps(d3, c5, _mm512_mul_ps(d1, c4)), d5);  // 4d1 - 5d3 + d5
}
AVX512_INLINE void at1d_4(const vf *m, int is, vf *y, int os) {
    vf m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is], m4 = m[4 * is], m5 = m[5 * is];
    vf s12 = _mm512_add_ps(m1, m2), d12 = _mm512_sub_ps(m1, m2);
    vf s34 = _mm512_add_ps(m3, m4), d34 = _mm512_sub_ps(m3, m4);
    y[0] = _mm512_add_ps(_mm512_add_ps(m0, s12), s34);
    y[os] = _mm512_fmadd_ps(d34, _mm512_set1_ps(2), d12);
    y[2 * os] = _mm512_fmadd_ps(s34, _mm512_set1_ps(4), s12);
    y[3 * os] = _mm512_add_ps(_mm512_fmadd_ps(d34, _mm512_set1_ps(8), d12), m5);
}
// F(4x4,5x5): table driven; loops have constant bounds, so the compiler unrolls
// them and drops the zero coefficients.
AVX512_INLINE void bt1d_5(const vf *d, int is, vf *v, int os) {
    for (int i = 0; i < 8; i++) {
        vf s = _mm512_setzero_ps();
        for (int k = 0; k < 8; k++)
            if (BT5[i * 8 + k] != 0) s = _mm512_fmadd_ps(d[k * is], _mm512_set1_ps(BT5[i * 8 + k]), s);
        v[i * os] = s;
    }
}
AVX512_INLINE void at1d_5(const vf *m, int is, vf *y, int os) {
    for (int i = 0; i < 4; i++) {
        vf s = _mm512_setzero_ps();
        for (int k = 0; k < 8; k++)
            if (AT5[i * 8 + k] != 0) s = _mm512_fmadd_ps(m[k * is], _mm512_set1_ps(AT5[i * 8 + k]), s);
        y[i * os] = s;
    }
}

// 2-D input transform of a x a vectors d -> v (v[xi]); a and the 1-D kernels are constants after inlining.
#define DEFINE_TRANSFORMS(N, A, MM)                                                     \
    AVX512_INLINE void bt2d_##N(const vf *d, vf *v) {                                    \
        vf t[A * A];                                                                     \
        for (int j = 0; j < A; j++) bt1d_##N(d + j, A, t + j, A);                        \
        for (int i = 0; i < A; i++) bt1d_##N(t + i * A, 1, v + i * A, 1);                \
    }                                                                                    \
    AVX512_INLINE void at2d_##N(const vf *m, vf *y) {                                    \
        vf t[MM * A];                                                                    \
        for (int j = 0; j < A; j++) at1d_##N(m + j, A, t + j, A);                        \
        for (int i = 0; i < MM; i++) at1d_##N(t + i * A, 1, y + i * MM, 1);              \
    }
DEFINE_TRANSFORMS(2, 4, 2)
DEFINE_TRANSFORMS(4, 6, 4)
DEFINE_TRANSFORMS(5, 8, 4)

// Input transform of one 16-tile vector group for all channels.
// Lane l holds tile t0 + l; lanes >= live are zero.
#define DEFINE_INPUT(N, A, MM)                                                                       \
    AVX512 static void input_##N(const wk_wino_geom *g, const float *x, int t0, int live, float *V, int lane0) { \
        int iy0[16], ix0[16];                                                                        \
        for (int l = 0; l < 16; l++) {                                                               \
            int tile = t0 + (l < live ? l : 0);                                                      \
            iy0[l] = (tile / g->tilesW) * MM - g->padT;                                              \
            ix0[l] = (tile % g->tilesW) * MM - g->padL;                                              \
        }                                                                                            \
        const __m512i vy = _mm512_loadu_si512(iy0), vx = _mm512_loadu_si512(ix0);                    \
        const __mmask16 live_mask = (__mmask16)((1u << live) - 1u);                                  \
        __m512i idx[A * A];                                                                          \
        __mmask16 msk[A * A];                                                                        \
        const __m512i vH = _mm512_set1_epi32(g->H), vW = _mm512_set1_epi32(g->W);                    \
        for (int i = 0; i < A; i++) {                                                                \
            __m512i iy = _mm512_add_epi32(vy, _mm512_set1_epi32(i));                                 \
            __mmask16 my = live_mask & _mm512_cmpge_epi32_mask(iy, _mm512_setzero_si512())           \
                           & _mm512_cmplt_epi32_mask(iy, vH);                                        \
            __m512i rowoff = _mm512_mullo_epi32(iy, vW);                                             \
            for (int j = 0; j < A; j++) {                                                            \
                __m512i ix = _mm512_add_epi32(vx, _mm512_set1_epi32(j));                             \
                msk[i * A + j] = my & _mm512_cmpge_epi32_mask(ix, _mm512_setzero_si512())            \
                                 & _mm512_cmplt_epi32_mask(ix, vW);                                  \
                idx[i * A + j] = _mm512_add_epi32(rowoff, ix);                                       \
            }                                                                                        \
        }                                                                                            \
        const long plane = (long)g->H * g->W, cstride = g->TB, xistride = (long)g->C * g->TB;        \
        for (int c = 0; c < g->C; c++) {                                                             \
            const float *src = x + c * plane;                                                        \
            vf d[A * A], v[A * A];                                                                   \
            for (int e = 0; e < A * A; e++)                                                          \
                d[e] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), msk[e], idx[e], src, 4);        \
            bt2d_##N(d, v);                                                                          \
            float *dst = V + c * cstride + lane0;                                                    \
            for (int e = 0; e < A * A; e++) _mm512_store_ps(dst + e * xistride, v[e]);               \
        }                                                                                            \
    }
DEFINE_INPUT(2, 4, 2)
DEFINE_INPUT(4, 6, 4)
DEFINE_INPUT(5, 8, 4)

// Output transform of one 16-tile vector group for out-channel k: M -> y plane.
#define DEFINE_OUTPUT(N, A, MM)                                                                      \
    AVX512 static void output_##N(const wk_wino_geom *g, const float *M, int lane0, int t0, int live, \
                                  float b, int relu, float *dst) {                                   \
        int oy0[16], ox0[16];                                                                        \
        for (int l = 0; l < 16; l++) {                                                               \
            int tile = t0 + (l < live ? l : 0);                                                      \
            oy0[l] = (tile / g->tilesW) * MM;                                                        \
            ox0[l] = (tile % g->tilesW) * MM;                                                        \
        }                                                                                            \
        const __m512i vy = _mm512_loadu_si512(oy0), vx = _mm512_loadu_si512(ox0);                    \
        const __mmask16 live_mask = (__mmask16)((1u << live) - 1u);                                  \
        const __m512i vH = _mm512_set1_epi32(g->OH), vW = _mm512_set1_epi32(g->OW);                  \
        vf m[A * A], yv[MM * MM];                                                                    \
        for (int e = 0; e < A * A; e++) m[e] = _mm512_load_ps(M + e * g->TB + lane0);                \
        at2d_##N(m, yv);                                                                             \
        const vf vb = _mm512_set1_ps(b), zero = _mm512_setzero_ps();                                 \
        for (int i = 0; i < MM; i++) {                                                               \
            __m512i oy = _mm512_add_epi32(vy, _mm512_set1_epi32(i));                                 \
            __mmask16 my = live_mask & _mm512_cmplt_epi32_mask(oy, vH);                              \
            __m512i rowoff = _mm512_mullo_epi32(oy, vW);                                             \
            for (int j = 0; j < MM; j++) {                                                           \
                __m512i ox = _mm512_add_epi32(vx, _mm512_set1_epi32(j));                             \
                __mmask16 mk = my & _mm512_cmplt_epi32_mask(ox, vW);                                 \
                vf val = _mm512_add_ps(yv[i * MM + j], vb);                                          \
                if (relu) val = _mm512_max_ps(val, zero);                                            \
                _mm512_mask_i32scatter_ps(dst, mk, _mm512_add_epi32(rowoff, ox), val, 4);            \
            }                                                                                        \
        }                                                                                            \
    }
DEFINE_OUTPUT(2, 4, 2)
DEFINE_OUTPUT(4, 6, 4)
DEFINE_OUTPUT(5, 8, 4)

// M[xi][0..TB) = sum over row (xi, k) of w * V[xi][c] for every xi.
AVX512 static void products(const float *V, long xistride, int a2, int TB,
                            const int32_t *row_ptr, const int32_t *col_off, const float *values,
                            long row_stride, long row, float *M) {
    for (int xi = 0; xi < a2; xi++, row += row_stride) {
        const float *Vx = V + xi * xistride;
        int e = row_ptr[row];
        const int e1 = row_ptr[row + 1];
        if (TB == 16) {
            vf s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (; e + 4 <= e1; e += 4) {
                s0 = _mm512_fmadd_ps(_mm512_set1_ps(values[e]), _mm512_load_ps(Vx + col_off[e]), s0);
                s1 = _mm512_fmadd_ps(_mm512_set1_ps(values[e + 1]), _mm512_load_ps(Vx + col_off[e + 1]), s1);
                s2 = _mm512_fmadd_ps(_mm512_set1_ps(values[e + 2]), _mm512_load_ps(Vx + col_off[e + 2]), s2);
                s3 = _mm512_fmadd_ps(_mm512_set1_ps(values[e + 3]), _mm512_load_ps(Vx + col_off[e + 3]), s3);
            }
            for (; e < e1; e++)
                s0 = _mm512_fmadd_ps(_mm512_set1_ps(values[e]), _mm512_load_ps(Vx + col_off[e]), s0);
            _mm512_store_ps(M + xi * 16, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
        } else { // TB == 32
            vf a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
            for (; e + 2 <= e1; e += 2) {
                const float *p = Vx + col_off[e], *q = Vx + col_off[e + 1];
                const vf w = _mm512_set1_ps(values[e]), u = _mm512_set1_ps(values[e + 1]);
                a0 = _mm512_fmadd_ps(w, _mm512_load_ps(p), a0);
                a1 = _mm512_fmadd_ps(w, _mm512_load_ps(p + 16), a1);
                b0 = _mm512_fmadd_ps(u, _mm512_load_ps(q), b0);
                b1 = _mm512_fmadd_ps(u, _mm512_load_ps(q + 16), b1);
            }
            if (e < e1) {
                const float *p = Vx + col_off[e];
                const vf w = _mm512_set1_ps(values[e]);
                a0 = _mm512_fmadd_ps(w, _mm512_load_ps(p), a0);
                a1 = _mm512_fmadd_ps(w, _mm512_load_ps(p + 16), a1);
            }
            _mm512_store_ps(M + xi * 32, _mm512_add_ps(a0, b0));
            _mm512_store_ps(M + xi * 32 + 16, _mm512_add_ps(a1, b1));
        }
    }
}

AVX512 static void block_avx512(const wk_wino_geom *g, const float *x, int t0,
                                const int32_t *row_ptr, const int32_t *col_off, const float *values,
                                int row_stride, int row_base, int k0, int k1,
                                const float *bias, int relu, float *y, float *scratch, int transform_input) {
    const int v = g->variant, a = var_a(v), a2 = a * a, TB = g->TB;
    const int tb = (g->T - t0) < TB ? (g->T - t0) : TB;
    float *V = scratch, *M = scratch + (long)a2 * g->C * TB;
    const long xistride = (long)g->C * TB, plane = (long)g->OH * g->OW;
    if (transform_input) {
        for (int lane0 = 0; lane0 < TB; lane0 += 16) {
            int live = tb - lane0;
            live = live < 0 ? 0 : (live > 16 ? 16 : live);
            if (v == 1) input_2(g, x, t0 + lane0, live, V, lane0);
            else if (v == 2) input_4(g, x, t0 + lane0, live, V, lane0);
            else input_5(g, x, t0 + lane0, live, V, lane0);
        }
    }
    for (int k = k0; k < k1; k++) {
        products(V, xistride, a2, TB, row_ptr, col_off, values, row_stride, (long)row_base + k, M);
        for (int lane0 = 0; lane0 < tb; lane0 += 16) {
            int live = tb - lane0 > 16 ? 16 : tb - lane0;
            float *dst = y + k * plane;
            if (v == 1) output_2(g, M, lane0, t0 + lane0, live, bias[k], relu, dst);
            else if (v == 2) output_4(g, M, lane0, t0 + lane0, live, bias[k], relu, dst);
            else output_5(g, M, lane0, t0 + lane0, live, bias[k], relu, dst);
        }
    }
}
#endif

void wk_wino_block(const wk_wino_geom *g, const float *x, int t0,
                   const int32_t *row_ptr, const int32_t *col_off, const float *values,
                   int row_stride, int row_base, int k0, int k1,
                   const float *bias, int relu, float *y, float *scratch, int transform_input) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wk_using_avx512()) {
        block_avx512(g, x, t0, row_ptr, col_off, values, row_stride, row_base, k0, k1, bias, relu, y, scratch, transform_input);
        return;
    }
#endif
    block_portable(g, x, t0, row_ptr, col_off, values, row_stride, row_base, k0, k1, bias, relu, y, scratch, transform_input);
}
