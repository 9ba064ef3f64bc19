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
        const long plane = (long)g->H * g->W, xistride = (long)g->C * g->TB;                       \
        for (int c = 0; c < g->C; c++) {                                                           \
            const float *src = x + c * plane;                                                      \
            VT d[A * A], v[A * A];                                                                 \
            for (int e = 0; e < A * A; e++) d[e] = GATHER(src, idx[e], ok[e]);                     \
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
    ATTR static void FN(output_##N)(const wk_wino_geom *g, const float *M, int lane0,              \
                                    const int32_t (*oidx)[VW], const int32_t (*ook)[VW],          \
                                    float b, int relu, float *dst) {                               \
        VT m[A * A], yv[MM * MM];                                                                  \
        for (int e = 0; e < A * A; e++) m[e] = V_LOAD(M + e * g->TB + lane0);                      \
        FN(at2d_##N)(m, yv);                                                                       \
        const VT vb = V_SET1(b), zero = V_ZERO();                                                  \
        for (int e = 0; e < MM * MM; e++) {                                                        \
            VT val = V_ADD(yv[e], vb);                                                             \
            if (relu) val = V_MAX(val, zero);                                                      \
            STORE_LANES(dst, oidx[e], ook[e], val);                                                \
        }                                                                                          \
    }
DEFINE_OUTPUT(2, 4, 2)
DEFINE_OUTPUT(4, 6, 4)
DEFINE_OUTPUT(5, 8, 4)
#undef DEFINE_OUTPUT

// M[xi][0..TB) = sum over row (xi, k) of w * V[xi][c] for every xi; NV = TB / VW vectors per row.
ATTR static void FN(products)(const float *V, long xistride, int a2, int TB,
                              const int32_t *row_ptr, const int32_t *col_off, const float *values,
                              long row_stride, long row, float *M) {
    const int NV = TB / VW;
    for (int xi = 0; xi < a2; xi++, row += row_stride) {
        const float *Vx = V + xi * xistride;
        int e = row_ptr[row];
        const int e1 = row_ptr[row + 1];
        float *out = M + xi * TB;
        if (NV == 1) {
            VT s0 = V_ZERO(), s1 = s0, s2 = s0, s3 = s0;
            for (; e + 4 <= e1; e += 4) {
                s0 = V_FMA(V_SET1(values[e]), V_LOAD(Vx + col_off[e]), s0);
                s1 = V_FMA(V_SET1(values[e + 1]), V_LOAD(Vx + col_off[e + 1]), s1);
                s2 = V_FMA(V_SET1(values[e + 2]), V_LOAD(Vx + col_off[e + 2]), s2);
                s3 = V_FMA(V_SET1(values[e + 3]), V_LOAD(Vx + col_off[e + 3]), s3);
            }
            for (; e < e1; e++) s0 = V_FMA(V_SET1(values[e]), V_LOAD(Vx + col_off[e]), s0);
            V_STORE(out, V_ADD(V_ADD(s0, s1), V_ADD(s2, s3)));
        } else if (NV == 2) {
            VT a0 = V_ZERO(), a1 = a0, b0 = a0, b1 = a0;
            for (; e + 2 <= e1; e += 2) {
                const float *p = Vx + col_off[e], *q = Vx + col_off[e + 1];
                const VT w = V_SET1(values[e]), u = V_SET1(values[e + 1]);
                a0 = V_FMA(w, V_LOAD(p), a0);
                a1 = V_FMA(w, V_LOAD(p + VW), a1);
                b0 = V_FMA(u, V_LOAD(q), b0);
                b1 = V_FMA(u, V_LOAD(q + VW), b1);
            }
            if (e < e1) {
                const float *p = Vx + col_off[e];
                const VT w = V_SET1(values[e]);
                a0 = V_FMA(w, V_LOAD(p), a0);
                a1 = V_FMA(w, V_LOAD(p + VW), a1);
            }
            V_STORE(out, V_ADD(a0, b0));
            V_STORE(out + VW, V_ADD(a1, b1));
        } else { // NV == 4
            VT a0 = V_ZERO(), a1 = a0, a2v = a0, a3 = a0;
            for (; e < e1; e++) {
                const float *p = Vx + col_off[e];
                const VT w = V_SET1(values[e]);
                a0 = V_FMA(w, V_LOAD(p), a0);
                a1 = V_FMA(w, V_LOAD(p + VW), a1);
                a2v = V_FMA(w, V_LOAD(p + 2 * VW), a2v);
                a3 = V_FMA(w, V_LOAD(p + 3 * VW), a3);
            }
            V_STORE(out, a0);
            V_STORE(out + VW, a1);
            V_STORE(out + 2 * VW, a2v);
            V_STORE(out + 3 * VW, a3);
        }
    }
}

ATTR static void FN(block)(const wk_wino_geom *g, const float *x, int t0,
                           const int32_t *row_ptr, const int32_t *col_off, const float *values,
                           int row_stride, int row_base, int k0, int k1,
                           const float *bias, int relu, float *y, float *scratch, int transform_input) {
    const int v = g->variant, a = var_a(v), m = var_m(v), a2 = a * a, TB = g->TB;
    const int tb = (g->T - t0) < TB ? (g->T - t0) : TB;
    float *V = scratch, *M = scratch + (long)a2 * g->C * TB;
    const long xistride = (long)g->C * TB, plane = (long)g->OH * g->OW;
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
    int32_t oidx[32 / VW][16][VW] __attribute__((aligned(64)));
    int32_t ook[32 / VW][16][VW] __attribute__((aligned(64)));
    for (int grp = 0; grp * VW < tb; grp++) {
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
    for (int k = k0; k < k1; k++) {
        FN(products)(V, xistride, a2, TB, row_ptr, col_off, values, row_stride, (long)row_base + k, M);
        float *dst = y + k * plane;
        for (int grp = 0; grp * VW < tb; grp++) {
            if (v == 1) FN(output_2)(g, M, grp * VW, oidx[grp], ook[grp], bias[k], relu, dst);
            else if (v == 2) FN(output_4)(g, M, grp * VW, oidx[grp], ook[grp], bias[k], relu, dst);
            else FN(output_5)(g, M, grp * VW, oidx[grp], ook[grp], bias[k], relu, dst);
        }
    }
}

#undef INL
#undef FN
#undef CAT
#undef CAT2
