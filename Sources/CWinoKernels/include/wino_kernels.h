// Innermost micro-kernels of wino, in C so that they can be compiled for
// AVX-512 with function-level target attributes and chosen at run time by CPU
// detection: a plain `swift build` (no flags) still gets the fast code.
// Everything around them (planning, threading, layout) is Swift.
#ifndef WINO_KERNELS_H
#define WINO_KERNELS_H
#include <stdint.h>
#include "wino_sync.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The `row_pos` entry of an empty CSR row (see `wk_wino_block`).
#define WK_EMPTY_ROW 0xFFFF

/// Geometry of one group of a stride-1 Winograd convolution, for one image.
typedef struct {
    int variant;        ///< 1 = F(2x2,3x3), 2 = F(4x4,3x3), 3 = F(4x4,5x5)
    int C;              ///< input channels of the group
    int H, W;           ///< input plane size
    int padT, padL;     ///< top and left zero padding
    int OH, OW;         ///< output plane size
    int tilesW;         ///< tiles per output row (ceil(OW / m))
    int T;              ///< tiles per image (tilesH * tilesW)
    int TB;             ///< floats per row of V (column offsets are c * TB): 16, 32 or 64
    int TBc;            ///< tiles per block computed: 16, 32 or 64, at most TB
    int N;              ///< images whose tiles are numbered one after the other (tile t is tile
                        ///< t % T of image t / T); 1 when the caller passes one image
    long xImage;        ///< floats between consecutive images in x (when N > 1)
    long yImage;        ///< floats between consecutive images in y (when N > 1)
    int dense;          ///< 1: every CSR row holds all C entries (dense weights), each group's rows
                        ///< of a position packed as `KG` says; the products then run as a
                        ///< register-blocked dense product
    int KC;             ///< out-channels whose products are computed together, position by
                        ///< position: M holds a2 x KC x TB floats (values < 1 mean 32)
    int KW;             ///< window of out-channels within which the CSR rows of each position
                        ///< are stored in a permuted order (see `row_pos`): k0, k1 - k0 (but for
                        ///< the group's last chunk) and KC are multiples of it (values < 1 mean 1)
    int stream;         ///< 1: whole output rows go to memory with non-temporal stores, where
                        ///< rows are whole cache lines (OW a multiple of 16, y 64-byte aligned)
    int KG;             ///< out-channels of the group: the rows of each (position, group) segment
                        ///< of dense rows, which are stored packed (`wk_dense_index`)
    int VWp;            ///< the vector width (`wk_vector_width`) the caller planned its blocks for
                        ///< (TBc a multiple of it): the kernels run the widest instruction set in
                        ///< use whose width divides it, so that a cap or emulation changed after
                        ///< a model was planned gives correct results; values < 1: any
    int rowLanes;       ///< 0: a block's lanes hold its tiles t0, t0 + 1, ... one after the other.
                        ///< Else blocks stack tile rows of one image: lane l holds tile
                        ///< t0 + (l / rowLanes) * tilesW + l % rowLanes, and lanes whose
                        ///< l % rowLanes >= tilesW are dead (no tile). A multiple of `VWp`, at
                        ///< least tilesW; t0 starts a tile row. Planes whose tile rows are a
                        ///< little narrower than a block (VGG16 conv3_1: 14 tiles) then fill
                        ///< blocks of 64 lanes with 4 tile rows instead of 16 with one.
} wk_wino_geom;

/// Where entry (k, c) of a (position, group) segment of dense rows (kg rows of C entries, k
/// the row within the group) is stored, from the segment's start: the first kfull = kg / 6 * 6
/// rows in strips of 6 holding each channel's 6 entries together (the register-blocked dense
/// product then reads one sequential stream instead of 6 rows C floats apart: AlexNet conv3 and
/// conv4 dense 1.6-2.2x faster), the rest row by row.
long wk_dense_index(int k, int c, int C, int kfull);

/// Computes out-channels k0..<k1 of the group for the tb (<= TBc) lanes from tile t0 (tiles
/// t0 ..< t0 + tb, or with `g->rowLanes` the live lanes of tile rows stacked as it says):
/// input transform of the block into V = [a2][C][TB] (`wk_wino_v_floats` floats; skipped
/// when `transform_input` is 0: V already holds this block), then per chunk of out-channels
/// the sparse products of all alpha^2 positions into M = [a2][chunk][TBc] (the rest of
/// `wk_wino_scratch_floats`), the output transform, bias, optional ReLU and the store into
/// y[k][OH][OW]. Out-channel k's CSR row at position xi is stored row
/// `row_stride * xi + row_base + row_pos[(row_base + k) * a2 + xi]` (row_pos permutes the
/// out-channels of each position within each window of `g->KW`, so that rows of equal length
/// follow each other), or `row_stride * xi + row_base + k` when `row_pos` is NULL. A row_pos entry
/// of `WK_EMPTY_ROW` marks an empty row (no entries): no product is computed or stored for it and
/// the output transform reads zeros; when `row_pos` is given, the products skip every stored row
/// without entries, so every empty row must be so marked. Where
/// `pos_dense` (NULL: none) marks position xi, its rows hold all C entries (zeros included), each
/// group's rows stored as one packed segment from the group's first row (`wk_dense_index`, with
/// `g->KG` rows), and run as a register-blocked dense product (row_pos must keep them in order). Where
/// `live` (a2 bytes, NULL: all live) is 0 for position xi, no CSR row of the group has an entry
/// there (`row_pos` must mark all of them empty): the input transform stores no V for it. Column
/// data by `col_kind`: 0 int32_t offsets c * TB, 1 uint16_t offsets c * TB, 2 uint8_t channels
/// c (C <= 256; the kernel scales them by TB, a power of two).
void wk_wino_block(const wk_wino_geom *g, const float *x, int t0, int tb,
                   const int32_t *row_ptr, const uint16_t *row_pos, const uint8_t *pos_dense,
                   const uint8_t *live, const void *col_off, int col_kind,
                   const float *values,
                   int row_stride, int row_base, int k0, int k1,
                   const float *bias, int relu, float *y, float *V, float *M, int transform_input);

/// The input transform alone, for channels c0 ..< c1 of the block's tiles, into V (the
/// layout `wk_wino_block` reads; `live` as there): lets several threads share one block's V.
void wk_wino_input(const wk_wino_geom *g, const uint8_t *live, const float *x, int t0, int tb, int c0, int c1, float *V);

/// Selects the AVX2 small-plane paths (raster blocks). 2 (the default): the input transform
/// reads each tile's patch rows from the plane with masked 4-float loads (F(4x4,5x5) only where
/// each vector's tiles run along tile rows), else from a zero-padded staged copy; 1: always the
/// staged copy; both store output rows of 4 tiles along a tile row (half a vector) with
/// contiguous stores, other tiles row by row. 0: masked gathers and per-lane stores (the
/// index logic AVX-512 uses). For tests and paired timings.
void wk_set_staging(int mode);

/// Caps the out-channels per product chunk (`wk_wino_geom.KC`) at `cap` (0: no cap). For tests:
/// runs the chunk loop with several chunks and a tail on small layers.
void wk_set_kchunk_cap(int cap);

/// Non-temporal output stores: -1 (the default) as `wk_wino_geom.stream` says, 0 never,
/// 1 wherever output rows are whole cache lines. For tests.
void wk_set_stream(int mode);

/// The cap set by `wk_set_kchunk_cap` (0: none). Layers built while it is set also keep their
/// windows of sorted rows (`wk_wino_geom.KW`) within it.
int wk_kchunk_cap(void);

/// Most tile rows the planner stacks into one block (`wk_wino_geom.rowLanes`): 8 by default, 1
/// for one tile row per block. Read when a layer is built; for tests and paired timings.
void wk_set_stacked_rows(int rows);

/// The setting of `wk_set_stacked_rows`.
int wk_stacked_rows(void);

/// Floats of V in the scratch layout (the start of `wk_wino_scratch_floats`).
long wk_wino_v_floats(const wk_wino_geom *g);

/// One output row of max pooling whose windows lie inside the input (no clipping):
/// out[j] = max over r < kh, k < kw of row0[r * w + x0 + j * sw + k] for j < n, each maximum
/// taken as `next >= best ? next : best` in window order. colmax: (n - 1) * sw + kw + 16 floats.
void wk_maxpool_row(const float *row0, long w, int kh, int kw, int sw, int x0, int n, float *colmax, float *out);

/// Dense product C[i][0..n) = sum_d A[i][d] * B[d][0..n) for rows i0 <= i < i1 (row-major,
/// strides lda, ldb, ldc). Each element sums d in increasing order (thread-count independent).
void wk_gemm(int i0, int i1, int n, int K, const float *A, long lda, const float *B, long ldb, float *C, long ldc);

/// dst[j] = src[j * stride] for 0 <= j < n (im2col rows of strided convolutions); reads
/// only src[0 ... (n - 1) * stride].
void wk_strided_copy(const float *src, int stride, int n, float *dst);

/// One im2col slice: col[d][q] (d = (c, r, s) over C x R x S, q < pn <= 64) for the output
/// pixels p0 + q in raster order over rows of OW: x[c][oy*sh + r - pt][ox*sw + s - pl], 0
/// outside the H x W input.
void wk_im2col(const float *x, int C, int H, int W, int R, int S, int sh, int sw, int pt, int pl,
               int OW, int p0, int pn, float *col);

/// Sparse rows times a vector: y[i - i0] = sum over CSR row i of values[e] * x[col[e]], for
/// i0 <= i < i1. Each row's sum has a fixed order (thread-count independent).
void wk_csr_dot(int i0, int i1, const int32_t *row_ptr, const int32_t *col, const float *values,
                const float *x, float *y);

/// `wk_csr_dot` with 16-bit column indices (matrices of at most 65536 columns); with
/// `accumulate`, y[i - i0] += the row's sum (added once, after the row is summed).
void wk_csr_dot16(int i0, int i1, const int32_t *row_ptr, const uint16_t *col, const float *values,
                  const float *x, float *y, int accumulate);

/// Rows of a fully connected layer for up to 8 images at once: for i0 <= i < i1 and n < nb,
/// y[n * ldy + i] = sum over row i of values[e] * xt[c_e * 8 + n], where xt holds the images
/// transposed (column c of image n at xt[c * 8 + n]; lanes nb..7 are read and ignored).
/// Rows are CSR (row_ptr with 16-bit `col16` or 32-bit `col32` indices, the other NULL) or,
/// with row_ptr NULL, dense rows of F values (row i at values + i * F). Each row sums its
/// entries in four interleaved partial sums (entry index mod 4) added as (0 + 1) + (2 + 3):
/// a fixed order, independent of the thread split and of nb. With `accumulate`, each sum is
/// added to y instead of stored (once, after the row is summed).
void wk_fc_rows8(int i0, int i1, const int32_t *row_ptr, const uint16_t *col16, const int32_t *col32,
                 const float *values, int F, const float *xt, int nb, float *y, long ldy, int accumulate);

/// LRN across channels for n pixels: x holds C planes `stride` floats apart (the n pixels at
/// the start of each). For the output channels c0 <= c < c1, y[(c - c0) * ystride + q] =
/// x[c][q] / (bias + scale * sum of x^2 over [c - before, c + after] within [0, C))^beta.
void wk_lrn(int C, int c0, int c1, long stride, int n, const float *x, float *y, long ystride, int before, int after,
            float scale, float bias, float beta);

/// Runs `iters` steps of 12 independent FMA chains of the instruction set in use (sink:
/// 12 floats in, a result out, so the work is not optimised away) and returns the
/// floating-point operations done. Timing it gives the measured FMA peak of one thread.
double wk_fma_burn(long iters, float *sink);

/// Ceiling of the sparse product: the product kernel `wk_wino_block` uses (this instruction
/// set's, 8-bit channel indices) run alone on data that stays in the L1, for one Winograd
/// position: `rows` CSR rows of `row_len` entries each (distinct random channels of
/// `channels`, in column order) against a V of `channels` x `tiles` floats (`tiles` 16, 32 or
/// 64: the block width). Returns the seconds of one call (2 x rows x row_len x tiles
/// floating-point operations): the fastest of `reps` samples of 16 calls each, after one
/// warm-up sample; -1 where the arguments are out of
/// range (channels 1-256, row_len 1-channels, rows 1-4096, reps >= 1), the kernels are the
/// portable ones (no SIMD product to measure) or memory runs out; -2 where a product differs
/// from its Double sum by more than 1e-5 of the sum of its terms' magnitudes.
double wk_product_ceiling(int tiles, int channels, int row_len, int rows, int reps);

/// Floats of scratch `wk_wino_block` needs.
long wk_wino_scratch_floats(const wk_wino_geom *g);

/// The instruction set the kernels use: 2 AVX-512, 1 AVX2+FMA, 0 portable C.
/// Detected from the CPU, capped by wk_limit_isa, or at AVX2 by the environment
/// variable WINO_AVX512=0; 2 also where wk_emulate_avx512 emulates AVX-512.
int wk_isa(void);

/// Tiles per SIMD vector of the kernels in use: 16 (AVX-512), 8 (AVX2) or 1 (portable).
int wk_vector_width(void);

/// "AVX-512", "AVX2" or "portable".
const char *wk_isa_name(void);

/// The name (as wk_isa_name) of the instruction set the Winograd kernels run for a call
/// with geometry g: the one in use, at most the one g->VWp was planned for.
const char *wk_wino_isa_name(const wk_wino_geom *g);

/// Caps the instruction set (2 = AVX-512 allowed, 1 = at most AVX2, 0 = portable). For tests and benchmarks.
/// Models loaded afterwards are planned for its vector width; those loaded before keep theirs
/// (`wk_wino_geom.VWp`) and run at most the instruction set they were planned for.
void wk_limit_isa(int max_isa);

/// Restores the default cap (AVX-512, or AVX2 with WINO_AVX512=0).
void wk_reset_isa(void);

/// With on = 1, a CPU with AVX2 but not AVX-512 reports AVX-512 (wk_isa() 2, 16 tiles per
/// vector, subject to the cap) and runs the Winograd kernels' AVX-512 body compiled for AVX2:
/// the same 16-lane code and the same results, bit for bit, at a fraction of the speed. The
/// other kernels (GEMM, FC, pooling, LRN) keep AVX2. For tests (the AVX-512 body checked on
/// every machine) and to reproduce an AVX-512 machine's results elsewhere. Takes effect for
/// models loaded afterwards (their plans depend on the vector width). 0 (the default) turns
/// it off; no effect on CPUs with AVX-512 or without AVX2.
void wk_emulate_avx512(int on);

/// 1 when the kernels in use are the emulated AVX-512 body (see wk_emulate_avx512), else 0.
int wk_avx512_emulated(void);

/// The B^T (which = 0, alpha x alpha) or A^T (which = 1, m x alpha) table the
/// kernels use for a variant, row-major, so tests can check it against the spec.
const float *wk_table(int variant, int which);

#ifdef __cplusplus
}
#endif
#endif
