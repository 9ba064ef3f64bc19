// kernel_ab: paired A/B timing of two Winograd layer configurations, alternated call by call
// in one process, so that both see the same machine noise. (Separate processes here run at
// speeds that differ by tens of percent; ratios of medians taken minutes apart flip.)
//
// Build: make kernel-ab (writes .build/kernel_ab). Usage:
//   kernel_ab LAYER BATCH THREADS REPS CONFIG_A CONFIG_B [dense]
// LAYER: alexnet.conv2 .. alexnet.conv5, vgg16.conv1_2 .. vgg16.conv5_1 (as in wino-bench), and
// alexnet.conv1s2d (AlexNet conv1 as the planner runs it: 48 space-to-depth channels, 3x3).
// CONFIG: comma-separated settings, any of
//   v=KiB    V limit for choosing TB (default 1280: the engine's 2.5 x L2 here)
//   m=KiB    M limit for the product chunk KC (default 1024, as WinogradConvLayer.mLimit)
//   kc=N     product chunk KC (default: from m, as WinogradConvLayer.productChunk)
//   split=0  the out-channel split before stop 11 (4 x threads items, chunks rounded to 32);
//   split=1  (default) the current split (threads / gcd(blocks, threads) chunks)
//   sort=0   CSR rows in out-channel order (before stop 12); sort=1: each position's rows
//            shortest first within windows of out-channels (WinogradConvLayer.sortWindow /
//            sortedRows); default, as the engine: sorted where rows average >= 8 entries
//   dpos=P   positions at least P% dense stored and multiplied dense (default 80, as the
//            engine; 101: none)
//   nt=0|1   plain or non-temporal output stores (default, as the engine: non-temporal for
//            outputs of 8 MiB or more, where rows are whole cache lines)
//   xoff=N   the input starts N floats after a 64-byte boundary (a Swift array's elements
//            start 32 bytes into its 16-byte aligned heap object)
//   live=0   V stored for every position (before stop 13: also for those where no row of the
//            group has an entry)
//   skip=0   empty rows not marked in row_pos (before stop 13: their products computed)
//   pack=0   dense rows (dense weights, dense positions) stored row by row (before stop 15)
//            instead of packed in 6-row strips (wk_dense_index)
//   stage=N  AVX2 small planes (raster blocks): 2 (default, as the engine) direct masked loads
//            where they apply, else staged; 1 staged (before stop 15); 0 gathers
//   compact=0 blocks narrower than TB keep the layer's V row length TB (before stop 16)
//            instead of the shortest of 16, 32, 64 that holds them (8-bit channel indices
//            and dense weights only), with the chunk KC scaled up by the same factor
//   stack=R  at most R tile rows per block (default 8, as the engine; 1: one tile row, before
//            stop 18), each in tilesW rounded up to 8 lanes (wk_wino_geom.rowLanes), 64 lanes at most;
//            sparse weights only, as the engine; rows of 7 tiles stack too (else raster blocks)
//   dstack=1 stack tile rows with dense weights too (the engine does not: measured 1.02-1.10x
//            slower on alexnet.conv1s2d, 1.12-1.20x on VGG16 conv2_1 and conv3_1)
//   scan=1   each call starts with the engine's non-finite input check (Model.run), split
//            over the threads
// READ=1 in the environment: each call is followed by a one-thread read of the output (one
// float per cache line), as the next layer would read it.
// The work items, block widths and scratch mirror WinogradConvLayer.compute, planned for AVX2
// (8-tile vectors: VWp 8, so AVX-512 CPUs run the AVX2 kernels here). Weights, the
// same for both configurations: as wino-bench's, random spatial filters transformed to the
// Winograd domain (G g G^T) and magnitude-pruned to 10% over the layer, so that positions
// keep very different densities; with uniform=1 in a configuration, uniform random CSR
// at 10% density; with the `dense` argument, dense.
// Prints the median time of each and the median (and quartiles) of the paired ratios B / A.
#include "wino_kernels.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static unsigned long long rs = 88172645463325252ULL;
static unsigned rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (unsigned)rs; }
// V row length (floats) of a block of n lanes: 16, 32 or 64.
static int ROWF(int n) { return n <= 16 ? 16 : (n <= 32 ? 32 : 64); }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static int cmpf_desc(const void *a, const void *b) { float x = *(const float *)a, y = *(const float *)b; return x > y ? -1 : x < y; }


static const struct { const char *name; int C, K, H, G, variant; } layers[] = {
    {"alexnet.conv2", 96, 256, 27, 2, 3}, {"alexnet.conv3", 256, 384, 13, 1, 2},
    {"alexnet.conv4", 384, 384, 13, 2, 2}, {"alexnet.conv5", 384, 256, 13, 2, 2},
    {"vgg16.conv1_2", 64, 64, 224, 1, 2}, {"vgg16.conv2_1", 64, 128, 112, 1, 2},
    {"vgg16.conv3_1", 128, 256, 56, 1, 2}, {"vgg16.conv4_1", 256, 512, 28, 1, 2},
    {"vgg16.conv5_1", 512, 512, 14, 1, 2},
    {"alexnet.conv1s2d", 48, 96, 56, 1, 2},   /* conv1 as the planner runs it: space-to-depth, 3x3 (padded: 56 out, not 54) */
};

static int C, K, H, N, G, variant, pad, Cg, Kg, a2, tilesW, T, nth, dense;
static long xImage, yImage;
static float *x, *y, *bias;

// G of F(4x4,3x3) (6 x 3) and F(4x4,5x5) (8 x 5), as in WinogradMatrices.swift.
static const double G4[18] = {1. / 4, 0, 0, -1. / 6, -1. / 6, -1. / 6, -1. / 6, 1. / 6, -1. / 6,
                              1. / 24, 1. / 12, 1. / 6, 1. / 24, -1. / 12, 1. / 6, 0, 0, 1};
static const double G5[40] = {-1, 0, 0, 0, 0, -2. / 9, -2. / 9, -2. / 9, -2. / 9, -2. / 9,
                              -2. / 9, 2. / 9, -2. / 9, 2. / 9, -2. / 9, 1. / 90, 1. / 45, 2. / 45, 4. / 45, 8. / 45,
                              1. / 90, -1. / 45, 2. / 45, -4. / 45, 8. / 45, 32. / 45, 16. / 45, 8. / 45, 4. / 45, 2. / 45,
                              32. / 45, -16. / 45, 8. / 45, -4. / 45, 2. / 45, 0, 0, 0, 0, 1};
// U[xi][k][c] = (G g G^T)[xi] of random filters g, entries below the 10% magnitude cut zeroed.
static float *pruned_winograd(int a, int r) {
    const double *Gm = r == 3 ? G4 : G5;
    const long n = (long)a * a * K * Cg;
    float *u = malloc(4 * n), *mag = malloc(4 * n);
    double g[25], t[40];
    for (int k = 0; k < K; k++)
        for (int c = 0; c < Cg; c++) {
            for (int q = 0; q < r * r; q++) g[q] = (rnd() % 2001) / 1000.0 - 1;
            for (int i = 0; i < a; i++)            // t = G g (a x r)
                for (int j = 0; j < r; j++) {
                    double s = 0;
                    for (int q = 0; q < r; q++) s += Gm[i * r + q] * g[q * r + j];
                    t[i * r + j] = s;
                }
            for (int i = 0; i < a; i++)            // u = t G^T (a x a)
                for (int j = 0; j < a; j++) {
                    double s = 0;
                    for (int q = 0; q < r; q++) s += t[i * r + q] * Gm[j * r + q];
                    u[(((long)(i * a + j)) * K + k) * Cg + c] = (float)s;
                }
        }
    for (long i = 0; i < n; i++) mag[i] = u[i] < 0 ? -u[i] : u[i];
    qsort(mag, n, 4, cmpf_desc);
    const float cut = mag[n / 10 - 1];
    long kept = 0;
    for (long i = 0; i < n; i++) {
        if ((u[i] < 0 ? -u[i] : u[i]) >= cut && kept < n / 10) kept++;
        else u[i] = 0;
    }
    free(mag);
    return u;
}
static float *pattern;   // the pruned weights (built once)
typedef struct {
    int tb, TB, units, unitTiles, perRow, blocks, rowBlocks, rows, lanes, KC, perChunk, kchunks, items, sharedV, base, colKind, KW, scan, xoff, stage, compact;
    uint16_t *rk;
    uint8_t *pd, *live;
    wk_wino_geom g;
    int32_t *rp;
    void *cp;
    float *val;
    long vF;
} config;
static config cf[2], *cur;
static float *S[64];

static void block(const config *c, int b, int *t0, int *cnt) {
    if (c->rowBlocks && c->rows > 1) {
        // The image's tile rows spread evenly over its blocks (sizes differ by at most one row).
        const int tilesH = T / tilesW, nb = c->blocks, ty0 = b * tilesH / nb, n = (b + 1) * tilesH / nb - ty0;
        *t0 = ty0 * tilesW;
        *cnt = (n - 1) * c->lanes + tilesW;
    } else if (c->rowBlocks) {
        int tx = (b % c->perRow) * c->tb;
        *t0 = (b / c->perRow) * tilesW + tx;
        *cnt = tilesW - tx < c->tb ? tilesW - tx : c->tb;
    } else {
        *t0 = b * c->TB;
        *cnt = c->unitTiles - b * c->TB < c->TB ? c->unitTiles - b * c->TB : c->TB;
    }
}
static wk_wino_geom block_geom(const config *c, int cnt) {
    wk_wino_geom gb = c->g;
    if (cnt < c->TB) gb.TBc = (cnt + 7) / 8 * 8;
    // Narrow blocks: V rows as long as the block needs, and the chunk scaled up to fill the
    // same M (WinogradConvLayer.blockGeom).
    if (c->compact && (c->colKind == 2 || gb.dense)) {
        int tbn = 16;
        while (tbn < gb.TBc) tbn *= 2;
        if (tbn < gb.TB) { gb.KC *= gb.TB / tbn; gb.TB = tbn; }
    }
    return gb;
}
static void shared_input(int th) {
    const config *c = cur;
    int n = c->base * nth, lo = n * th / nth, hi = n * (th + 1) / nth;
    for (int it = lo; it < hi; it++) {
        int key = it / nth, part = it % nth, u = key / (G * c->blocks), gg = (key / c->blocks) % G, t0, cnt;
        block(c, key % c->blocks, &t0, &cnt);
        wk_wino_geom gb = block_geom(c, cnt);
        wk_wino_input(&gb, c->live ? c->live + gg * a2 : 0, x + c->xoff + ((long)u * C + gg * Cg) * H * H, t0, cnt, Cg * part / nth, Cg * (part + 1) / nth, S[key]);
    }
}
static void items(int th) {
    const config *c = cur;
    int lo = c->items * th / nth, hi = c->items * (th + 1) / nth, held = -1;
    for (int it = lo; it < hi; it++) {
        int key = it / c->kchunks, ch = it % c->kchunks, u = key / (G * c->blocks), gg = (key / c->blocks) % G, t0, cnt;
        int k0 = ch * c->perChunk, k1 = (ch + 1) * c->perChunk < Kg ? (ch + 1) * c->perChunk : Kg;
        int fresh = c->sharedV ? 0 : held != key;
        held = key;
        block(c, key % c->blocks, &t0, &cnt);
        wk_wino_geom gb = block_geom(c, cnt);
        wk_wino_block(&gb, x + c->xoff + ((long)u * C + gg * Cg) * H * H, t0, cnt, c->rp, c->rk, c->pd, c->live ? c->live + gg * a2 : 0, c->cp, c->colKind, c->val, K, gg * Kg,
                      k0, k1, bias + gg * Kg, 1, y + ((long)u * K + gg * Kg) * H * H, c->sharedV ? S[key] : S[th],
                      S[th] + c->vF, fresh);
    }
}
// The engine's non-finite input check (Model.run): each thread takes the maximum of the
// exponent bits of its share of the input.
static uint32_t scanned[64];
static void scan_input(int th) {
    const uint32_t *b = (const uint32_t *)x;
    const long n = xImage * N, lo = n * th / nth, hi = n * (th + 1) / nth;
    uint32_t e = 0;
    for (long i = lo; i < hi; i++) e = e > (b[i] & 0x7f800000u) ? e : (b[i] & 0x7f800000u);
    scanned[th] = e;
}
// Spinning workers (like the engine's pool while it is busy).
static atomic_int gen, done;
static int phase;
static void *worker(void *arg) {
    int th = (int)(long)arg, seen = 0;
    for (;;) {
        while (atomic_load(&gen) == seen) __builtin_ia32_pause();
        seen = atomic_load(&gen);
        if (phase == 0) shared_input(th); else if (phase == 2) scan_input(th); else items(th);
        atomic_fetch_add(&done, 1);
    }
    return 0;
}
static void run_all(int ph) {
    phase = ph;
    atomic_store(&done, 0);
    atomic_fetch_add(&gen, 1);
    if (ph == 0) shared_input(0); else if (ph == 2) scan_input(0); else items(0);
    atomic_fetch_add(&done, 1);
    while (atomic_load(&done) < nth) __builtin_ia32_pause();
}
// Value of `key` ("name=") in a comma-separated spec; keys match whole names only.
static int setting(const char *s, const char *key, int fallback) {
    for (const char *p = strstr(s, key); p; p = strstr(p + 1, key))
        if (p == s || p[-1] == ',') return atoi(p + strlen(key));
    return fallback;
}
static void build(config *c, const char *spec) {
    const long vlim = (long)setting(spec, "v=", 1280) << 10, mlim = (long)setting(spec, "m=", 1024) << 10;
    const int kc = setting(spec, "kc=", 0), split = setting(spec, "split=", 1);
    c->scan = setting(spec, "scan=", 0);
    c->stage = setting(spec, "stage=", 2);
    c->compact = setting(spec, "compact=", 1);
    c->xoff = setting(spec, "xoff=", 0);
    const int cands[2] = {32, 64};
    c->rowBlocks = tilesW >= 8;
    const int narrow = tilesW < 8 && tilesW * 8 >= 7 * 8;   /* rows of 7 tiles stack too */
    int tb = 16;
    for (int i = 0; i < 2; i++)
        if ((!c->rowBlocks || tilesW > tb) && (long)a2 * Cg * cands[i] * 4 <= vlim) tb = cands[i];
    // Stacked tile rows (WinogradConvLayer.rowsPerBlock): up to `stack` rows of
    // tilesW rounded up to 8 lanes each, in blocks of up to 64 lanes.
    c->rows = 1; c->lanes = 0;
    const int stack = setting(spec, "stack=", 8);
    if ((c->rowBlocks || narrow) && tilesW <= 32 && (!dense || setting(spec, "dstack=", 0))) {
        const int lanes = (tilesW + 7) / 8 * 8;
        int rows = stack < 64 / lanes ? stack : 64 / lanes;
        if (rows > T / tilesW) rows = T / tilesW;
        while (rows > 1 && (long)a2 * Cg * ROWF(lanes * rows) * 4 > vlim) rows--;
        if (rows > 1) { c->rows = rows; c->lanes = lanes; tb = ROWF(lanes * rows); c->rowBlocks = 1; }
    }
    c->tb = c->TB = tb;
    const int across = !c->rowBlocks && N > 1;
    c->unitTiles = across ? N * T : T;
    c->units = across ? 1 : N;
    if (!c->rowBlocks) {
        int p16 = (c->unitTiles + 15) / 16 * 16, best = 16;
        for (int i = 0; i < 2; i++)
            if (cands[i] <= tb && (c->unitTiles + cands[i] - 1) / cands[i] * cands[i] * 8 <= p16 * 9) best = cands[i];
        c->TB = best;
    }
    c->perRow = (tilesW + tb - 1) / tb;
    c->blocks = c->rowBlocks ? (T / tilesW + c->rows - 1) / c->rows * c->perRow : (c->unitTiles + c->TB - 1) / c->TB;
    int cap = (int)(mlim / ((long)a2 * tb * 4) / 32 * 32);
    if (cap < 32) cap = 32;
    const int nchunks = (Kg + cap - 1) / cap;
    c->KC = kc ? kc : (Kg + nchunks - 1) / nchunks;
    // Window of sorted rows: the split at batch 1, at most KC (WinogradConvLayer.sortWindow).
    const int sort = setting(spec, "sort=", Cg >= 80) && !dense;   /* 10% of Cg >= 8 entries on average */
    c->KW = 1;
    if (sort) {
        int blocks1 = c->rowBlocks ? c->blocks : 0, wanted1 = 1;
        if (!c->rowBlocks) {
            int p16 = (T + 15) / 16 * 16, best = 16;
            for (int i = 0; i < 2; i++)
                if (cands[i] <= tb && (T + cands[i] - 1) / cands[i] * cands[i] * 8 <= p16 * 9) best = cands[i];
            blocks1 = (T + best - 1) / best;
        }
        const int base1 = G * blocks1;
        if (base1 < 4 * nth) {
            int a = base1, b = nth;
            while (b) { int t = a % b; a = b; b = t; }
            wanted1 = Kg / 8 > 1 ? Kg / 8 : 1;
            if (nth / a < wanted1) wanted1 = nth / a;
        }
        const int per1 = (Kg + wanted1 - 1) / wanted1;
        c->KW = c->KC < per1 ? c->KC : per1;
        c->KC = c->KC / c->KW * c->KW;
    }
    // Non-temporal output stores for outputs of 8 MiB or more (WinogradConvLayer.streamBytes).
    const int stream = setting(spec, "nt=", yImage * N * 4 >= 8 << 20);
    wk_wino_geom g = {variant, Cg, H, H, pad, pad, H, H, tilesW, T, tb, c->TB, across ? N : 1, xImage, yImage, dense, c->KC, c->KW, stream, Kg, 8, c->lanes};
    c->g = g;
    c->base = c->units * G * c->blocks;
    c->sharedV = nth > 1 && c->base < nth;
    int wanted = 1;
    if (!split) {
        if (c->base < 4 * nth) {
            int a = Kg / 8 > 1 ? Kg / 8 : 1, b = (4 * nth + c->base - 1) / c->base;
            wanted = a < b ? a : b;
        }
        c->perChunk = (Kg + wanted - 1) / wanted;
        if (c->perChunk > 32) c->perChunk = (c->perChunk + 31) / 32 * 32;
    } else {
        if (c->base < 4 * nth) {
            int a = c->base, b = nth;
            while (b) { int t = a % b; a = b; b = t; }
            int w = nth / a, most = Kg / 8 > 1 ? Kg / 8 : 1;
            wanted = most < w ? most : w;
        }
        c->perChunk = ((Kg + wanted - 1) / wanted + c->KW - 1) / c->KW * c->KW;
    }
    c->kchunks = (Kg + c->perChunk - 1) / c->perChunk;
    c->items = c->base * c->kchunks;
    // The same weights for both configurations (column data scaled by this TB).
    rs = 88172645463325252ULL;
    const long rows = (long)a2 * K, cap_e = dense ? rows * Cg + 64 : rows * Cg / 5 + 1000;
    c->rp = malloc(4 * (rows + 1));
    uint16_t *col16 = calloc(cap_e, 2);
    uint8_t *col8 = calloc(cap_e, 1);
    c->val = aligned_alloc(64, 4 * cap_e + 64);
    long e = 0;
    c->rp[0] = 0;
    const int uniform = setting(spec, "uniform=", 0);
    if (!dense && !uniform && !pattern) pattern = pruned_winograd(variant == 3 ? 8 : 6, variant == 3 ? 5 : 3);
    for (long r = 0; r < rows; r++) {
        for (int ch = 0; ch < Cg; ch++)
            if (dense || (uniform ? rnd() % 10 == 0 : pattern[r * Cg + ch] != 0)) {
                col8[e] = (uint8_t)ch;
                col16[e] = (uint16_t)(ch * tb);
                c->val[e] = uniform || dense ? (rnd() % 1000) * 1e-3f - 0.5f : pattern[r * Cg + ch];
                e++;
            }
        c->rp[r + 1] = (int32_t)e;
    }
    // Positions at least dpos% dense (default 80, WinogradConvLayer.densePosition) hold all
    // Cg entries of their rows and run the dense product.
    c->pd = 0;
    const int dpos = setting(spec, "dpos=", 80);
    if (!dense) {
        uint8_t *pd = calloc(a2, 1);
        int any = 0;
        for (int xi = 0; xi < a2; xi++) {
            pd[xi] = (long)(c->rp[(xi + 1) * K] - c->rp[xi * K]) * 100 >= (long)dpos * K * Cg;
            any |= pd[xi];
        }
        if (any) {
            long full = e;
            for (int xi = 0; xi < a2; xi++) if (pd[xi]) full += (long)K * Cg - (c->rp[(xi + 1) * K] - c->rp[xi * K]);
            int32_t *rp2 = malloc(4 * (rows + 1));
            uint16_t *c16 = malloc(2 * (full + 1));
            uint8_t *c8 = malloc(full + 1);
            float *v2 = aligned_alloc(64, 4 * full + 64);
            long e2 = 0;
            rp2[0] = 0;
            for (long r = 0; r < rows; r++) {
                if (pd[r / K]) {
                    for (int ch = 0; ch < Cg; ch++) { c8[e2 + ch] = (uint8_t)ch; c16[e2 + ch] = (uint16_t)(ch * tb); v2[e2 + ch] = 0; }
                    for (long q = c->rp[r]; q < c->rp[r + 1]; q++) v2[e2 + col8[q]] = c->val[q];
                    e2 += Cg;
                } else {
                    for (long q = c->rp[r]; q < c->rp[r + 1]; q++, e2++) { c8[e2] = col8[q]; c16[e2] = col16[q]; v2[e2] = c->val[q]; }
                }
                rp2[r + 1] = (int32_t)e2;
            }
            c->rp = rp2; col8 = c8; col16 = c16; c->val = v2; c->pd = pd; e = e2;
        }
    }
    c->rk = 0;
    if (sort) {   // each (position, group, window)'s rows shortest first, ties by out-channel
        int32_t *rp2 = malloc(4 * (rows + 1));
        uint16_t *c16 = malloc(2 * (e + 1)), *rk = malloc(2 * rows);
        uint8_t *c8 = malloc(e + 1);
        float *v2 = aligned_alloc(64, 4 * e + 64);
        long *ord = malloc(8 * rows), e2 = 0;
        for (long r = 0; r < rows; r++) ord[r] = r;
        const int smax = setting(spec, "smax=", 1 << 30), smin = setting(spec, "smin=", -1);
        for (long w0 = 0; w0 < rows;) {
            long w1 = (w0 / Kg + 1) * Kg;
            if (w0 + c->KW < w1) w1 = w0 + c->KW;
            const long xi = w0 / K, pe = c->rp[(xi + 1) * K] - c->rp[xi * K];
            const int skip = pe > (long)smax * K || pe < (long)smin * K;
            if (!skip) for (long i = w0 + 1; i < w1; i++)
                for (long j = i; j > w0 && c->rp[ord[j] + 1] - c->rp[ord[j]] < c->rp[ord[j - 1] + 1] - c->rp[ord[j - 1]]; j--) {
                    long t = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = t;
                }
            w0 = w1;
        }
        rp2[0] = 0;
        for (long i = 0; i < rows; i++) {
            const long r = ord[i];
            for (long q = c->rp[r]; q < c->rp[r + 1]; q++, e2++) { c8[e2] = col8[q]; c16[e2] = col16[q]; v2[e2] = c->val[q]; }
            rp2[i + 1] = (int32_t)e2;
            rk[(r % K) * a2 + r / K] = (uint16_t)(i % Kg);   // stored position of row r (xi, k) in its group, at [k][xi]
        }
        free(ord);
        c->rp = rp2; col8 = c8; col16 = c16; c->val = v2; c->rk = rk;
    }
    // Empty rows marked WK_EMPTY_ROW in row_pos (WinogradConvLayer.emptyRows): no product for
    // them. skip=0: not marked (before stop 13).
    if (!dense && setting(spec, "skip=", 1)) {
        uint16_t *rk = c->rk;
        if (!rk) { rk = malloc(2 * rows); for (long r = 0; r < rows; r++) rk[(r % K) * a2 + r / K] = (uint16_t)((r % K) % Kg); }
        long empty = 0;
        for (int k = 0; k < K; k++)
            for (int xi = 0; xi < a2; xi++) {
                const long row = (long)xi * K + (k / Kg) * Kg + rk[k * a2 + xi];
                if (c->rp[row] == c->rp[row + 1]) { rk[k * a2 + xi] = WK_EMPTY_ROW; empty++; }
            }
        if (empty || c->rk) c->rk = rk; else free(rk);
        // Positions where no row of a group has an entry store no V (WinogradConvLayer.posLive);
        // live=0: all stored.
        c->live = 0;
        if (empty && setting(spec, "live=", 1)) {
            c->live = malloc(G * a2);
            for (int gg = 0; gg < G; gg++)
                for (int xi = 0; xi < a2; xi++)
                    c->live[gg * a2 + xi] = c->rp[(long)xi * K + (gg + 1) * Kg] > c->rp[(long)xi * K + gg * Kg];
        }
    }
    // Dense rows (dense weights, dense positions) packed per (position, group) as the engine
    // stores them (wk_dense_index); pack=0: row by row (before stop 15: KG 0).
    if (setting(spec, "pack=", 1)) {
        const int kfull = Kg / 6 * 6;
        float *seg = malloc(4 * (size_t)Kg * Cg);
        for (int xi = 0; xi < a2; xi++) {
            if (!dense && !(c->pd && c->pd[xi])) continue;
            for (int gg = 0; gg < G; gg++) {
                float *base = c->val + c->rp[(long)xi * K + gg * Kg];
                memcpy(seg, base, 4 * (size_t)Kg * Cg);
                for (int k = 0; k < Kg; k++)
                    for (int ch = 0; ch < Cg; ch++) base[wk_dense_index(k, ch, Cg, kfull)] = seg[(long)k * Cg + ch];
            }
        }
        free(seg);
    } else c->g.KG = 0;
    c->colKind = Cg <= 256 ? 2 : 1;
    c->cp = c->colKind == 2 ? (void *)col8 : (void *)col16;
    c->vF = wk_wino_v_floats(&c->g);
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: kernel_ab LAYER BATCH THREADS REPS CONFIG_A CONFIG_B [dense]\n");
        return 2;
    }
    int li = -1;
    for (int i = 0; i < (int)(sizeof layers / sizeof layers[0]); i++)
        if (!strcmp(argv[1], layers[i].name)) li = i;
    if (li < 0) { fprintf(stderr, "kernel_ab: unknown layer %s\n", argv[1]); return 2; }
    C = layers[li].C; K = layers[li].K; H = layers[li].H; G = layers[li].G; variant = layers[li].variant;
    N = atoi(argv[2]); nth = atoi(argv[3]);
    const int reps = atoi(argv[4]);
    dense = argc > 7 && !strcmp(argv[7], "dense");
    if (N < 1 || nth < 1 || nth > 16 || reps < 1) { fprintf(stderr, "kernel_ab: bad batch, threads (1-16) or reps\n"); return 2; }
    if (wk_isa() == 0) { fprintf(stderr, "kernel_ab: no AVX2 or AVX-512 here\n"); return 2; }
    const int a = variant == 3 ? 8 : 6, m = 4;
    pad = variant == 3 ? 2 : 1;
    Cg = C / G; Kg = K / G; a2 = a * a;
    tilesW = (H + m - 1) / m; T = tilesW * tilesW;
    xImage = (long)C * H * H; yImage = (long)K * H * H;
    x = aligned_alloc(64, 4 * (xImage * N + 64));
    for (long i = 0; i < xImage * N; i++) x[i] = (rnd() % 1000) * 1e-3f - 0.5f;
    y = aligned_alloc(64, 4 * (yImage * N + 64));
    bias = calloc(K, 4);
    build(&cf[0], argv[5]);
    build(&cf[1], argv[6]);
    long sf = 0;
    for (int i = 0; i < 2; i++) { long s = wk_wino_scratch_floats(&cf[i].g); if (s > sf) sf = s; }
    int ns = nth;
    for (int i = 0; i < 2; i++) if (cf[i].base > ns) ns = cf[i].base;
    if (ns > 64) ns = 64;
    for (int i = 0; i < ns; i++) { S[i] = aligned_alloc(64, 4 * sf + 256); memset(S[i], 0, 4 * sf); }
    pthread_t tid;
    for (int i = 1; i < nth; i++) pthread_create(&tid, 0, worker, (void *)(long)i);
    const int readback = getenv("READ") && atoi(getenv("READ")) != 0;
    volatile float sink = 0;
    double *ta = malloc(8 * reps), *tb = malloc(8 * reps), *ratio = malloc(8 * reps);
    for (int r = 0; r < 2 * reps + 4; r++) {     // two warm-up calls of each first
        cur = &cf[r & 1];
        wk_set_staging(cur->stage);
        const double t0 = now();
        if (cur->scan) run_all(2);
        if (cur->sharedV) run_all(0);
        run_all(1);
        if (readback) {
            float acc = 0;
            for (long i = 0; i < yImage * N; i += 16) acc += y[i];
            sink += acc;
        }
        const double t = now() - t0;
        if (r >= 4) { if (r & 1) tb[(r - 4) / 2] = t; else ta[(r - 4) / 2] = t; }
    }
    // Both configurations compute the same layer: compare the last outputs of each.
    float *ya = malloc(4 * yImage * N);
    double num = 0, den = 0;
    for (int i = 0; i < 2; i++) {
        cur = &cf[i];
        wk_set_staging(cur->stage);
        memset(y, 0, 4 * yImage * N);
        if (cur->sharedV) run_all(0);
        run_all(1);
        if (i == 0) memcpy(ya, y, 4 * yImage * N);
    }
    for (long i = 0; i < yImage * N; i++) { double d = (double)y[i] - ya[i]; num += d * d; den += (double)ya[i] * ya[i]; }
    const double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    for (int i = 0; i < reps; i++) ratio[i] = tb[i] / ta[i];
    qsort(ta, reps, 8, cmpd); qsort(tb, reps, 8, cmpd); qsort(ratio, reps, 8, cmpd);
    printf("%s batch %d, %d threads%s: A [%s: TB %d, KC %d, %d items] %.3f ms | B [%s: TB %d, KC %d, %d items] %.3f ms"
           " | B/A %.3f (quartiles %.3f-%.3f)\n", argv[1], N, nth, dense ? ", dense" : "", *argv[5] ? argv[5] : "defaults",
           cf[0].TB, cf[0].KC, cf[0].items, ta[reps / 2] * 1e3, *argv[6] ? argv[6] : "defaults", cf[1].TB, cf[1].KC,
           cf[1].items, tb[reps / 2] * 1e3,
           ratio[reps / 2], ratio[reps / 4], ratio[3 * reps / 4]);
    printf("outputs of A and B: relative L2 difference %.2e%s\n", rel, rel > 1e-5 ? " (MORE THAN 1e-5: a configuration is wrong)" : "");
    exit(0);   // workers spin forever
}
