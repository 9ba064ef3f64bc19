// Declarations shared by the translation units of the Winograd kernels (winograd.c, and
// winograd_emu512.c, which compiles the AVX-512 body for AVX2 machines): the kernels' test
// settings and small helpers. Not part of the library's interface.
#ifndef WINOGRAD_INTERNAL_H
#define WINOGRAD_INTERNAL_H
#include "wino_kernels.h"

#define WK_HIDDEN __attribute__((visibility("hidden")))

// Out-channels whose products are computed together, position by position: the caller's
// g->KC (M holds a2 * KC * TB floats), 32 when it sets none; tests may cap it lower
// (wk_set_kchunk_cap: wk_kchunk_limit) to run chunk loops with tails on small layers.
WK_HIDDEN extern int wk_kchunk_limit;

// Tests force non-temporal output stores on small layers (or off) with wk_set_stream:
// -1 the layer's own setting (g->stream), else 0 or 1.
WK_HIDDEN extern int wk_stream_setting;

// AVX2 reads small planes (raster blocks) with masked 4-float loads (2, the default; or
// staged copies, 1, where those do not apply) instead of gathering, and stores their tiles
// row by row instead of lane by lane; tests select each input path (wk_set_staging), and 0
// runs the gather and per-lane paths, whose index logic AVX-512 uses, on AVX2 machines too.
WK_HIDDEN extern int wk_staging_mode;

static inline int kchunk_full(const wk_wino_geom *g) { return g->KC > 0 ? g->KC : 32; }

// Chunks start at window boundaries (rows are permuted within windows of KW out-channels):
// a cap rounds down to a multiple of KW, and to at least one window.
static inline int kchunk(const wk_wino_geom *g) {
    const int kc = kchunk_full(g), kw = g->KW > 0 ? g->KW : 1;
    if (wk_kchunk_limit <= 0 || wk_kchunk_limit >= kc) return kc;
    return wk_kchunk_limit < kw ? kw : wk_kchunk_limit / kw * kw;
}
// Floats added to the stride between Winograd positions in V and M. Without it the
// alpha^2 slabs sit a multiple of 4 KiB apart, all map to the same L1 set and evict
// each other (measured: transforms 5x slower).
#define WK_PAD 16
// Channels ahead whose input patch the input transform prefetches.
#define WK_PF_DIST 4

// Lanes of a block: tb lanes from tile t0, one tile after the other, or with g->rowLanes
// stacked tile rows (see wk_wino_geom.rowLanes). The tile of lane l, or -1 for a dead lane.
static inline int wk_lane_tile(const wk_wino_geom *g, int t0, int tb, int l) {
    if (l >= tb) return -1;
    if (g->rowLanes <= 0) return t0 + l;
    const int col = l % g->rowLanes;
    return col < g->tilesW ? t0 + (l / g->rowLanes) * g->tilesW + col : -1;
}
// The live lanes among l0 ..< l0 + n, which lie in one stacked row (n divides rowLanes): they
// are a prefix, of consecutive tiles from *first (when there are none: t0 + l0, or t0 in
// stacked rows).
static inline int wk_lane_run(const wk_wino_geom *g, int t0, int tb, int l0, int n, int *first) {
    int live = tb - l0;
    live = live < 0 ? 0 : (live > n ? n : live);
    *first = t0 + l0;
    if (g->rowLanes > 0) {
        const int col = l0 % g->rowLanes, left = g->tilesW - col;
        live = live < left ? live : (left < 0 ? 0 : left);
        *first = live > 0 ? t0 + (l0 / g->rowLanes) * g->tilesW + col : t0;
    }
    return live;
}

static inline int var_m(int v) { return v == 1 ? 2 : 4; }
static inline int var_a(int v) { return v == 1 ? 4 : (v == 2 ? 6 : 8); }
// Rows of a group's dense segment held in 6-row strips (see wk_dense_index).
static inline int dense_strip_rows(const wk_wino_geom *g) { return g->KG / 6 * 6; }

// The AVX-512 body compiled for AVX2 (winograd_emu512.c), run where wk_emulate_avx512 asks
// for it on a CPU without AVX-512.
WK_HIDDEN void wk_emu512_block(const wk_wino_geom *g, const float *x, int t0, int tb,
                               const int32_t *row_ptr, const uint16_t *row_pos, const uint8_t *pos_dense,
                               const uint8_t *live, const void *col_off, int col_kind, const float *values,
                               int row_stride, int row_base, int k0, int k1,
                               const float *bias, int relu, float *y, float *V, float *M, int transform_input);
WK_HIDDEN void wk_emu512_input(const wk_wino_geom *g, const uint8_t *live, const float *x, int t0, int tb,
                               int c0, int c1, float *V);
WK_HIDDEN void wk_emu512_products_8(const float *V, int tiles, int tbs, int channels, const int32_t *row_ptr,
                                    const uint8_t *cols, const float *values, int rows, float *M);

#endif
