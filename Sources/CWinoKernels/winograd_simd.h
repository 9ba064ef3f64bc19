// Width-generic body of the SIMD Winograd kernels; included by winograd.c once per
// instruction set with these macros defined:
//   SFX        name suffix (avx512, avx2)          VW      lanes per vector (16, 8)
//   VT         vector type                         ATTR    function attributes (target)
//   V_ZERO() V_SET1(x) V_LOAD(p) V_STORE(p, v) V_ADD V_SUB V_MUL V_MAX
//   V_FMA(a, b, c) = a * b + c     V_FNMA(a, b, c) = c - a * b
//   GATHER(src, idx_ints, valid_ints)  masked gather (lanes with valid = 0 read as 0)
//   STORE_LANES(dst, idx_ints, valid_ints, v)  masked scatter
// Lane l of a vector group holds tile t0 + l. See winograd.c for the legend.

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, SFX)
#define INL static inline __attribute__((always_inline)) ATTR

INL void FN(bt1d_2)(const VT *d, int is, VT *v, int os) {
    VT d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is];
    v[0] = V_SUB(d0, d2);
    v[os] = V_ADD(d1, d2);
    v[2 * os] = V_SUB(d2, d1);
    v[3 * os] = V_SUB(d1, d3);
}
INL void FN(at1d_2)(const VT *m, int is, VT *y, int os) {
    VT m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is];
    y[0] = V_ADD(V_ADD(m0, m1), m2);
    y[os] = V_SUB(V_SUB(m1, m2), m3);
}
INL void FN(bt1d_4)(const VT *d, int is, VT *v, int os) {
    VT d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is], d4 = d[4 * is], d5 = d[5 * is];
    const VT c4 = V_SET1(4.0f), c5 = V_SET1(5.0f), c2 = V_SET1(2.0f);
    v[0] = V_ADD(V_FNMA(d2, c5, V_MUL(d0, c4)), d4);          // 4d0 - 5d2 + d4
    v[os] = V_FNMA(V_ADD(d1, d2), c4, V_ADD(d3, d4));         // -4(d1+d2) + d3+d4
    v[2 * os] = V_FMA(V_SUB(d1, d2), c4, V_SUB(d4, d3));      // 4(d1-d2) + d4-d3
    VT t5 = V_SUB(d3, d1), t6 = V_SUB(d4, d2);
    v[3 * os] = V_FMA(t5, c2, t6);                            // 2(d3-d1) + d4-d2
    v[4 * os] = V_FNMA(t5, c2, t6);                           // 2(d1-d3) + d4-d2
    v[5 * os] = V_ADD(V_FNMA(d3, c5, V_MUL(d1, c4)), d5);     // 4d1 - 5d3 + d5
}
INL void FN(at1d_4)(const VT *m, int is, VT *y, int os) {
    VT m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is], m4 = m[4 * is], m5 = m[5 * is];
    VT s12 = V_ADD(m1, m2), d12 = V_SUB(m1, m2), s34 = V_ADD(m3, m4), d34 = V_SUB(m3, m4);
    y[0] = V_ADD(V_ADD(m0, s12), s34);
    y[os] = V_FMA(d34, V_SET1(2.0f), d12);
    y[2 * os] = V_FMA(s34, V_SET1(4.0f), s12);
    y[3 * os] = V_ADD(V_FMA(d34, V_SET1(8.0f), d12), m5);
}
// F(4x4,5x5) (points 0, +-1, +-2, +-1/2; Docs/WINOGRAD.md): rows of B^T pair up as even +- odd
// parts (rows 1/2, 3/4, 5/6), which takes 26 operations per 1-D transform instead of the
// 44 multiply-adds of its nonzero entries.
INL void FN(bt1d_5)(const VT *d, int is, VT *v, int os) {
    VT d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is], d4 = d[4 * is], d5 = d[5 * is];
    VT d6 = d[6 * is], d7 = d[7 * is];
    const VT c21_4 = V_SET1(21.0f / 4), c17_4 = V_SET1(17.0f / 4), c5_4 = V_SET1(5.0f / 4);
    const VT c5_2 = V_SET1(2.5f), c1_4 = V_SET1(0.25f), c1_2 = V_SET1(0.5f), c2 = V_SET1(2.0f);
    const VT c4 = V_SET1(4.0f), c5 = V_SET1(5.0f);
    v[0] = V_FMA(V_SUB(d2, d4), c21_4, V_SUB(d6, d0));                   // -d0 + 21/4 (d2 - d4) + d6
    v[7 * os] = V_FMA(V_SUB(d3, d5), c21_4, V_SUB(d7, d1));              // -d1 + 21/4 (d3 - d5) + d7
    VT e = V_FNMA(d4, c17_4, V_ADD(d2, d6)), o = V_FNMA(d3, c17_4, V_ADD(d1, d5));
    v[os] = V_ADD(e, o);                                                  // (d1 + d2) - 17/4 (d3 + d4) + (d5 + d6)
    v[2 * os] = V_SUB(e, o);                                              // (d2 - d1) + 17/4 (d3 - d4) + (d6 - d5)
    e = V_FMA(d2, c1_4, V_FNMA(d4, c5_4, d6));                            // d2 / 4 - 5/4 d4 + d6
    o = V_FMA(d1, c1_2, V_FNMA(d3, c5_2, V_MUL(d5, c2)));                 // d1 / 2 - 5/2 d3 + 2 d5
    v[3 * os] = V_ADD(e, o);
    v[4 * os] = V_SUB(e, o);
    e = V_FMA(d2, c4, V_FNMA(d4, c5, d6));                                // 4 d2 - 5 d4 + d6
    o = V_FMA(d1, c2, V_FNMA(d3, c5_2, V_MUL(d5, c1_2)));                 // 2 d1 - 5/2 d3 + d5 / 2
    v[5 * os] = V_ADD(e, o);
    v[6 * os] = V_SUB(e, o);
}
INL void FN(at1d_5)(const VT *m, int is, VT *y, int os) {
    VT m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is], m4 = m[4 * is], m5 = m[5 * is];
    VT m6 = m[6 * is], m7 = m[7 * is];
    VT s12 = V_ADD(m1, m2), d12 = V_SUB(m1, m2), s34 = V_ADD(m3, m4), d34 = V_SUB(m3, m4);
    VT s56 = V_ADD(m5, m6), d56 = V_SUB(m5, m6);
    y[0] = V_ADD(V_ADD(m0, s12), V_ADD(s34, s56));
    y[os] = V_FMA(d56, V_SET1(0.5f), V_FMA(d34, V_SET1(2.0f), d12));
    y[2 * os] = V_FMA(s56, V_SET1(0.25f), V_FMA(s34, V_SET1(4.0f), s12));
    y[3 * os] = V_ADD(V_FMA(d56, V_SET1(0.125f), V_FMA(d34, V_SET1(8.0f), d12)), m7);
}

#define DEFINE_2D(N, A, MM)                                                              \
    INL void FN(at2d_##N)(const VT *m, VT *y) {                                          \
        VT t[MM * A];                                                                    \
        for (int j = 0; j < A; j++) FN(at1d_##N)(m + j, A, t + j, A);                    \
        for (int i = 0; i < MM; i++) FN(at1d_##N)(t + i * A, 1, y + i * MM, 1);          \
    }
DEFINE_2D(2, 4, 2)
DEFINE_2D(4, 6, 4)
DEFINE_2D(5, 8, 4)
#undef DEFINE_2D

// The input transform runs row first: each patch row is transformed as soon as it is loaded
// (u = d B, row by row, 6 live vectors), then each column of u (V = B^T u) is stored to V.
// Transforming columns first needs the whole patch (36 vectors for F(4x4,3x3)) live at once;
// with 16 registers it went through the stack twice (measured: 38 cycles per tile and channel
// with the data in L1).
// Patch row of the VW tiles starting at p (column x of a row of W): r[j][l] = p[MM * l + j],
// j < A, 0 outside [0, W) when masked. Elements MM.. of tile l are elements 0.. of tile
// l + 1: AVX2 shifts them in from the first MM (one lane rotation and one blend each)
// instead of deinterleaving the row a second time.
#define DEFINE_PATCH_ROW(N, A, MM)                                                                 \
    INL void FN(patch_row_##N)(const float *p, int x, int W, int masked, VT *r) {                  \
        FN(deint##MM)(p, x, W, masked, r);                                                         \
        PATCH_TAIL(N, A, MM)                                                                       \
    }                                                                                              \
    INL void FN(bt_cols_##N)(const VT *u, float *dst, long xistride, const uint8_t *live) {        \
        for (int j = 0; j < A; j++) {                                                              \
            VT o[A];                                                                               \
            FN(bt1d_##N)(u + j, A, o, 1);                                                          \
            for (int i = 0; i < A; i++)                                                            \
                if (!live || live[i * A + j]) V_STORE(dst + (i * A + j) * xistride, o[i]);         \
        }                                                                                          \
    }
#if VW == 8
#define PATCH_TAIL(N, A, MM)                                                                       \
        const __m256i rot = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0);                             \
        for (int j = MM; j < A; j++) {                                                             \
            const int col = x + 8 * MM + j - MM;                                                   \
            const float next = !masked || (col >= 0 && col < W) ? p[8 * MM + j - MM] : 0.0f;       \
            r[j] = _mm256_blend_ps(_mm256_permutevar8x32_ps(r[j - MM], rot), _mm256_set1_ps(next), 0x80); \
        }
#else
#define PATCH_TAIL(N, A, MM)                                                                       \
        VT tmp[MM];                                                                                \
        FN(deint##MM)(p + MM, x + MM, W, masked, tmp);                                             \
        for (int j = MM; j < A; j++) r[j] = tmp[j - MM];
#endif
DEFINE_PATCH_ROW(2, 4, 2)
DEFINE_PATCH_ROW(4, 6, 4)
DEFINE_PATCH_ROW(5, 8, 4)
#undef DEFINE_PATCH_ROW
#undef PATCH_TAIL


// Small planes (fewer tiles per row than a vector: raster-order blocks, which may span
// images). AVX2: instead of 8-lane gathers, each channel's planes of the block's images are
// copied zero-padded into a stack buffer, so that every tile's patch rows lie in bounds and
// are read with 4-float loads, two tiles per vector, and transposed in registers. Returns 0
// (caller gathers) when the planes do not fit the buffer. AVX-512 keeps its masked gathers.
#if VW == 8
#define WK_STAGE_MAX 6144
// In-lane 4x4 transpose: rows r[k] = [tile k | tile k + 4] (4 floats each) -> c[j] = element j of tiles 0..7.
INL void FN(tr4)(VT r0, VT r1, VT r2, VT r3, VT *c) {
    VT t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    VT t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    c[0] = _mm256_shuffle_ps(t0, t2, 0x44);
    c[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
    c[2] = _mm256_shuffle_ps(t1, t3, 0x44);
    c[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}
// [4 floats at lo | 4 floats at hi], each masked (lanes outside the plane read as 0).
INL VT FN(pieces2)(const float *lo, __m128i mlo, const float *hi, __m128i mhi) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_maskload_ps(lo, mlo)), _mm_maskload_ps(hi, mhi), 1);
}
// Elements j0 .. j0 + 3 of one patch row of the 8 tiles at p + o[l].
INL void FN(cols4)(const float *p, const int *o, int j0, VT *c) {
    FN(tr4)(_mm256_loadu2_m128(p + o[4] + j0, p + o[0] + j0), _mm256_loadu2_m128(p + o[5] + j0, p + o[1] + j0),
            _mm256_loadu2_m128(p + o[6] + j0, p + o[2] + j0), _mm256_loadu2_m128(p + o[7] + j0, p + o[3] + j0), c);
}
#define DEFINE_STAGED(N, A, MM)                                                                    \
    ATTR static int FN(input_staged_##N)(const wk_wino_geom *g, const float *x, int t0, int tb,    \
                                         int c0, int c1, float *V, const uint8_t *live) {          \
        /* Rows r0[n] ..< r0[n] + nrows[n] (padded coordinates) of each image the block       */  \
        /* touches, at soff[n] in the buffer; rows are Wp floats.                             */  \
        const int Wp = g->tilesW * MM + A - MM;                                                    \
        const int n0 = t0 / g->T, nimg = (t0 + tb - 1) / g->T - n0 + 1;                            \
        if (nimg > 64) return 0;                                                                   \
        int r0[64], nrows[64], soff[64];                                                           \
        long total = 0;                                                                            \
        for (int n = 0; n < nimg; n++) {                                                           \
            const int img = n0 + n;                                                                \
            const int first = (t0 > img * g->T ? t0 : img * g->T) - img * g->T;                    \
            const int last = (t0 + tb - 1 < img * g->T + g->T - 1 ? t0 + tb - 1 : img * g->T + g->T - 1) - img * g->T; \
            r0[n] = (first / g->tilesW) * MM;                                                      \
            nrows[n] = (last / g->tilesW) * MM + A - r0[n];                                        \
            soff[n] = (int)total;                                                                  \
            total += (long)nrows[n] * Wp;                                                          \
        }                                                                                          \
        if (total > WK_STAGE_MAX) return 0;                                                        \
        float stage[WK_STAGE_MAX + 8] __attribute__((aligned(64)));                                \
        int off[64];                                                                               \
        const int groups = g->TBc / VW;                                                            \
        for (int l = 0; l < groups * VW; l++) {                                                    \
            const int tile = t0 + (l < tb ? l : 0), tl = tile % g->T, n = tile / g->T - n0;        \
            off[l] = soff[n] + ((tl / g->tilesW) * MM - r0[n]) * Wp + (tl % g->tilesW) * MM;       \
        }                                                                                          \
        const long plane = (long)g->H * g->W, xistride = (long)g->C * g->TB + WK_PAD;              \
        /* Column masks of each 8-float step of a row (input column q + lane - padL in    */    \
        /* [0, W)); a row's last step may spill into the next row, which is written after. */    \
        __m256i colmask[8];                                                                        \
        const int steps = (Wp + 7) / 8;                                                            \
        if (steps > 8) return 0;                                                                   \
        for (int q = 0; q < steps; q++) {                                                          \
            const __m256i col = _mm256_add_epi32(_mm256_set1_epi32(q * 8 - g->padL),               \
                                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));       \
            colmask[q] = _mm256_and_si256(_mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1)),          \
                                          _mm256_cmpgt_epi32(_mm256_set1_epi32(g->W), col));       \
        }                                                                                          \
        for (int c = c0; c < c1; c++) {                                                            \
            for (int n = 0; n < nimg; n++) {                                                       \
                const float *src = x + (n0 + n) * g->xImage + c * plane;                           \
                float *st = stage + soff[n];                                                       \
                /* The block's rows of this image's plane WK_PF_DIST channels ahead are one  */   \
                /* contiguous span: prefetch it (measured: without it, the row loads below   */   \
                /* were a third of the input transform of AlexNet conv5 at batch 8).         */   \
                if (c + WK_PF_DIST < c1) {                                                         \
                    int ylo = r0[n] - g->padT, yhi = r0[n] + nrows[n] - g->padT;                   \
                    ylo = ylo < 0 ? 0 : ylo;                                                       \
                    yhi = yhi > g->H ? g->H : yhi;                                                 \
                    const float *pf = src + WK_PF_DIST * plane + (long)ylo * g->W;                 \
                    const long span = (long)(yhi - ylo) * g->W;                                    \
                    for (long q = 0; q < span; q += 16) __builtin_prefetch(pf + q);                \
                    if (span > 0) __builtin_prefetch(pf + span - 1);                               \
                }                                                                                  \
                for (int r = 0; r < nrows[n]; r++) {                                               \
                    const int iy = r0[n] + r - g->padT;                                            \
                    float *row = st + r * Wp;                                                      \
                    if (iy < 0 || iy >= g->H) {                                                    \
                        for (int q = 0; q < steps; q++) _mm256_storeu_ps(row + q * 8, V_ZERO());   \
                        continue;                                                                  \
                    }                                                                              \
                    const float *in = src + (long)iy * g->W - g->padL;                             \
                    for (int q = 0; q < steps; q++)                                                \
                        _mm256_storeu_ps(row + q * 8, _mm256_maskload_ps(in + q * 8, colmask[q])); \
                }                                                                                  \
            }                                                                                      \
            float *dst = V + (long)c * g->TB;                                                      \
            for (int grp = 0; grp < groups; grp++) {                                               \
                VT u[A * A];                                                                       \
                const int *o = off + grp * VW;                                                     \
                for (int i = 0; i < A; i++) {                                                      \
                    const float *p = stage + i * Wp;                                               \
                    VT r[A];                                                                       \
                    if (A == 4) FN(cols4)(p, o, 0, r);                                             \
                    else if (A == 8) { FN(cols4)(p, o, 0, r); FN(cols4)(p, o, 4, r + 4); }         \
                    else {                                                                         \
                        VT t[4];                                                                   \
                        FN(cols4)(p, o, 0, r);                                                     \
                        FN(cols4)(p, o, 2, t);                                                     \
                        r[4] = t[2];                                                               \
                        r[5] = t[3];                                                               \
                    }                                                                              \
                    FN(bt1d_##N)(r, 1, u + i * A, 1);                                              \
                }                                                                                  \
                FN(bt_cols_##N)(u, dst + grp * VW, xistride, live);                                \
            }                                                                                      \
        }                                                                                          \
        return 1;                                                                                  \
    }
// Small planes, AVX2, direct: each lane's patch rows are read from the plane itself as 4-float
// pieces with masked loads (zero outside the plane; offsets and masks computed once per block),
// two tiles per vector, and transposed in registers as in the staged path. No copy: the staged
// path's stores (a third of the input transform's) are gone. Measured (input transform alone,
// paired, one thread): AlexNet conv5's 13x13 planes at batch 1 0.66x the staged time, 6x6
// planes at batch 8 0.70x, F(2x2,3x3) 7x7 0.79x, F(4x4,5x5) 13x13 0.76x; F(4x4,5x5) on 27x27
// planes (vectors across tile rows, 16 pieces per patch row) was 1.13x: staged there.
// Masked-off lanes are never read, so the offsets of pieces left of a plane's first column
// may point before it. Returns 0 (caller stages) where it does not apply.
#define DEFINE_DIRECT(N, A, MM)                                                                    \
    ATTR static int FN(input_direct_##N)(const wk_wino_geom *g, const float *x, int t0, int tb,    \
                                         int c0, int c1, float *V, const uint8_t *live) {          \
        enum { NQ = A == 4 ? 1 : 2, MAXG = 8 };                                                    \
        const int groups = g->TBc / VW;                                                            \
        if (groups > MAXG) return 0;                                                               \
        int off[MAXG][A][NQ][VW];                                                                  \
        __m128i msk[MAXG][A][NQ][VW];                                                              \
        const int n0 = t0 / g->T, nimg = (t0 + tb - 1) / g->T - n0 + 1;                            \
        if (nimg > 64) return 0;                                                                   \
        long pflo[64], pflen[64];                                                                  \
        for (int n = 0; n < nimg; n++) {                                                           \
            const int img = n0 + n;                                                                \
            const int first = (t0 > img * g->T ? t0 : img * g->T) - img * g->T;                    \
            const int last = (t0 + tb - 1 < img * g->T + g->T - 1 ? t0 + tb - 1 : img * g->T + g->T - 1) - img * g->T; \
            int ylo = (first / g->tilesW) * MM - g->padT, yhi = (last / g->tilesW) * MM + A - g->padT; \
            ylo = ylo < 0 ? 0 : ylo;                                                               \
            yhi = yhi > g->H ? g->H : yhi;                                                         \
            pflo[n] = img * g->xImage + (long)ylo * g->W;                                          \
            pflen[n] = yhi > ylo ? (long)(yhi - ylo) * g->W : 0;                                   \
        }                                                                                          \
        /* adj[grp]: each lane's tile but the last of each half is followed by the next in */      \
        /* its tile row, so elements 4.. of lane k's patch row are elements 0.. of lane k+1's */   \
        /* (one 4-float piece per lane and patch row instead of two). F(4x4,5x5) without it   */   \
        /* reads 16 pieces per patch row: the staged copy is faster there (measured).         */   \
        int adj[MAXG];                                                                             \
        for (int grp = 0; grp < groups; grp++) {                                                   \
            adj[grp] = grp * VW + VW <= tb;                                                        \
            for (int l = 0; l < VW; l++) {                                                         \
                if ((l & 3) == 3) continue;                                                        \
                const int tile = t0 + grp * VW + l;                                                \
                if ((tile + 1) % g->T == 0 || (tile % g->T) % g->tilesW == g->tilesW - 1) adj[grp] = 0; \
            }                                                                                      \
            if (A == 8 && !adj[grp]) return 0;                                                     \
        }                                                                                          \
        /* Per lane, patch row and piece: offset in the channel's plane and the mask of the */     \
        /* piece's elements inside the plane (a row outside it: offset of the image, mask 0). */   \
        const __m128i lane4 = _mm_setr_epi32(0, 1, 2, 3), minus1 = _mm_set1_epi32(-1);             \
        const __m128i wv = _mm_set1_epi32(g->W);                                                   \
        for (int grp = 0; grp < groups; grp++)                                                     \
            for (int l = 0; l < VW; l++) {                                                         \
                const int tile = t0 + (grp * VW + l < tb ? grp * VW + l : 0), tl = tile % g->T;    \
                const long base = (tile / g->T) * g->xImage;                                       \
                const int iy0 = (tl / g->tilesW) * MM - g->padT, ix0 = (tl % g->tilesW) * MM - g->padL; \
                __m128i cm[NQ];                                                                    \
                for (int q = 0; q < NQ; q++) {                                                     \
                    const __m128i ix = _mm_add_epi32(_mm_set1_epi32(ix0 + 4 * q), lane4);           \
                    cm[q] = _mm_and_si128(_mm_cmpgt_epi32(ix, minus1), _mm_cmpgt_epi32(wv, ix));    \
                }                                                                                  \
                for (int i = 0; i < A; i++) {                                                      \
                    const int iy = iy0 + i, rowok = iy >= 0 && iy < g->H;                          \
                    for (int q = 0; q < NQ; q++) {                                                 \
                        off[grp][i][q][l] = rowok ? (int)(base + (long)iy * g->W + ix0 + 4 * q) : (int)base; \
                        msk[grp][i][q][l] = rowok ? cm[q] : _mm_setzero_si128();                   \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        const long plane = (long)g->H * g->W, xistride = (long)g->C * g->TB + WK_PAD;              \
        for (int c = c0; c < c1; c++) {                                                            \
            const float *src = x + c * plane;                                                      \
            if (c + WK_PF_DIST < c1)                                                               \
                for (int n = 0; n < nimg; n++) {                                                   \
                    const float *pf = src + WK_PF_DIST * plane + pflo[n];                          \
                    for (long q = 0; q < pflen[n]; q += 16) __builtin_prefetch(pf + q);            \
                    if (pflen[n] > 0) __builtin_prefetch(pf + pflen[n] - 1);                       \
                }                                                                                  \
            float *dst = V + (long)c * g->TB;                                                      \
            for (int grp = 0; grp < groups; grp++) {                                               \
                VT u[A * A];                                                                       \
                for (int i = 0; i < A; i++) {                                                      \
                    VT r[A < 8 ? 8 : A], a[4];                                                     \
                    const int *o = off[grp][i][0];                                                 \
                    const __m128i *mk = msk[grp][i][0];                                            \
                    if (NQ == 2 && adj[grp]) {                                                     \
                        /* Each half's pieces are 4 floats apart from its first: one offset. */   \
                        const float *p0 = src + o[0], *p1 = src + o[4];                            \
                        const __m128i *mk1 = msk[grp][i][NQ - 1];                                  \
                        for (int k = 0; k < 4; k++) a[k] = FN(pieces2)(p0 + 4 * k, mk[k], p1 + 4 * k, mk[k + 4]); \
                        FN(tr4)(a[0], a[1], a[2], a[3], r);                                        \
                        FN(tr4)(a[1], a[2], a[3], FN(pieces2)(p0 + 16, mk1[3], p1 + 16, mk1[7]), r + 4); \
                    } else                                                                         \
                        for (int q = 0; q < NQ; q++) {                                             \
                            const int *oq = off[grp][i][q];                                        \
                            const __m128i *mq = msk[grp][i][q];                                    \
                            for (int k = 0; k < 4; k++) a[k] = FN(pieces2)(src + oq[k], mq[k], src + oq[k + 4], mq[k + 4]); \
                            FN(tr4)(a[0], a[1], a[2], a[3], r + 4 * q);                            \
                        }                                                                          \
                    FN(bt1d_##N)(r, 1, u + i * A, 1);                                              \
                }                                                                                  \
                FN(bt_cols_##N)(u, dst + grp * VW, xistride, live);                                \
            }                                                                                      \
        }                                                                                          \
        return 1;                                                                                  \
    }
DEFINE_DIRECT(2, 4, 2)
DEFINE_DIRECT(4, 6, 4)
DEFINE_DIRECT(5, 8, 4)
#undef DEFINE_DIRECT
#else
#define DEFINE_STAGED(N, A, MM)                                                                    \
    INL int FN(input_staged_##N)(const wk_wino_geom *g, const float *x, int t0, int tb,            \
                                 int c0, int c1, float *V, const uint8_t *live) {                  \
        (void)g; (void)x; (void)t0; (void)tb; (void)c0; (void)c1; (void)V; (void)live;             \
        return 0;                                                                                  \
    }
#endif
#if VW != 8
#define DEFINE_DIRECT(N, A, MM)                                                                    \
    INL int FN(input_direct_##N)(const wk_wino_geom *g, const float *x, int t0, int tb,            \
                                 int c0, int c1, float *V, const uint8_t *live) {                  \
        (void)g; (void)x; (void)t0; (void)tb; (void)c0; (void)c1; (void)V; (void)live;             \
        return 0;                                                                                  \
    }
DEFINE_DIRECT(2, 4, 2)
DEFINE_DIRECT(4, 6, 4)
DEFINE_DIRECT(5, 8, 4)
#undef DEFINE_DIRECT
#endif
DEFINE_STAGED(2, 4, 2)
DEFINE_STAGED(4, 6, 4)
DEFINE_STAGED(5, 8, 4)
#undef DEFINE_STAGED

// Row groups at the plane's borders read their patch rows with masked loads. AVX2: the masks
// (4 or 2 loads per row, plus the validity of the A - MM elements shifted in) depend only on
// the group's first column, so they are computed once per block, not per row and channel.
#if VW == 8
#define ROW_MASK_DECL(MM, A) __m256i lmask[NG][MM]; int xok[NG][A - MM];
#define ROW_MASKS(MM, A)                                                                           \
    for (int q = 0; q < MM; q++) {                                                                 \
        const __m256i col = _mm256_add_epi32(_mm256_set1_epi32(fx[grp] + 8 * q),                   \
                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));           \
        lmask[grp][q] = _mm256_and_si256(_mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1)),           \
                                         _mm256_cmpgt_epi32(_mm256_set1_epi32(g->W), col));        \
    }                                                                                              \
    for (int j = 0; j < A - MM; j++) {                                                             \
        const int col = fx[grp] + 8 * MM + j;                                                      \
        xok[grp][j] = col >= 0 && col < g->W;                                                      \
    }
#define PATCH_ROW(N, p, grp, r)                                                                    \
    do {                                                                                           \
        if (masked[grp]) FN(patch_row_masked_##N)(p, lmask[grp], xok[grp], r);                     \
        else FN(patch_row_##N)(p, 0, 0, 0, r);                                                     \
    } while (0)
// Masked variant of patch_row (AVX2): masks from ROW_MASKS.
#define DEFINE_PATCH_ROW_MASKED(N, A, MM)                                                          \
    INL void FN(patch_row_masked_##N)(const float *p, const __m256i *lm, const int *xok, VT *r) {  \
        VT q[MM];                                                                                  \
        for (int k = 0; k < MM; k++) q[k] = _mm256_maskload_ps(p + 8 * k, lm[k]);                  \
        FN(deint_regs##MM)(q, r);                                                                  \
        const __m256i rot = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0);                             \
        for (int j = MM; j < A; j++) {                                                             \
            const float next = xok[j - MM] ? p[8 * MM + j - MM] : 0.0f;                            \
            r[j] = _mm256_blend_ps(_mm256_permutevar8x32_ps(r[j - MM], rot), _mm256_set1_ps(next), 0x80); \
        }                                                                                          \
    }
DEFINE_PATCH_ROW_MASKED(2, 4, 2)
DEFINE_PATCH_ROW_MASKED(4, 6, 4)
DEFINE_PATCH_ROW_MASKED(5, 8, 4)
#undef DEFINE_PATCH_ROW_MASKED
#else
#define ROW_MASK_DECL(MM, A)
#define ROW_MASKS(MM, A)
#define PATCH_ROW(N, p, grp, r) FN(patch_row_##N)(p, fx[grp], g->W, masked[grp], r)
#endif

// Input transform of the block's tiles t0 ..< t0 + tb for all channels, channel by channel
// (each V row of TB floats is written at once, and each channel's input rows are read
// while they are in cache), one vector group of VW tiles after the other.
#define DEFINE_INPUT(N, A, MM)                                                                     \
    ATTR static void FN(input_##N)(const wk_wino_geom *g, const float *x, int t0, int tb,          \
                                   int c0, int c1, float *V, const uint8_t *live) {                \
        if (g->tilesW < VW && g->rowLanes <= 0 && wk_staging_mode >= 2 && FN(input_direct_##N)(g, x, t0, tb, c0, c1, V, live)) return; \
        if (g->tilesW < VW && g->rowLanes <= 0 && wk_staging_mode && FN(input_staged_##N)(g, x, t0, tb, c0, c1, V, live)) return; \
        enum { NG = 64 / VW };                                                                     \
        int32_t idx[NG][A * A][VW] __attribute__((aligned(64)));                                   \
        int32_t ok[NG][A * A][VW] __attribute__((aligned(64)));                                    \
        int fy[NG], fx[NG], row_group[NG], masked[NG];                                             \
        ROW_MASK_DECL(MM, A)                                                                       \
        long xoff[NG];                                                                             \
        const int groups = (g->TBc + VW - 1) / VW;                                                 \
        for (int grp = 0; grp < groups; grp++) {                                                   \
            int first;                                                                             \
            const int live = wk_lane_run(g, t0, tb, grp * VW, VW, &first), tl0 = first % g->T;     \
            xoff[grp] = (first / g->T) * g->xImage;                                                \
            fy[grp] = (tl0 / g->tilesW) * MM - g->padT;                                            \
            fx[grp] = (tl0 % g->tilesW) * MM - g->padL;                                            \
            /* Row group: the live tiles lie in one tile row. Each patch row is then read with */  \
            /* contiguous (masked at the borders) loads and lane shuffles instead of gathers.  */  \
            row_group[grp] = live > 0 && (first % g->tilesW) + live <= g->tilesW;                  \
            masked[grp] = fx[grp] < 0 || fx[grp] + VW * MM + MM > g->W;                            \
            ROW_MASKS(MM, A)                                                                       \
            if (row_group[grp]) continue;                                                          \
            for (int l = 0; l < VW; l++) {                                                         \
                const int tile = first + (l < live ? l : 0), tl = tile % g->T;                     \
                const int base = (int)((tile / g->T) * g->xImage);                                 \
                int iy0 = (tl / g->tilesW) * MM - g->padT, ix0 = (tl % g->tilesW) * MM - g->padL;  \
                for (int i = 0; i < A; i++)                                                        \
                    for (int j = 0; j < A; j++) {                                                  \
                        int iy = iy0 + i, ix = ix0 + j;                                            \
                        int in = l < live && iy >= 0 && iy < g->H && ix >= 0 && ix < g->W;         \
                        idx[grp][i * A + j][l] = in ? base + iy * g->W + ix : 0;                   \
                        ok[grp][i * A + j][l] = in ? -1 : 0;                                       \
                    }                                                                              \
            }                                                                                      \
        }                                                                                          \
        const long plane = (long)g->H * g->W, xistride = (long)g->C * g->TB + WK_PAD;              \
        for (int c = c0; c < c1; c++) {                                                            \
            const float *src = x + c * plane;                                                      \
            /* Planes are far apart: prefetch the block's rows of channel c + WK_PF_DIST, which */ \
            /* the hardware prefetcher cannot predict (measured: input loads were 35% of the */    \
            /* time of VGG16 conv1_2).                                                         */  \
            /* (Stacked tile rows: each row's span.)                                           */ \
            for (int s0 = 0; c + WK_PF_DIST < c1 && s0 < tb; s0 += g->rowLanes > 0 ? g->rowLanes : tb) { \
                const int gs = s0 / VW, n = g->rowLanes > 0 ? (tb - s0 < g->tilesW ? tb - s0 : g->tilesW) : tb; \
                if (!row_group[gs]) continue;                                                      \
                const int lo = fx[gs] < 0 ? 0 : fx[gs];                                            \
                int hi = fx[gs] + n * MM + A - MM;                                                 \
                hi = hi > g->W ? g->W : hi;                                                        \
                for (int i = 0; i < A; i++) {                                                      \
                    const int iy = fy[gs] + i;                                                     \
                    if (iy < 0 || iy >= g->H) continue;                                            \
                    const float *row = src + xoff[gs] + WK_PF_DIST * plane + (long)iy * g->W;      \
                    for (int q = lo; q < hi; q += 16) __builtin_prefetch(row + q);                 \
                    __builtin_prefetch(row + hi - 1);                                              \
                }                                                                                  \
            }                                                                                      \
            float *dst = V + (long)c * g->TB;                                                      \
            for (int grp = 0; grp < groups; grp++) {                                               \
                VT u[A * A];                                                                       \
                for (int i = 0; i < A; i++) {                                                      \
                    VT r[A];                                                                       \
                    if (row_group[grp]) {                                                          \
                        const int iy = fy[grp] + i;                                                \
                        if (iy < 0 || iy >= g->H) {                                                \
                            for (int j = 0; j < A; j++) u[i * A + j] = V_ZERO();                   \
                            continue;                                                              \
                        }                                                                          \
                        PATCH_ROW(N, src + xoff[grp] + (long)iy * g->W + fx[grp], grp, r);         \
                    } else                                                                         \
                        for (int j = 0; j < A; j++) r[j] = GATHER(src, idx[grp][i * A + j], ok[grp][i * A + j]); \
                    FN(bt1d_##N)(r, 1, u + i * A, 1);                                              \
                }                                                                                  \
                FN(bt_cols_##N)(u, dst + grp * VW, xistride, live);                                \
            }                                                                                      \
        }                                                                                          \
    }
DEFINE_INPUT(2, 4, 2)
DEFINE_INPUT(4, 6, 4)
DEFINE_INPUT(5, 8, 4)
#undef DEFINE_INPUT
#undef ROW_MASK_DECL
#undef ROW_MASKS
#undef PATCH_ROW

ATTR static void FN(input)(const wk_wino_geom *g, const float *x, int t0, int tb, int c0, int c1, float *V,
                           const uint8_t *live) {
    if (g->variant == 1) FN(input_2)(g, x, t0, tb, c0, c1, V, live);
    else if (g->variant == 2) FN(input_4)(g, x, t0, tb, c0, c1, V, live);
    else FN(input_5)(g, x, t0, tb, c0, c1, V, live);
}

// Tiles of a raster-order group (not one contiguous output row). AVX2: each tile's output
// rows are stored with one 4-float (or 2-float) store each, masked at the right edge,
// instead of per-lane scalar stores. AVX-512: masked scatters. tbase[l] is the offset of
// lane l's tile in dst (rows and columns clipped to trows/tcols; trows 0 for dead lanes).
#if VW == 8
// The first n (0..4) floats of q. Plain stores: AMD Zen 1-3 run vmaskmovps stores in
// microcode (measured here: 6x the time of a scalar store), and every right-edge tile of a
// plane whose width is not a multiple of the tile takes this path.
INL void FN(store_n4)(float *p, __m128 q, int n) {
    if (n == 4) { _mm_storeu_ps(p, q); return; }
    if (n >= 2) _mm_storel_pi((__m64 *)p, q);
    if (n == 1) _mm_store_ss(p, q);
    else if (n == 3) _mm_store_ss(p + 2, _mm_movehl_ps(q, q));
}
INL void FN(store_tiles4)(const VT *yv, const int32_t *tbase, const int8_t *trows, const int8_t *tcols,
                          int ow, float *dst) {
    for (int i = 0; i < 4; i++) {
        VT out[4];
        FN(inter4)(yv + i * 4, out);   // out[q] = [tile 2q | tile 2q + 1], row i
        for (int l = 0; l < 8; l++) {
            if (i >= trows[l]) continue;
            const __m128 q = (l & 1) ? _mm256_extractf128_ps(out[l >> 1], 1) : _mm256_castps256_ps128(out[l >> 1]);
            FN(store_n4)(dst + tbase[l] + (long)i * ow, q, tcols[l]);
        }
    }
}
INL void FN(store_tiles2)(const VT *yv, const int32_t *tbase, const int8_t *trows, const int8_t *tcols,
                          int ow, float *dst) {
    for (int i = 0; i < 2; i++) {
        VT out[2];
        FN(inter2)(yv + i * 2, out);   // out[0] = tiles 0-3, out[1] = tiles 4-7 (2 floats each), row i
        for (int l = 0; l < 8; l++) {
            if (i >= trows[l]) continue;
            const __m128 q = ((l >> 1) & 1) ? _mm256_extractf128_ps(out[l >> 2], 1) : _mm256_castps256_ps128(out[l >> 2]);
            float *p = dst + tbase[l] + (long)i * ow;
            if (tcols[l] == 2) {
                if (l & 1) _mm_storeh_pi((__m64 *)p, q);
                else _mm_storel_pi((__m64 *)p, q);
            } else {
                float lanes[4];
                _mm_storeu_ps(lanes, q);
                p[0] = lanes[(l & 1) * 2];
            }
        }
    }
}
// The first n floats of half a vector's output row (VW / 2 tiles along one tile row):
// out[0], out[1] (MM = 4: 16 floats) or out[0] (MM = 2: 8 floats), plain stores.
INL void FN(store_half4)(float *p, const VT *out, int n) {
    if (n >= 8) {
        _mm256_storeu_ps(p, out[0]);
        if (n >= 16) _mm256_storeu_ps(p + 8, out[1]);
        else FN(store_part)(p + 8, out[1], n - 8);
    } else FN(store_part)(p, out[0], n);
}
INL void FN(store_half2)(float *p, const VT *out, int n) {
    if (n >= 8) _mm256_storeu_ps(p, out[0]);
    else FN(store_part)(p, out[0], n);
}
#define HALF_ROWS wk_staging_mode
#define STORE_TILES(MM, yv, oidx, ook, tbase, trows, tcols, ow, dst)                              \
    do {                                                                                          \
        if (wk_staging_mode) FN(store_tiles##MM)(yv, tbase, trows, tcols, ow, dst);                 \
        else                                                                                      \
            for (int e = 0; e < MM * MM; e++) STORE_LANES(dst, oidx[e], ook[e], yv[e]);           \
    } while (0)
#else
#define HALF_ROWS 0
INL void FN(store_half4)(float *p, const VT *out, int n) { (void)p; (void)out; (void)n; }
INL void FN(store_half2)(float *p, const VT *out, int n) { (void)p; (void)out; (void)n; }
#define STORE_TILES(MM, yv, oidx, ook, tbase, trows, tcols, ow, dst)                              \
    for (int e = 0; e < MM * MM; e++) STORE_LANES(dst, oidx[e], ook[e], yv[e])
#endif

// Output transform of one vector group for out-channel k: M -> y plane (+ bias, ReLU).
// A whole row group (the common case) runs row by row: the columns' transforms first (t),
// then each output row's transform, ReLU, interleave and stores, so that no output is kept in
// memory for the other store paths (which made the compiler write all of them to the stack;
// measured with `make kernel-ab`, paired, 2 threads: VGG16 conv1_2 2.6-3.2%, conv2_1 1-2%,
// conv3_1 1.5% faster, the others within +-0.5%).
// The output transform in two steps, as at2d_N (same operations, same bits): the columns of
// A^T M into t (the bias added at position (1, 1)), then output row i (ReLU, interleaved into
// the tiles' rows).
#define DEFINE_OUT_PARTS(N, A, MM)                                                                 \
    INL void FN(out_cols_##N)(const float *M, const int32_t *moff, int lane0, float b, VT *t) {    \
        for (int j = 0; j < A; j++) {                                                              \
            VT col[A];                                                                             \
            for (int r = 0; r < A; r++) col[r] = V_LOAD(M + moff[r * A + j] + lane0);              \
            if (j == 1) col[1] = V_ADD(col[1], V_SET1(b));                                         \
            FN(at1d_##N)(col, 1, t + j, A);                                                        \
        }                                                                                          \
    }                                                                                              \
    INL void FN(out_row_##N)(const VT *t, int i, int relu, VT *out) {                              \
        VT yr[MM];                                                                                 \
        FN(at1d_##N)(t + i * A, 1, yr, 1);                                                         \
        if (relu)                                                                                  \
            for (int q = 0; q < MM; q++) yr[q] = V_MAX(yr[q], V_ZERO());                           \
        FN(inter##MM)(yr, out);                                                                    \
    }
DEFINE_OUT_PARTS(2, 4, 2)
DEFINE_OUT_PARTS(4, 6, 4)
DEFINE_OUT_PARTS(5, 8, 4)
#undef DEFINE_OUT_PARTS

#define DEFINE_OUTPUT(N, A, MM)                                                                    \
    ATTR static void FN(output_##N)(const float *M, const int32_t *moff, int lane0,                \
                                    const int32_t (*oidx)[VW], const int32_t (*ook)[VW],          \
                                    const int32_t *tbase, const int8_t *trows, const int8_t *tcols, \
                                    long obase, int orows, int ocount, const long *hbase,         \
                                    const int *hcount, const int *hrows, int ow, float b, int relu, \
                                    float *dst, int nt) {                                          \
        /* Column 1 of A^T is all ones (the point 1), so adding the bias at position (1, 1) */    \
        /* adds it to every output of the tile: one add instead of MM * MM.                 */    \
        if (ocount == VW * MM && orows >= MM) {                                                    \
            /* Whole row group: straight-line stores; non-temporal (nt) where the rows are */     \
            /* whole cache lines of a large output. Same operations as at2d_N, same bits.   */    \
            VT t[MM * A];                                                                          \
            FN(out_cols_##N)(M, moff, lane0, b, t);                                                \
            for (int i = 0; i < MM; i++) {                                                         \
                VT out[MM];                                                                        \
                FN(out_row_##N)(t, i, relu, out);                                                  \
                float *o = dst + obase + (long)i * ow;                                             \
                if (nt)                                                                            \
                    for (int q = 0; q < MM; q++) V_STREAM(o + q * VW, out[q]);                     \
                else                                                                               \
                    for (int q = 0; q < MM; q++) V_STOREU(o + q * VW, out[q]);                     \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        if (HALF_ROWS && hcount[0] >= 0 && hcount[1] >= 0) {                                       \
            /* AVX2: each half of the vector (4 tiles) lies in one tile row, or is dead: its */   \
            /* output rows are hcount contiguous floats, stored as in a row group (small     */   \
            /* planes 4-7 tiles wide; measured, paired, one thread: AlexNet conv3-conv5 and  */   \
            /* VGG16 conv5_1 2-8% faster than storing tile by tile).                         */   \
            VT t[MM * A];                                                                          \
            FN(out_cols_##N)(M, moff, lane0, b, t);                                                \
            for (int i = 0; i < MM && (i < hrows[0] || i < hrows[1]); i++) {                       \
                VT out[MM];                                                                        \
                FN(out_row_##N)(t, i, relu, out);                                                  \
                for (int h = 0; h < 2; h++)                                                        \
                    if (i < hrows[h]) FN(store_half##MM)(dst + hbase[h] + (long)i * ow, out + h * (MM / 2), hcount[h]); \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        VT m[A * A], yv[MM * MM];                                                                  \
        for (int e = 0; e < A * A; e++) m[e] = V_LOAD(M + moff[e] + lane0);                        \
        m[A + 1] = V_ADD(m[A + 1], V_SET1(b));                                                     \
        FN(at2d_##N)(m, yv);                                                                       \
        if (relu) {                                                                                \
            const VT zero = V_ZERO();                                                              \
            for (int e = 0; e < MM * MM; e++) yv[e] = V_MAX(yv[e], zero);                          \
        }                                                                                          \
        if (ocount > 0) {                                                                          \
            /* Row group: each output row of the tiles is up to VW * MM contiguous floats. */     \
            for (int i = 0; i < MM && i < orows; i++) {                                            \
                VT out[MM];                                                                        \
                FN(inter##MM)(yv + i * MM, out);                                                   \
                float *o = dst + obase + (long)i * ow;                                             \
                for (int q = 0; q < MM && q * VW < ocount; q++) {                                  \
                    if ((q + 1) * VW <= ocount) V_STOREU(o + q * VW, out[q]);                      \
                    else FN(store_part)(o + q * VW, out[q], ocount - q * VW);                      \
                }                                                                                  \
            }                                                                                      \
        } else {                                                                                   \
            STORE_TILES(MM, yv, oidx, ook, tbase, trows, tcols, ow, dst);                          \
        }                                                                                          \
    }
DEFINE_OUTPUT(2, 4, 2)
DEFINE_OUTPUT(4, 6, 4)
DEFINE_OUTPUT(5, 8, 4)
#undef DEFINE_OUTPUT

// Dense weights (dense layers, and positions stored dense in sparse ones): each (position,
// group) segment of kg rows x C is packed (`wk_dense_index`): 6-row strips with the 6 rows'
// entries of each channel together, then the kg % 6 leftover rows row by row.
// M[xi][kk][0..TBc) for kk < kn as a register-blocked product, 6 out-channels x 2 vectors of
// tiles per step (12 accumulators; per channel 2 loads of V and 6 broadcasts, from one
// sequential stream of weights, feed 12 FMAs). Each element sums c in increasing order in one
// accumulator: the result depends only on the row, not on how rows are grouped.
INL void FN(dense_rows)(const float *Vx, int TB, int C, const float *w, const long ws, const long cs, const int R,
                        const int NV, float *out, long ostride) {
    VT acc[6][2];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = V_ZERO();
    for (int c = 0; c < C; c++) {
        const float *p = Vx + (long)c * TB;
        VT x0 = V_LOAD(p), x1 = NV > 1 ? V_LOAD(p + VW) : x0;
        for (int r = 0; r < R; r++) {
            const VT wr = V_SET1(w[r * ws + c * cs]);
            acc[r][0] = V_FMA(wr, x0, acc[r][0]);
            if (NV > 1) acc[r][1] = V_FMA(wr, x1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) V_STORE(out + r * ostride + v * VW, acc[r][v]);
}

// Rows k0 ..< k0 + kn of one position's group segment seg (packed, kfull = kg / 6 * 6 rows in
// strips): whole strips 6 rows at a time, other rows one at a time. (kfull 0: every row row
// by row, 6 rows at a time all the same.)
INL void FN(dense_position)(const float *Vx, int TB, int TBc, int C, const float *seg, int kfull, int k0,
                            int kn, float *out) {
    for (int v0 = 0; v0 < TBc; v0 += 2 * VW) {
        const int two = TBc - v0 >= 2 * VW;
        for (int kk = 0; kk < kn;) {
            const int k = k0 + kk;
            float *o = out + (long)kk * TBc + v0;
            const int strip = k % 6 == 0 && k + 6 <= kfull && kk + 6 <= kn;
            if (strip || (kfull == 0 && kk + 6 <= kn)) {
                const long ws = strip ? 1 : C, cs = strip ? 6 : 1;
                if (two) FN(dense_rows)(Vx + v0, TB, C, seg + (long)k * C, ws, cs, 6, 2, o, TBc);
                else FN(dense_rows)(Vx + v0, TB, C, seg + (long)k * C, ws, cs, 6, 1, o, TBc);
                kk += 6;
                continue;
            }
            const float *w = seg + wk_dense_index(k, 0, C, kfull);
            const long cs = k < kfull ? 6 : 1;
            if (two) FN(dense_rows)(Vx + v0, TB, C, w, 0, cs, 1, 2, o, TBc);
            else FN(dense_rows)(Vx + v0, TB, C, w, 0, cs, 1, 1, o, TBc);
            kk++;
        }
    }
}

ATTR static void FN(products_dense)(const float *V, long xistride, int a2, int TB, int TBc, int C,
                                    const int32_t *row_ptr, const float *values, long row_stride,
                                    long row_base, int kc, int kfull, int kn, float *M) {
    for (int xi = 0; xi < a2; xi++)
        FN(dense_position)(V + xi * xistride, TB, TBc, C, values + row_ptr[row_stride * xi + row_base], kfull, kc, kn,
                           M + (long)xi * ((long)kn * TBc + WK_PAD));
}

// out[0..NV*VW) = sum over CSR entries e..<e1 of w * Vx[col]; NV (1..8) vectors per row.
// S interleaved partial sums (entry index mod S; S = 8 / NV for NV <= 2, 2 for NV 3-4,
// else 1) keep about 8 FMA chains in flight; leftover entries go to the first set; the sets
// are added in a fixed tree order, so the result depends only on the row (and NV). Rows of
// fewer than S entries sum in one set.
#define ROWS_NV(IDX, NV)                                                                           \
    for (int kk = 0; kk < kn; kk++, out += TBc)                                                    \
        if (!skip || rp[kk] < rp[kk + 1]) FN(row_product_##IDX)(Vx, rp[kk], rp[kk + 1], col_off, tbs, values, NV, out)
/* OFF(i): offset c * TB of entry i (tbs = log2 TB, used by the 8-bit channel indices). */
#define OFF_32(i) (col_off[i])
#define OFF_16(i) (col_off[i])
#define OFF_8(i) ((int)col_off[i] << tbs)
#define DEFINE_ROW(IDX, IT)                                                                        \
    INL void FN(row_product_##IDX)(const float *Vx, int e, const int e1, const IT *col_off,        \
                                   const int tbs, const float *values, const int NV, float *out) { \
        const int S = NV >= 5 ? 1 : (NV >= 3 ? 2 : 8 / NV);                                        \
        if (e1 - e < S) {                                                                          \
            /* Fewer entries than partial sums (the near-empty rows of sparse positions): one */  \
            /* sum and no tree (measured: 1-5% faster on wino-bench's layers).                */  \
            VT acc[8];                                                                             \
            for (int v = 0; v < NV; v++) acc[v] = V_ZERO();                                        \
            for (; e < e1; e++) {                                                                  \
                const float *p = Vx + OFF_##IDX(e);                                                \
                const VT w = V_SET1(values[e]);                                                    \
                for (int v = 0; v < NV; v++) acc[v] = V_FMA(w, V_LOAD(p + v * VW), acc[v]);        \
            }                                                                                      \
            for (int v = 0; v < NV; v++) V_STORE(out + v * VW, acc[v]);                            \
            return;                                                                                \
        }                                                                                          \
        VT acc[8];                                                                                 \
        for (int i = 0; i < S * NV; i++) acc[i] = V_ZERO();                                        \
        for (; e + S <= e1; e += S)                                                                \
            for (int s = 0; s < S; s++) {                                                          \
                const float *p = Vx + OFF_##IDX(e + s);                                            \
                const VT w = V_SET1(values[e + s]);                                                \
                for (int v = 0; v < NV; v++) acc[s * NV + v] = V_FMA(w, V_LOAD(p + v * VW), acc[s * NV + v]); \
            }                                                                                      \
        for (; e < e1; e++) {                                                                      \
            const float *p = Vx + OFF_##IDX(e);                                                    \
            const VT w = V_SET1(values[e]);                                                        \
            for (int v = 0; v < NV; v++) acc[v] = V_FMA(w, V_LOAD(p + v * VW), acc[v]);            \
        }                                                                                          \
        for (int width = S / 2; width >= 1; width /= 2)                                            \
            for (int s = 0; s < width; s++)                                                        \
                for (int v = 0; v < NV; v++) acc[s * NV + v] = V_ADD(acc[s * NV + v], acc[(s + width) * NV + v]); \
        for (int v = 0; v < NV; v++) V_STORE(out + v * VW, acc[v]);                                \
    }                                                                                              \
    /* M[xi][kk][0..TBc) for kk < kn: position-major, so that each V[xi] slab (C * TB floats) */   \
    /* stays in cache while all kn out-channels use it. With skip, empty rows store nothing   */   \
    /* (row_pos marks them: the output transform reads a zero row for them instead).         */   \
    /* (M rows in stored order: the output transform finds out-channel k's through row_pos.) */ \
    /* Positions with pos_dense[xi] set hold every entry of their rows (in column order):  */ \
    /* the register-blocked dense product runs them.                                        */ \
    ATTR static void FN(products_##IDX)(const float *V, long xistride, int a2, int TBc, int tbs,   \
                                        int C, const uint8_t *pos_dense, int skip,                 \
                                        const int32_t *row_ptr, const IT *col_off,                 \
                                        const float *values, long row_stride, long row0, int kc,   \
                                        int kfull, int kn, float *M) {                             \
        for (int xi = 0; xi < a2; xi++) {                                                          \
            const float *Vx = V + xi * xistride;                                                   \
            const int32_t *rp = row_ptr + row_stride * xi + row0;                                  \
            float *out = M + (long)xi * ((long)kn * TBc + WK_PAD);                                 \
            if (pos_dense && pos_dense[xi]) {                                                      \
                /* (row0 - kc: the group's first row, where its packed segment starts) */          \
                FN(dense_position)(Vx, 1 << tbs, TBc, C, values + rp[-kc], kfull, kc, kn, out);   \
                continue;                                                                          \
            }                                                                                      \
            if (skip && rp[0] == rp[kn]) continue;   /* no entries in this chunk: nothing to store */ \
            /* Literal NV so that each width is unrolled with its accumulators in registers. */    \
            switch (TBc / VW) {                                                                    \
            case 1: ROWS_NV(IDX, 1); break;                                                        \
            case 2: ROWS_NV(IDX, 2); break;                                                        \
            case 3: ROWS_NV(IDX, 3); break;                                                        \
            case 4: ROWS_NV(IDX, 4); break;                                                        \
            case 5: ROWS_NV(IDX, 5); break;                                                        \
            case 6: ROWS_NV(IDX, 6); break;                                                        \
            case 7: ROWS_NV(IDX, 7); break;                                                        \
            default: ROWS_NV(IDX, 8); break;                                                       \
            }                                                                                      \
        }                                                                                          \
    }
DEFINE_ROW(32, int32_t)
DEFINE_ROW(16, uint16_t)
DEFINE_ROW(8, uint8_t)
#undef DEFINE_ROW
#undef ROWS_NV
#undef OFF_32
#undef OFF_16
#undef OFF_8

ATTR static void FN(block)(const wk_wino_geom *g, const float *x, int t0, int tb,
                           const int32_t *row_ptr, const uint16_t *row_pos, const uint8_t *pos_dense,
                           const uint8_t *live, const void *col_off, int col_kind,
                           const float *values,
                           int row_stride, int row_base, int k0, int k1,
                           const float *bias, int relu, float *y, float *V, float *M, int transform_input) {
    const int v = g->variant, a = var_a(v), m = var_m(v), a2 = a * a, TBc = g->TBc;
    const long xistride = (long)g->C * g->TB + WK_PAD, plane = (long)g->OH * g->OW;
    const int tbs = g->TB == 64 ? 6 : (g->TB == 32 ? 5 : 4);
    if (transform_input) FN(input)(g, x, t0, tb, 0, g->C, V, live);
    // Output positions of every vector group of the block (independent of k).
    int32_t oidx[64 / VW][16][VW] __attribute__((aligned(64)));
    int32_t ook[64 / VW][16][VW] __attribute__((aligned(64)));
    int32_t tbase[64 / VW][VW];
    int8_t trows[64 / VW][VW], tcols[64 / VW][VW];
    long obase[64 / VW], hbase[64 / VW][2];
    int orows[64 / VW], ocount[64 / VW], hcount[64 / VW][2], hrows[64 / VW][2];
    for (int grp = 0; grp * VW < tb; grp++) {
        int first;
        const int live = wk_lane_run(g, t0, tb, grp * VW, VW, &first), tl0 = first % g->T;
        const int oy = (tl0 / g->tilesW) * m, ox = (tl0 % g->tilesW) * m;
        const int row_group = (tl0 % g->tilesW) + live <= g->tilesW;
        obase[grp] = (first / g->T) * g->yImage + (long)oy * g->OW + ox;
        orows[grp] = g->OH - oy;
        ocount[grp] = row_group ? (live * m < g->OW - ox ? live * m : g->OW - ox) : 0;
        // Halves (VW / 2 lanes) in one tile row each: hcount contiguous floats per output row
        // from hbase, hrows rows (0 and 0: no live lane); -1: not in one tile row.
        for (int h = 0; h < 2; h++) {
            int hfirst;
            const int hl = wk_lane_run(g, t0, tb, grp * VW + h * (VW / 2), VW / 2, &hfirst);
            const int tf = hfirst % g->T, hx = (tf % g->tilesW) * m, hy = (tf / g->tilesW) * m;
            hbase[grp][h] = 0; hcount[grp][h] = 0; hrows[grp][h] = 0;
            if (hl == 0) continue;
            if ((tf % g->tilesW) + hl > g->tilesW) { hcount[grp][h] = -1; continue; }
            hbase[grp][h] = (hfirst / g->T) * g->yImage + (long)hy * g->OW + hx;
            hcount[grp][h] = hl * m < g->OW - hx ? hl * m : g->OW - hx;
            hrows[grp][h] = g->OH - hy < m ? g->OH - hy : m;
        }
        for (int l = 0; l < VW; l++) {
            const int lane = grp * VW + l, lt = wk_lane_tile(g, t0, tb, lane), dead = lt < 0;
            const int tile = dead ? t0 : lt, tl = tile % g->T;
            const int base = (int)((tile / g->T) * g->yImage);
            const int oy0 = (tl / g->tilesW) * m, ox0 = (tl % g->tilesW) * m;
            tbase[grp][l] = base + oy0 * g->OW + ox0;
            trows[grp][l] = (int8_t)(dead ? 0 : (g->OH - oy0 < m ? g->OH - oy0 : m));
            tcols[grp][l] = (int8_t)(g->OW - ox0 < m ? g->OW - ox0 : m);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) {
                    int in = !dead && oy0 + i < g->OH && ox0 + j < g->OW;
                    oidx[grp][i * m + j][l] = in ? base + (oy0 + i) * g->OW + ox0 + j : 0;
                    ook[grp][i * m + j][l] = in ? -1 : 0;
                }
        }
    }
    // Output row segments stored with contiguous stores, merged across adjacent groups, as
    // offsets (from the plane) to prefetch for each next out-channel: every 16 floats and
    // the last of each segment. Unmerged, a group's row takes at most VW * 4 / 16 + 1
    // entries: at most (64 / VW groups) x 4 rows x (VW / 4 + 1) = 96 (AVX2) or 80 (AVX-512).
    long pf[96];
    int npf = 0;
    {
        const int ngroups = (tb + VW - 1) / VW;
        long lo[4] = {0, 0, 0, 0}, hi[4] = {0, 0, 0, 0};
        for (int grp = 0; grp <= ngroups; grp++)
            for (int i = 0; i < m; i++) {
                const int last = grp == ngroups;   // flush pass
                const int has = !last && ocount[grp] > 0 && i < orows[grp];
                const long s0 = has ? obase[grp] + (long)i * g->OW : 0, s1 = s0 + (has ? ocount[grp] : 0);
                if (has && hi[i] > lo[i] && s0 == hi[i]) { hi[i] = s1; continue; }
                if (hi[i] > lo[i]) {
                    for (long q = lo[i]; q < hi[i]; q += 16) pf[npf++] = q;
                    if ((hi[i] - 1 - lo[i]) % 16 != 0) pf[npf++] = hi[i] - 1;
                }
                lo[i] = s0; hi[i] = s1;
            }
    }
    // Non-temporal stores only where no cache line mixes them with plain stores: rows of
    // whole lines (a row group's stores start at a multiple of VW * MM floats, so partial
    // groups and edge rows, stored plainly, have lines of their own).
    const int nt = (wk_stream_setting < 0 ? g->stream : wk_stream_setting) && g->OW % 16 == 0 && ((uintptr_t)y & 63) == 0 && g->yImage % 16 == 0;
    const int KC = kchunk(g), kfull = dense_strip_rows(g);
    for (int kc = k0; kc < k1; kc += KC) {
        const int kn = (k1 - kc) < KC ? (k1 - kc) : KC;
        if (g->dense) FN(products_dense)(V, xistride, a2, g->TB, TBc, g->C, row_ptr, values, row_stride, row_base, kc, kfull, kn, M);
        else if (col_kind == 2) FN(products_8)(V, xistride, a2, TBc, tbs, g->C, pos_dense, row_pos != 0, row_ptr, (const uint8_t *)col_off, values, row_stride, (long)row_base + kc, kc, kfull, kn, M);
        else if (col_kind == 1) FN(products_16)(V, xistride, a2, TBc, tbs, g->C, pos_dense, row_pos != 0, row_ptr, (const uint16_t *)col_off, values, row_stride, (long)row_base + kc, kc, kfull, kn, M);
        else FN(products_32)(V, xistride, a2, TBc, tbs, g->C, pos_dense, row_pos != 0, row_ptr, (const int32_t *)col_off, values, row_stride, (long)row_base + kc, kc, kfull, kn, M);
        const long mstride = (long)kn * TBc + WK_PAD;
        // The products store nothing for empty rows (row_pos marks them WK_EMPTY_ROW; wino-bench's
        // pruned layers: 53-69% of all rows, whole positions): the output transform reads them
        // from a zero row after the last slab (in the scratch's 64 spare floats; 64-byte
        // aligned, as every slab).
        const int ms = (int)mstride, zoff = a2 * ms;
        if (row_pos)
            for (int l = 0; l < TBc; l += VW) V_STORE(M + zoff + l, V_ZERO());
        for (int kk = 0; kk < kn; kk++) {
            const int k = kc + kk;
            float *dst = y + k * plane;
            // Out-channel k's product at position e: M row row_pos[k][e] - kc of slab e, or the
            // zero row (the a2 positions of k are contiguous: one short vectorised loop per
            // out-channel).
            int32_t moff[64] __attribute__((aligned(64)));
            if (row_pos) {
                const uint16_t *pk = row_pos + (long)(row_base + k) * a2;
                for (int e = 0; e < a2; e++) moff[e] = pk[e] == WK_EMPTY_ROW ? zoff : e * ms + ((int)pk[e] - kc) * TBc;
            } else {
                for (int e = 0; e < a2; e++) moff[e] = e * ms + kk * TBc;
            }
            // Prefetch (for writing) the output rows of the next out-channel: its plane is
            // far from this one and not yet in cache.
            if (k + 1 < k1 && !nt)
                for (int i = 0; i < npf; i++) __builtin_prefetch(dst + plane + pf[i], 1);
            for (int grp = 0; grp * VW < tb; grp++) {
                if (v == 1) FN(output_2)(M, moff, grp * VW, oidx[grp], ook[grp], tbase[grp], trows[grp], tcols[grp], obase[grp], orows[grp], ocount[grp], hbase[grp], hcount[grp], hrows[grp], g->OW, bias[k], relu, dst, nt);
                else if (v == 2) FN(output_4)(M, moff, grp * VW, oidx[grp], ook[grp], tbase[grp], trows[grp], tcols[grp], obase[grp], orows[grp], ocount[grp], hbase[grp], hcount[grp], hrows[grp], g->OW, bias[k], relu, dst, nt);
                else FN(output_5)(M, moff, grp * VW, oidx[grp], ook[grp], tbase[grp], trows[grp], tcols[grp], obase[grp], orows[grp], ocount[grp], hbase[grp], hcount[grp], hrows[grp], g->OW, bias[k], relu, dst, nt);
            }
        }
    }
    if (nt) _mm_sfence();   // the stores reach memory before the caller's barrier
}

#undef STORE_TILES
#undef HALF_ROWS
#undef INL
#undef FN
#undef CAT
#undef CAT2
