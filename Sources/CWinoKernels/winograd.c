// Sparse Winograd convolution micro-kernels.
//
// Legend: m output-tile edge, r kernel edge, a = alpha = m + r - 1, a2 = a * a,
// xi = i * a + j a Winograd position, C input channels (of the group), TB floats per V row
// (16, 32 or 64; one AVX-512 vector holds 16 tiles, one AVX2 vector 8), TBc <= TB tiles per
// block, t a tile index in raster order (ty = t / tilesW, tx = t % tilesW; with N > 1 images,
// tile t is tile t % T of image t / T).
//
// Memory layout of a block (V per thread, or shared by the threads; M per thread):
//   V[xi][c][TB]   input transform B^T d B of every channel of the block's tiles
//                  (consecutive xi slabs are C * TB + WK_PAD floats apart)
//   M[xi][kk][TBc] products for a chunk of up to KC out-channels
// Per chunk: for each xi (its V slab stays in cache), for each k of the chunk,
// M[xi][k] = sum_{e in row (xi, k)} w_e * V[xi][c_e]; then per k the output transform
// Y = A^T M A + bias (ReLU) is stored to the output plane. A row's entries are summed in
// a fixed order (interleaved partial sums, NV = TBc / vector width, added as a fixed tree),
// so results do not depend on the thread count. Column data: the channel in 8 bits when
// C <= 256 (scaled by TB here), else offsets c * TB in 16 or 32 bits. Dense weights run a
// register-blocked dense product instead (6 out-channels x 2 vectors).
// Input: tile groups lying inside one tile row are read with contiguous vector loads and
// lane shuffles (the next channels' rows prefetched); on small planes AVX2 copies the
// block's rows zero-padded to the stack and transposes 4-float loads, AVX-512 gathers.
// Output: row groups are stored with contiguous stores (the next channel's rows
// prefetched); others per tile (AVX2) or with masked scatters (AVX-512).
//
// Three implementations: AVX-512 and AVX2 (one width-generic body, winograd_simd.h,
// compiled with function-level target attributes and chosen at run time) and portable
// C. They may differ in the last bits; each is deterministic. The AVX-512 body lives in
// winograd_avx512.h, so that winograd_emu512.c can compile it for AVX2 too (wk_emulate_avx512:
// the tests run it on machines without AVX-512). Settings and helpers shared by the two
// translation units: winograd_internal.h.
#include "winograd_internal.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int wk_kchunk_limit = 0;

void wk_set_kchunk_cap(int cap) { wk_kchunk_limit = cap > 0 ? cap : 0; }

int wk_kchunk_cap(void) { return wk_kchunk_limit; }

static int wk_stacked_rows_max = 8;

void wk_set_stacked_rows(int rows) { wk_stacked_rows_max = rows > 1 ? rows : 1; }

int wk_stacked_rows(void) { return wk_stacked_rows_max; }

int wk_stream_setting = -1;

void wk_set_stream(int mode) { wk_stream_setting = mode < 0 ? -1 : (mode > 0); }

int wk_staging_mode = 2;

void wk_set_staging(int mode) { wk_staging_mode = mode; }

long wk_dense_index(int k, int c, int C, int kfull) {
    return k < kfull ? (long)(k / 6) * 6 * C + (long)c * 6 + k % 6 : (long)k * C + c;
}

long wk_wino_v_floats(const wk_wino_geom *g) {
    long a = var_a(g->variant), a2 = a * a;
    return a2 * ((long)g->C * g->TB + WK_PAD);
}

long wk_wino_scratch_floats(const wk_wino_geom *g) {
    long a = var_a(g->variant), a2 = a * a;
    return wk_wino_v_floats(g) + a2 * ((long)kchunk_full(g) * g->TB + WK_PAD) + 64;
}

// ---------------------------------------------------------------- dispatch
// AVX-512 is used where the CPU has it (verified with `wino-bench check` on a 16-core Xeon:
// every case within tolerance of the Double reference, bits equal for 1-16 threads).
// WINO_AVX512=0 in the environment caps the kernels at AVX2. wk_emulate_avx512(1) makes a CPU
// with AVX2 but not AVX-512 report AVX-512 and run its body compiled for AVX2 (winograd_emu512.c).
static int isa_limit = -1;
static int cpu_isa = -1;
static int emulate512 = 0;

void wk_limit_isa(int max_isa) { isa_limit = max_isa < 0 ? 0 : max_isa; }

void wk_reset_isa(void) { isa_limit = -1; }

void wk_emulate_avx512(int on) { emulate512 = on != 0; }

// The instruction set the CPU runs natively (detected once).
static int native_isa(void) {
    if (cpu_isa < 0) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
        __builtin_cpu_init();
        // The SIMD kernels also use BMI1/2 (shlx and friends: without them the variable shifts
        // of the product loop need CL and cost a register reload per entry); every AVX2 CPU
        // from Intel (Haswell on) and AMD (Excavator on) has them, and the check keeps it so.
        const int bmi = __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
        if (__builtin_cpu_supports("avx512f") && bmi) cpu_isa = 2;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && bmi) cpu_isa = 1;
        else cpu_isa = 0;
#else
        cpu_isa = 0;
#endif
    }
    return cpu_isa;
}

int wk_isa(void) {
    if (isa_limit < 0) {
        const char *opt = getenv("WINO_AVX512");
        isa_limit = (opt && opt[0] == '0') ? 1 : 2;
    }
    const int hw = native_isa() == 1 && emulate512 ? 2 : native_isa();
    return hw < isa_limit ? hw : isa_limit;
}

int wk_avx512_emulated(void) { return wk_isa() == 2 && native_isa() < 2; }

int wk_vector_width(void) {
    switch (wk_isa()) {
    case 2: return 16;
    case 1: return 8;
    default: return 1;
    }
}

static const char *isa_name(int isa) {
    switch (isa) {
    case 2: return native_isa() < 2 ? "AVX-512 (emulated with AVX2)" : "AVX-512";
    case 1: return "AVX2";
    default: return "portable";
    }
}

const char *wk_isa_name(void) { return isa_name(wk_isa()); }

// The instruction set for a call planned for vector width g->VWp: at most the one in use,
// and none wider than the plan (a block of 24 tiles planned for AVX2 has no whole AVX-512
// vectors; a plan for a wider set is also one for a narrower one).
static int isa_for(const wk_wino_geom *g) {
    int isa = wk_isa();
    if (g->VWp > 0 && isa == 2 && g->VWp % 16 != 0) isa = 1;
    if (g->VWp > 0 && isa == 1 && g->VWp % 8 != 0) isa = 0;
    return isa;
}

const char *wk_wino_isa_name(const wk_wino_geom *g) { return isa_name(isa_for(g)); }

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

// Offset c * TB of CSR entry e (column data by kind, see wk_wino_block).
static inline long col_at(const void *col_off, int col_kind, int e, int TB) {
    switch (col_kind) {
    case 1: return ((const uint16_t *)col_off)[e];
    case 2: return (long)((const uint8_t *)col_off)[e] * TB;
    default: return ((const int32_t *)col_off)[e];
    }
}

// V rows are C * TB + WK_PAD floats apart between positions, as in the SIMD kernels.
static void input_portable(const wk_wino_geom *g, const float *x, int t0, int tb, int c0, int c1, float *V) {
    const int v = g->variant, m = var_m(v), a = var_a(v), a2 = a * a, TB = g->TB;
    const long xistride = (long)g->C * TB + WK_PAD;
    const float *bt = wk_table(v, 0);
    float d[64], t[64], o[64];
    for (int c = c0; c < c1; c++) {
        for (int l = 0; l < g->TBc; l++) {
            const int tile = wk_lane_tile(g, t0, tb, l), n = tile / g->T, tl = tile % g->T;
            if (tile < 0) {
                for (int xi = 0; xi < a2; xi++) V[xi * xistride + (long)c * TB + l] = 0;
                continue;
            }
            const float *src = x + n * g->xImage + (long)c * g->H * g->W;
            const int iy0 = (tl / g->tilesW) * m - g->padT, ix0 = (tl % g->tilesW) * m - g->padL;
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++) {
                    int iy = iy0 + i, ix = ix0 + j;
                    d[i * a + j] = (iy >= 0 && iy < g->H && ix >= 0 && ix < g->W) ? src[(long)iy * g->W + ix] : 0;
                }
            for (int j = 0; j < a; j++) tr1d(bt, a, a, d + j, a, t + j, a);      // columns: t = B^T d
            for (int i = 0; i < a; i++) tr1d(bt, a, a, t + i * a, 1, o + i * a, 1); // rows: (B^T d) B
            for (int xi = 0; xi < a2; xi++) V[xi * xistride + (long)c * TB + l] = o[xi];
        }
    }
}

static void block_portable(const wk_wino_geom *g, const float *x, int t0, int tb,
                           const int32_t *row_ptr, const uint16_t *row_pos, const uint8_t *pos_dense,
                           const void *col_off, int col_kind,
                           const float *values,
                           int row_stride, int row_base, int k0, int k1,
                           const float *bias, int relu, float *y, float *V, float *M, int transform_input) {
    const int v = g->variant, m = var_m(v), a = var_a(v), a2 = a * a, TB = g->TB;
    const long xistride = (long)g->C * TB + WK_PAD;
    const float *at = wk_table(v, 1);
    float d[64], t[64], o[64];
    if (transform_input) input_portable(g, x, t0, tb, 0, g->C, V);
    const int kfull = dense_strip_rows(g);
    // Per chunk of out-channels: the products into M[xi][k - kc] (out-channel k's row at
    // position xi is stored at row row_pos[k][xi] of the group), then the output transform.
    const int KC = kchunk(g);
    for (int kc = k0; kc < k1; kc += KC) {
        const int kn = (k1 - kc) < KC ? (k1 - kc) : KC;
        for (int xi = 0; xi < a2; xi++)
            for (int k = kc; k < kc + kn; k++) {
                const long first = (long)row_stride * xi + row_base;
                const int pos = row_pos ? row_pos[(long)(row_base + k) * a2 + xi] : k;
                const float *Vx = V + xi * xistride;
                float *Mx = M + ((long)xi * kn + (k - kc)) * TB;
                for (int l = 0; l < tb; l++) Mx[l] = 0;
                if (pos == WK_EMPTY_ROW) continue;
                const long row = first + pos;
                if (g->dense || (pos_dense && pos_dense[xi])) {
                    // Dense rows: the group's packed segment (wk_dense_index), channels in order.
                    const float *seg = values + row_ptr[first];
                    for (int c = 0; c < g->C; c++) {
                        const float w = seg[wk_dense_index(pos, c, g->C, kfull)], *src = Vx + (long)c * TB;
                        for (int l = 0; l < tb; l++) Mx[l] += w * src[l];
                    }
                    continue;
                }
                for (int e = row_ptr[row]; e < row_ptr[row + 1]; e++) {
                    const float w = values[e], *src = Vx + col_at(col_off, col_kind, e, TB);
                    for (int l = 0; l < tb; l++) Mx[l] += w * src[l];
                }
            }
        for (int k = kc; k < kc + kn; k++) {
            float *dst = y + (long)k * g->OH * g->OW;
            for (int l = 0; l < tb; l++) {
                const int tile = wk_lane_tile(g, t0, tb, l), n = tile / g->T, tl = tile % g->T;
                if (tile < 0) continue;
                const int oy0 = (tl / g->tilesW) * m, ox0 = (tl % g->tilesW) * m;
                for (int xi = 0; xi < a2; xi++) d[xi] = M[((long)xi * kn + (k - kc)) * TB + l];
                for (int j = 0; j < a; j++) tr1d(at, m, a, d + j, a, t + j, a);        // columns: A^T M
                for (int i = 0; i < m; i++) tr1d(at, m, a, t + i * a, 1, o + i * m, 1); // rows
                for (int i = 0; i < m && oy0 + i < g->OH; i++)
                    for (int j = 0; j < m && ox0 + j < g->OW; j++) {
                        float val = o[i * m + j] + bias[k];
                        dst[n * g->yImage + (long)(oy0 + i) * g->OW + ox0 + j] = (relu && val < 0) ? 0 : val;
                    }
            }
        }
    }
}

// ---------------------------------------------------------------- SIMD
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define WK_X86 1

#include "winograd_avx512.h"

// AVX2 + FMA: 8 tiles per vector, masked gathers, scalar stores.
#define SFX avx2
#define VW 8
#define VT __m256
#define ATTR __attribute__((target("avx2,fma,bmi,bmi2")))
#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(x) _mm256_set1_ps(x)
#define V_LOAD(p) _mm256_load_ps(p)
#define V_STORE(p, v) _mm256_store_ps((p), (v))
#define V_STOREU(p, v) _mm256_storeu_ps((p), (v))
#define V_STREAM(p, v) _mm256_stream_ps((p), (v))
#define V_ADD _mm256_add_ps
#define V_SUB _mm256_sub_ps
#define V_MUL _mm256_mul_ps
#define V_MAX _mm256_max_ps
#define V_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define V_FNMA(a, b, c) _mm256_fnmadd_ps((a), (b), (c))

// Lane shuffles for contiguous access to rows of tiles (see the AVX-512 versions).
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
__m256 load_avx2(const float *p, int x, int W, int masked) {
    if (!masked) return _mm256_loadu_ps(p);
    const __m256i col = _mm256_add_epi32(_mm256_set1_epi32(x), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i ok = _mm256_and_si256(_mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1)),
                                        _mm256_cmpgt_epi32(_mm256_set1_epi32(W), col));
    return _mm256_maskload_ps(p, ok);
}
// deint_regs4: d[j][l] = element 4l + j of the 32 floats q[0..3] (8 lanes, j < 4).
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
void deint_regs4_avx2(const __m256 *q, __m256 *d) {
    __m256 t0 = _mm256_unpacklo_ps(q[0], q[1]), t1 = _mm256_unpackhi_ps(q[0], q[1]);
    __m256 t2 = _mm256_unpacklo_ps(q[2], q[3]), t3 = _mm256_unpackhi_ps(q[2], q[3]);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    d[0] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(t0, t2, 0x44), perm);
    d[1] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(t0, t2, 0xEE), perm);
    d[2] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(t1, t3, 0x44), perm);
    d[3] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(t1, t3, 0xEE), perm);
}
// deint_regs2: d[j][l] = element 2l + j of the 16 floats q[0..1] (j < 2).
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
void deint_regs2_avx2(const __m256 *q, __m256 *d) {
    const __m256i perm = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    d[0] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(q[0], q[1], 0x88), perm);
    d[1] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(q[0], q[1], 0xDD), perm);
}
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
void deint4_avx2(const float *p, int x, int W, int masked, __m256 *d) {
    const __m256 q[4] = {load_avx2(p, x, W, masked), load_avx2(p + 8, x + 8, W, masked),
                         load_avx2(p + 16, x + 16, W, masked), load_avx2(p + 24, x + 24, W, masked)};
    deint_regs4_avx2(q, d);
}
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
void deint2_avx2(const float *p, int x, int W, int masked, __m256 *d) {
    const __m256 q[2] = {load_avx2(p, x, W, masked), load_avx2(p + 8, x + 8, W, masked)};
    deint_regs2_avx2(q, d);
}
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
void inter4_avx2(const __m256 *y, __m256 *out) {
    __m256 a = _mm256_unpacklo_ps(y[0], y[1]), b = _mm256_unpacklo_ps(y[2], y[3]);
    __m256 c = _mm256_unpackhi_ps(y[0], y[1]), d = _mm256_unpackhi_ps(y[2], y[3]);
    __m256 e0 = _mm256_shuffle_ps(a, b, 0x44), e1 = _mm256_shuffle_ps(a, b, 0xEE);
    __m256 e2 = _mm256_shuffle_ps(c, d, 0x44), e3 = _mm256_shuffle_ps(c, d, 0xEE);
    out[0] = _mm256_permute2f128_ps(e0, e1, 0x20);
    out[1] = _mm256_permute2f128_ps(e2, e3, 0x20);
    out[2] = _mm256_permute2f128_ps(e0, e1, 0x31);
    out[3] = _mm256_permute2f128_ps(e2, e3, 0x31);
}
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
void inter2_avx2(const __m256 *y, __m256 *out) {
    __m256 lo = _mm256_unpacklo_ps(y[0], y[1]), hi = _mm256_unpackhi_ps(y[0], y[1]);
    out[0] = _mm256_permute2f128_ps(lo, hi, 0x20);
    out[1] = _mm256_permute2f128_ps(lo, hi, 0x31);
}
static inline __attribute__((always_inline, target("avx2,fma,bmi,bmi2")))
void store_part_avx2(float *p, __m256 v, int n) {
    // The first n (< 8) floats, with plain stores (AMD runs masked stores in microcode).
    __m128 q = _mm256_castps256_ps128(v);
    if (n >= 4) { _mm_storeu_ps(p, q); q = _mm256_extractf128_ps(v, 1); p += 4; n -= 4; }
    if (n >= 2) { _mm_storel_pi((__m64 *)p, q); q = _mm_movehl_ps(q, q); p += 2; n -= 2; }
    if (n == 1) _mm_store_ss(p, q);
}
#define GATHER(src, idx, ok)                                                                          \
    _mm256_mask_i32gather_ps(_mm256_setzero_ps(), (src), _mm256_load_si256((const __m256i *)(idx)),  \
                             _mm256_castsi256_ps(_mm256_load_si256((const __m256i *)(ok))), 4)
#define STORE_LANES(dst, idx, ok, v)                                                                  \
    do {                                                                                              \
        float lanes_[8] __attribute__((aligned(32)));                                                 \
        _mm256_store_ps(lanes_, (v));                                                                 \
        for (int l_ = 0; l_ < 8; l_++)                                                                \
            if ((ok)[l_]) (dst)[(idx)[l_]] = lanes_[l_];                                              \
    } while (0)
#include "winograd_simd.h"
#endif

void wk_wino_block(const wk_wino_geom *g, const float *x, int t0, int tb,
                   const int32_t *row_ptr, const uint16_t *row_pos, const uint8_t *pos_dense,
                   const uint8_t *live, const void *col_off, int col_kind,
                   const float *values,
                   int row_stride, int row_base, int k0, int k1,
                   const float *bias, int relu, float *y, float *V, float *M, int transform_input) {
#ifdef WK_X86
    switch (isa_for(g)) {
    case 2:
        if (native_isa() < 2) wk_emu512_block(g, x, t0, tb, row_ptr, row_pos, pos_dense, live, col_off, col_kind, values, row_stride, row_base, k0, k1, bias, relu, y, V, M, transform_input);
        else block_avx512(g, x, t0, tb, row_ptr, row_pos, pos_dense, live, col_off, col_kind, values, row_stride, row_base, k0, k1, bias, relu, y, V, M, transform_input);
        return;
    case 1:
        block_avx2(g, x, t0, tb, row_ptr, row_pos, pos_dense, live, col_off, col_kind, values, row_stride, row_base, k0, k1, bias, relu, y, V, M, transform_input);
        return;
    default: break;
    }
#endif
    block_portable(g, x, t0, tb, row_ptr, row_pos, pos_dense, col_off, col_kind, values, row_stride, row_base, k0, k1, bias, relu, y, V, M, transform_input);
}

void wk_wino_input(const wk_wino_geom *g, const uint8_t *live, const float *x, int t0, int tb, int c0, int c1, float *V) {
#ifdef WK_X86
    switch (isa_for(g)) {
    case 2:
        if (native_isa() < 2) wk_emu512_input(g, live, x, t0, tb, c0, c1, V);
        else input_avx512(g, x, t0, tb, c0, c1, V, live);
        return;
    case 1: input_avx2(g, x, t0, tb, c0, c1, V, live); return;
    default: break;
    }
#endif
    input_portable(g, x, t0, tb, c0, c1, V);
}

// ---------------------------------------------------------------- product ceiling
static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Products of one position are independent of each other's results, so repeated calls
// overlap in the out-of-order core exactly as a layer's consecutive rows do.
double wk_product_ceiling(int tiles, int channels, int row_len, int rows, int reps) {
    if ((tiles != 16 && tiles != 32 && tiles != 64) || channels < 1 || channels > 256 || row_len < 1 ||
        row_len > channels || rows < 1 || rows > 4096 || reps < 1)
        return -1;
#ifdef WK_X86
    const int isa = wk_isa();
    if (isa == 0) return -1;
    const int tbs = tiles == 64 ? 6 : (tiles == 32 ? 5 : 4);
    const long n = (long)rows * row_len;
    float *V = aligned_alloc(64, sizeof(float) * ((size_t)channels * tiles + 16));
    float *M = aligned_alloc(64, sizeof(float) * ((size_t)rows * tiles + 16));
    float *values = malloc(sizeof(float) * (size_t)n);
    uint8_t *cols = malloc((size_t)n);
    int32_t *row_ptr = malloc(sizeof(int32_t) * ((size_t)rows + 1));
    double best = -1;
    if (V && M && values && cols && row_ptr) {
        uint64_t s = 0x9E3779B97F4A7C15ull;
        for (long i = 0; i < (long)channels * tiles; i++) V[i] = (float)((i % 17) - 8) * 0.01f;
        for (int r = 0; r < rows; r++) {
            row_ptr[r] = (int32_t)((long)r * row_len);
            // row_len distinct channels in increasing order (selection sampling).
            long e = (long)r * row_len;
            int need = row_len;
            for (int c = 0; c < channels && need > 0; c++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                if ((s >> 33) % (uint64_t)(channels - c) < (uint64_t)need) {
                    cols[e] = (uint8_t)c;
                    values[e] = (float)((int)(s >> 40) % 200 - 100) * 0.001f;
                    e++;
                    need--;
                }
            }
        }
        row_ptr[rows] = (int32_t)n;
        // Each sample times 16 calls (a call of a few hundred entries is close to the clock's
        // resolution); the first sample warms the caches.
        for (int t = 0; t < reps + 1; t++) {
            const double t0 = seconds_now();
            for (int q = 0; q < 16; q++) {
                if (isa == 2 && native_isa() < 2) wk_emu512_products_8(V, tiles, tbs, channels, row_ptr, cols, values, rows, M);
                else if (isa == 2) products_8_avx512(V, 0, 1, tiles, tbs, channels, 0, 0, row_ptr, cols, values, rows, 0, 0, 0, rows, M);
                else products_8_avx2(V, 0, 1, tiles, tbs, channels, 0, 0, row_ptr, cols, values, rows, 0, 0, 0, rows, M);
            }
            const double dt = (seconds_now() - t0) / 16;
            if (t > 0 && (best < 0 || dt < best)) best = dt;
        }
        // A ceiling of wrong products would be meaningless: every row against a Double sum.
        for (int r = 0; r < rows && best > 0; r++)
            for (int l = 0; l < tiles; l++) {
                double want = 0, mag = 0;
                for (long e = row_ptr[r]; e < row_ptr[r + 1]; e++) {
                    const double term = (double)values[e] * V[(long)cols[e] * tiles + l];
                    want += term;
                    mag += term < 0 ? -term : term;
                }
                const double got = M[(long)r * tiles + l], err = got - want;
                if ((err < 0 ? -err : err) > 1e-5 * mag + 1e-30) best = -2;
            }
    }
    free(V); free(M); free(values); free(cols); free(row_ptr);
    return best;
#else
    (void)tiles; (void)channels; (void)row_len; (void)rows; (void)reps;
    return -1;
#endif
}
