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
// F(4x4,5x5): table driven; constant loop bounds let the compiler unroll and drop zeros.
INL void FN(bt1d_5)(const VT *d, int is, VT *v, int os) {
    for (int i = 0; i < 8; i++) {
        VT s = V_ZERO();
        for (int k = 0; k < 8; k++)
            if (BT5[i * 8 + k] != 0) s = V_FMA(d[k * is], V_SET1(BT5[i * 8 + k]), s);
        v[i * os] = s;
    }
}
INL void FN(at1d_5)(const VT *m, int is, VT *y, int os) {
    for (int i = 0; i < 4; i++) {
        VT s = V_ZERO();
        for (int k = 0; k < 8; k++)
            if (AT5[i * 8 + k] != 0) s = V_FMA(m[k * is], V_SET1(AT5[i * 8 + k]), s);
        y[i * os] = s;
    }
}

#define DEFINE_2D(N, A, MM)                                                              \
    INL void FN(bt2d_##N)(const VT *d, VT *v) {                                          \
        VT t[A * A];                                                                     \
        for (int j = 0; j < A; j++) FN(bt1d_##N)(d + j, A, t + j, A);                    \
        for (int i = 0; i < A; i++) FN(bt1d_##N)(t + i * A, 1, v + i * A, 1);            \
    }                                                                                    \
    INL void FN(at2d_##N)(const VT *m, VT *y) {                                          \
        VT t[MM * A];                                                                    \
        for (int j = 0; j < A; j++) FN(at1d_##N)(m + j, A, t + j, A);                    \
        for (int i = 0; i < MM; i++) FN(at1d_##N)(t + i * A, 1, y + i * MM, 1);          \
    }
DEFINE_2D(2, 4, 2)
DEFINE_2D(4, 6, 4)
DEFINE_2D(5, 8, 4)
#undef DEFINE_2D

// Input transform of one vector group (VW tiles, `live` of them real) for all channels.
#define DEFINE_INPUT(N, A, MM)                                                                     \
    ATTR static void FN(input_##N)(const wk_wino_geom *g, const float *x, int t0, int live,        \
                                   float *V, int lane0) {                                         \
        int32_t idx[A * A][VW] __attribute__((aligned(64)));                                       \
        int32_t ok[A * A][VW] __attribute__((aligned(64)));                                        \
        for (int l = 0; l < VW; l++) {                                                             \
            int tile = t0 + (l < live ? l : 0);                                                    \
            int iy0 = (tile / g->tilesW) * MM - g->padT, ix0 = (tile % g->tilesW) * MM - g->padL;  \
            for (int i = 0; i < A; i++)                                                            \
                for (int j = 0; j < A; j++) {                                                      \
                    int iy = iy0 + i, ix = ix0 + j;                                                \
                    int in = l < live && iy >= 0 && iy < g->H && ix >= 0 && ix < g->W;             \
                    idx[i * A + j][l] = in ? iy * g->W + ix : 0;                                   \
                    ok[i * A + j][l] = in ? -1 : 0;                                                \
                }                                                                                  \
        }                                                                                          \
        const long plane = (long)g->H * g->W, xistride = (long)g->C * g->TB + WK_PAD;              \
        /* Row group: the live tiles lie in one tile row. Each patch row is then read with     */  \
        /* contiguous (masked at the borders) loads and lane shuffles instead of gathers.      */  \
        const int fy = (t0 / g->tilesW) * MM - g->padT, fx = (t0 % g->tilesW) * MM - g->padL;      \
        const int row_group = (t0 % g->tilesW) + live <= g->tilesW;                                \
        const int masked = fx < 0 || fx + VW * MM + MM > g->W;                                     \
        for (int c = 0; c < g->C; c++) {                                                           \
            const float *src = x + c * plane;                                                      \
            VT d[A * A], v[A * A];                                                                 \
            if (row_group) {                                                                       \
                for (int i = 0; i < A; i++) {                                                      \
                    const int iy = fy + i;                                                         \
                    if (iy < 0 || iy >= g->H) {                                                    \
                        for (int j = 0; j < A; j++) d[i * A + j] = V_ZERO();                       \
                        continue;                                                                  \
                    }                                                                              \
                    const float *row = src + (long)iy * g->W + fx;                                 \
                    VT tmp[MM];                                                                    \
                    FN(deint##MM)(row, fx, g->W, masked, d + i * A);                               \
                    FN(deint##MM)(row + MM, fx + MM, g->W, masked, tmp);                           \
                    for (int j = MM; j < A; j++) d[i * A + j] = tmp[j - MM];                       \
                }                                                                                  \
            } else                                                                                 \
                for (int e = 0; e < A * A; e++) d[e] = GATHER(src, idx[e], ok[e]);                 \
            FN(bt2d_##N)(d, v);                                                                    \
            float *dst = V + (long)c * g->TB + lane0;                                              \
            for (int e = 0; e < A * A; e++) V_STORE(dst + e * xistride, v[e]);                     \
        }                                                                                          \
    }
DEFINE_INPUT(2, 4, 2)
DEFINE_INPUT(4, 6, 4)
DEFINE_INPUT(5, 8, 4)
#undef DEFINE_INPUT

// Output transform of one vector group for out-channel k: M -> y plane (+ bias, ReLU).
#define DEFINE_OUTPUT(N, A, MM)                                                                    \
    ATTR static void FN(output_##N)(const float *M, long mstride, int lane0,                       \
                                    const int32_t (*oidx)[VW], const int32_t (*ook)[VW],          \
                                    long obase, int orows, int ocount, int ow, float b, int relu, \
                                    float *dst) {                                                  \
        VT m[A * A], yv[MM * MM];                                                                  \
        for (int e = 0; e < A * A; e++) m[e] = V_LOAD(M + e * mstride + lane0);                    \
        FN(at2d_##N)(m, yv);                                                                       \
        const VT vb = V_SET1(b), zero = V_ZERO();                                                  \
        for (int e = 0; e < MM * MM; e++) {                                                        \
            yv[e] = V_ADD(yv[e], vb);                                                              \
            if (relu) yv[e] = V_MAX(yv[e], zero);                                                  \
        }                                                                                          \
        if (ocount > 0) {                                                                          \
            /* Row group: each output row of the tiles is up to VW * MM contiguous floats. */     \
            for (int i = 0; i < MM && i < orows; i++) {                                            \
                VT out[MM];                                                                        \
                FN(inter##MM)(yv + i * MM, out);                                                   \
                float *o = dst + obase + (long)i * ow;                                             \
                for (int q = 0; q < MM && q * VW < ocount; q++) {                                  \
                    if ((q + 1) * VW <= ocount) V_STOREU(o + q * VW, out[q]);                \
                    else FN(store_part)(o + q * VW, out[q], ocount - q * VW);                      \
                }                                                                                  \
            }                                                                                      \
        } else {                                                                                   \
            for (int e = 0; e < MM * MM; e++) STORE_LANES(dst, oidx[e], ook[e], yv[e]);            \
        }                                                                                          \
    }
DEFINE_OUTPUT(2, 4, 2)
DEFINE_OUTPUT(4, 6, 4)
DEFINE_OUTPUT(5, 8, 4)
#undef DEFINE_OUTPUT

// out[0..TB) = sum over CSR entries e..<e1 of w * Vx[col]; NV = TB / VW vectors per row.
// S = 8 / NV interleaved partial sums (entry index mod S) keep 8 FMA chains in flight;
// leftover entries go to the first set; the sets are added in a fixed tree order, so the
// result depends only on the row.
INL void FN(row_product)(const float *Vx, int e, const int e1, const int32_t *col_off, const float *values,
                         const int NV, float *out) {
    const int S = NV >= 8 ? 1 : 8 / NV;
    VT acc[8];
    for (int i = 0; i < S * NV; i++) acc[i] = V_ZERO();
    for (; e + S <= e1; e += S)
        for (int s = 0; s < S; s++) {
            const float *p = Vx + col_off[e + s];
            const VT w = V_SET1(values[e + s]);
            for (int v = 0; v < NV; v++) acc[s * NV + v] = V_FMA(w, V_LOAD(p + v * VW), acc[s * NV + v]);
        }
    for (; e < e1; e++) {
        const float *p = Vx + col_off[e];
        const VT w = V_SET1(values[e]);
        for (int v = 0; v < NV; v++) acc[v] = V_FMA(w, V_LOAD(p + v * VW), acc[v]);
    }
    for (int width = S / 2; width >= 1; width /= 2)
        for (int s = 0; s < width; s++)
            for (int v = 0; v < NV; v++) acc[s * NV + v] = V_ADD(acc[s * NV + v], acc[(s + width) * NV + v]);
    for (int v = 0; v < NV; v++) V_STORE(out + v * VW, acc[v]);
}

// M[xi][kk][0..TB) for kk < kn: position-major, so that each V[xi] slab (C * TB floats)
// stays in L1 while all kn out-channels use it.
ATTR static void FN(products)(const float *V, long xistride, int a2, int TB,
                              const int32_t *row_ptr, const int32_t *col_off, const float *values,
                              long row_stride, long row0, int kn, float *M) {
    for (int xi = 0; xi < a2; xi++) {
        const float *Vx = V + xi * xistride;
        const int32_t *rp = row_ptr + row_stride * xi + row0;
        float *out = M + (long)xi * ((long)kn * TB + WK_PAD);
        // Literal NV so that each variant is unrolled with its accumulators in registers.
        if (TB == VW)
            for (int kk = 0; kk < kn; kk++, out += TB) FN(row_product)(Vx, rp[kk], rp[kk + 1], col_off, values, 1, out);
        else if (TB == 2 * VW)
            for (int kk = 0; kk < kn; kk++, out += TB) FN(row_product)(Vx, rp[kk], rp[kk + 1], col_off, values, 2, out);
        else if (TB == 4 * VW)
            for (int kk = 0; kk < kn; kk++, out += TB) FN(row_product)(Vx, rp[kk], rp[kk + 1], col_off, values, 4, out);
        else
            for (int kk = 0; kk < kn; kk++, out += TB) FN(row_product)(Vx, rp[kk], rp[kk + 1], col_off, values, 8, out);
    }
}

ATTR static void FN(block)(const wk_wino_geom *g, const float *x, int t0, int tb,
                           const int32_t *row_ptr, const int32_t *col_off, const float *values,
                           int row_stride, int row_base, int k0, int k1,
                           const float *bias, int relu, float *y, float *scratch, int transform_input) {
    const int v = g->variant, a = var_a(v), m = var_m(v), a2 = a * a, TB = g->TB;
    const long xistride = (long)g->C * TB + WK_PAD, plane = (long)g->OH * g->OW;
    float *V = scratch, *M = scratch + a2 * xistride;
    if (transform_input) {
        for (int lane0 = 0; lane0 < TB; lane0 += VW) {
            int live = tb - lane0;
            live = live < 0 ? 0 : (live > VW ? VW : live);
            if (v == 1) FN(input_2)(g, x, t0 + lane0, live, V, lane0);
            else if (v == 2) FN(input_4)(g, x, t0 + lane0, live, V, lane0);
            else FN(input_5)(g, x, t0 + lane0, live, V, lane0);
        }
    }
    // Output positions of every vector group of the block (independent of k).
    int32_t oidx[64 / VW][16][VW] __attribute__((aligned(64)));
    int32_t ook[64 / VW][16][VW] __attribute__((aligned(64)));
    long obase[64 / VW];
    int orows[64 / VW], ocount[64 / VW];
    for (int grp = 0; grp * VW < tb; grp++) {
        const int first = t0 + grp * VW, live = tb - grp * VW < VW ? tb - grp * VW : VW;
        const int oy = (first / g->tilesW) * m, ox = (first % g->tilesW) * m;
        const int row_group = (first % g->tilesW) + live <= g->tilesW;
        obase[grp] = (long)oy * g->OW + ox;
        orows[grp] = g->OH - oy;
        ocount[grp] = row_group ? (live * m < g->OW - ox ? live * m : g->OW - ox) : 0;
        for (int l = 0; l < VW; l++) {
            int lane = grp * VW + l, tile = t0 + (lane < tb ? lane : 0);
            int oy0 = (tile / g->tilesW) * m, ox0 = (tile % g->tilesW) * m;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) {
                    int in = lane < tb && oy0 + i < g->OH && ox0 + j < g->OW;
                    oidx[grp][i * m + j][l] = in ? (oy0 + i) * g->OW + ox0 + j : 0;
                    ook[grp][i * m + j][l] = in ? -1 : 0;
                }
        }
    }
    for (int kc = k0; kc < k1; kc += WK_KCHUNK) {
        const int kn = (k1 - kc) < WK_KCHUNK ? (k1 - kc) : WK_KCHUNK;
        FN(products)(V, xistride, a2, TB, row_ptr, col_off, values, row_stride, (long)row_base + kc, kn, M);
        for (int kk = 0; kk < kn; kk++) {
            const int k = kc + kk;
            float *dst = y + k * plane;
            const float *Mk = M + (long)kk * TB;
            const long mstride = (long)kn * TB + WK_PAD;
            for (int grp = 0; grp * VW < tb; grp++) {
                if (v == 1) FN(output_2)(Mk, mstride, grp * VW, oidx[grp], ook[grp], obase[grp], orows[grp], ocount[grp], g->OW, bias[k], relu, dst);
                else if (v == 2) FN(output_4)(Mk, mstride, grp * VW, oidx[grp], ook[grp], obase[grp], orows[grp], ocount[grp], g->OW, bias[k], relu, dst);
                else FN(output_5)(Mk, mstride, grp * VW, oidx[grp], ook[grp], obase[grp], orows[grp], ocount[grp], g->OW, bias[k], relu, dst);
            }
        }
    }
}

#undef INL
#undef FN
#undef CAT
#undef CAT2
