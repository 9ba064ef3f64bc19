#!/usr/bin/env python3
"""Exact Winograd transform matrices for wino: build, verify, emit.

Builds the transform matrices B^T, G, A^T of the three Winograd tile variants
that wino supports, entirely in exact rationals (fractions.Fraction, no floats):

  code 1  F(2x2,3x3)  alpha 4  points 0, 1, -1, inf            (Lavin / wincnn)
  code 2  F(4x4,3x3)  alpha 6  points 0, 1, -1, 2, -2, inf     (Lavin / wincnn)
  code 3  F(4x4,5x5)  alpha 8  points 0, 1, -1, 2, -2, 1/2, -1/2, inf
                                                               (Cook-Toom, below)

Codes 1 and 2 are the literal matrices used by Lavin & Gray and by wincnn (the
set that SkimCaffe-trained Winograd-domain weights assume). Code 3 is built by
the Cook-Toom construction with the same normalisation that reproduces code 2
exactly (see cook_toom()).

Every variant is then VERIFIED exactly, for all basis pairs (g, d):
  1-D:  A^T [(G g) * (B^T d)]            == y,  y_k   = sum_j g_j d_{k+j}
  2-D:  A^T [(G g G^T) * (B^T d B)] A    == Y,  Y_kl  = sum_ij g_ij d_{k+i,l+j}
The script exits with status 1 if any check fails, and prints nothing else.

Usage (stdlib only):
  python3 scripts/winograd_matrices.py            # verify, print a summary
  python3 scripts/winograd_matrices.py --swift > Sources/WinoKernels/WinogradMatrices.swift
  python3 scripts/winograd_matrices.py --markdown > Docs/WINOGRAD.md
"""

import sys
from fractions import Fraction as Q

INF = "inf"

SWIFT_CMD = ("python3 scripts/winograd_matrices.py --swift > "
             "Sources/WinoKernels/WinogradMatrices.swift")
MD_CMD = "python3 scripts/winograd_matrices.py --markdown > Docs/WINOGRAD.md"


# --------------------------------------------------------------------------
# Exact rational linear algebra
# --------------------------------------------------------------------------

def q(x):
    """Parse an int, a Fraction or a string like '-1/6' into a Fraction."""
    return x if isinstance(x, Q) else Q(x)


def mat(rows):
    return [[q(x) for x in row] for row in rows]


def transpose(a):
    return [list(col) for col in zip(*a)]


def matmul(a, b):
    bt = transpose(b)
    return [[sum((x * y for x, y in zip(row, col)), Q(0)) for col in bt]
            for row in a]


def matvec(a, v):
    return [sum((x * y for x, y in zip(row, v)), Q(0)) for row in a]


def inverse(a):
    """Gauss-Jordan inverse in exact rationals."""
    n = len(a)
    m = [list(row) + [Q(int(i == j)) for j in range(n)]
         for i, row in enumerate(a)]
    for col in range(n):
        piv = next(r for r in range(col, n) if m[r][col] != 0)
        m[col], m[piv] = m[piv], m[col]
        p = m[col][col]
        m[col] = [x / p for x in m[col]]
        for r in range(n):
            if r != col and m[r][col] != 0:
                f = m[r][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col])]
    return [row[n:] for row in m]


# --------------------------------------------------------------------------
# Cook-Toom construction
# --------------------------------------------------------------------------

def cook_toom(m, r, points):
    """Return (BT, G, AT) for F(m, r) on the given points (last one 'inf').

    alpha = m + r - 1 points: alpha - 1 finite points p_i and infinity.
    Linear convolution h = a (*) g of a (length m) and g (length r) has alpha
    coefficients; it is recovered from its values at the points:
      A[i][k] = p_i^k            (alpha x m; inf row = [0,..,0,1])
      E[i][n] = p_i^n            (alpha x alpha evaluation matrix of h; inf row
                                  = [0,..,0,1], the leading coefficient)
      h = E^{-1} [(A a) * (G0 g)],  G0[i][j] = p_i^j (inf row [0,..,0,1]).
    Transposing this bilinear algorithm (d.h = a.y) gives the correlation
      y = A^T [(G0 g) * (E^{-T} d)].
    Normalisation (the Lavin / wincnn one): row i of G0 is divided by
      N_i = prod_{j != i, p_j finite} (p_i - p_j)   (N_inf = 1),
    and row i of B^T = E^{-T} is multiplied by N_i to compensate:
      G[i][j] = p_i^j / N_i,   B^T = diag(N) E^{-T},   A^T = A^T.
    """
    alpha = m + r - 1
    assert len(points) == alpha and points[-1] == INF
    fin = [q(p) for p in points[:-1]]
    assert len(set(fin)) == len(fin)

    def powers(p, n):
        if p == INF:
            return [Q(0)] * (n - 1) + [Q(1)]
        return [p ** k for k in range(n)]

    pts = fin + [INF]
    A = [powers(p, m) for p in pts]
    G0 = [powers(p, r) for p in pts]
    E = [powers(p, alpha) for p in pts]
    N = []
    for i, p in enumerate(pts):
        if p == INF:
            N.append(Q(1))
        else:
            prod = Q(1)
            for j, pj in enumerate(fin):
                if j != i:
                    prod *= p - pj
            N.append(prod)
    G = [[x / N[i] for x in row] for i, row in enumerate(G0)]
    EinvT = transpose(inverse(E))
    BT = [[x * N[i] for x in row] for i, row in enumerate(EinvT)]
    AT = transpose(A)
    return BT, G, AT


# --------------------------------------------------------------------------
# The three variants
# --------------------------------------------------------------------------

class Variant:
    def __init__(self, code, swift_case, name, m, r, points, BT, G, AT, source):
        self.code, self.swift_case, self.name = code, swift_case, name
        self.m, self.r, self.alpha = m, r, m + r - 1
        self.points, self.BT, self.G, self.AT = points, BT, G, AT
        self.source = source


# Literal Lavin / wincnn matrices (RESEARCH.md section 1).
F2_3_BT = mat([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
F2_3_G = mat([[1, 0, 0], ["1/2", "1/2", "1/2"], ["1/2", "-1/2", "1/2"],
              [0, 0, 1]])
F2_3_AT = mat([[1, 1, 1, 0], [0, 1, -1, -1]])

F4_3_BT = mat([[4, 0, -5, 0, 1, 0],
               [0, -4, -4, 1, 1, 0],
               [0, 4, -4, -1, 1, 0],
               [0, -2, -1, 2, 1, 0],
               [0, 2, -1, -2, 1, 0],
               [0, 4, 0, -5, 0, 1]])
F4_3_G = mat([["1/4", 0, 0],
              ["-1/6", "-1/6", "-1/6"],
              ["-1/6", "1/6", "-1/6"],
              ["1/24", "1/12", "1/6"],
              ["1/24", "-1/12", "1/6"],
              [0, 0, 1]])
F4_3_AT = mat([[1, 1, 1, 1, 1, 0],
               [0, 1, -1, 2, -2, 0],
               [0, 1, 1, 4, 4, 0],
               [0, 1, -1, 8, -8, 1]])

P2_3 = [Q(0), Q(1), Q(-1), INF]
P4_3 = [Q(0), Q(1), Q(-1), Q(2), Q(-2), INF]
P4_5 = [Q(0), Q(1), Q(-1), Q(2), Q(-2), Q(1, 2), Q(-1, 2), INF]


def variants():
    bt5, g5, at5 = cook_toom(4, 5, P4_5)
    return [
        Variant(1, "f2x2_3x3", "F(2x2,3x3)", 2, 3, P2_3,
                F2_3_BT, F2_3_G, F2_3_AT,
                "Lavin & Gray / wincnn, literal (RESEARCH.md section 1)"),
        Variant(2, "f4x4_3x3", "F(4x4,3x3)", 4, 3, P4_3,
                F4_3_BT, F4_3_G, F4_3_AT,
                "Lavin & Gray / wincnn, literal (RESEARCH.md section 1)"),
        Variant(3, "f4x4_5x5", "F(4x4,5x5)", 4, 5, P4_5, bt5, g5, at5,
                "Cook-Toom construction, Lavin/wincnn normalisation"),
    ]


# --------------------------------------------------------------------------
# Verification (exact)
# --------------------------------------------------------------------------

def unit(n, i):
    return [Q(int(k == i)) for k in range(n)]


def verify(v):
    """Raise AssertionError unless the 1-D and 2-D identities hold exactly."""
    m, r, a = v.m, v.r, v.alpha
    assert len(v.BT) == a and all(len(row) == a for row in v.BT), "BT shape"
    assert len(v.G) == a and all(len(row) == r for row in v.G), "G shape"
    assert len(v.AT) == m and all(len(row) == a for row in v.AT), "AT shape"

    # 1-D: y = A^T[(G g) * (B^T d)] for every basis pair (g = e_j, d = e_l).
    for j in range(r):
        g = unit(r, j)
        Gg = matvec(v.G, g)
        for l in range(a):
            d = unit(a, l)
            y = matvec(v.AT, [x * z for x, z in zip(Gg, matvec(v.BT, d))])
            want = [sum((g[t] * d[k + t] for t in range(r)), Q(0))
                    for k in range(m)]
            assert y == want, f"{v.name} 1-D identity fails at g=e{j}, d=e{l}"

    # 2-D: Y = A^T[(G g G^T) * (B^T d B)] A for every basis pair.
    GT, B, A = transpose(v.G), transpose(v.BT), transpose(v.AT)
    for gi in range(r):
        for gj in range(r):
            g = [[Q(int((x, y) == (gi, gj))) for y in range(r)]
                 for x in range(r)]
            U = matmul(matmul(v.G, g), GT)
            for di in range(a):
                for dj in range(a):
                    d = [[Q(int((x, y) == (di, dj))) for y in range(a)]
                         for x in range(a)]
                    V = matmul(matmul(v.BT, d), B)
                    M = [[U[x][y] * V[x][y] for y in range(a)]
                         for x in range(a)]
                    Y = matmul(matmul(v.AT, M), A)
                    want = [[sum((g[s][t] * d[k + s][l + t]
                                  for s in range(r) for t in range(r)), Q(0))
                             for l in range(m)] for k in range(m)]
                    assert Y == want, (f"{v.name} 2-D identity fails at "
                                       f"g=e({gi},{gj}), d=e({di},{dj})")


def verify_cook_toom_reproduces_lavin():
    """Cross-check: the construction reproduces the literal F(4x4,3x3) set
    exactly; for F(2x2,3x3) it agrees up to two sign conventions of Lavin's
    set: the point-0 row of G and B^T is negated (N_0 = +1 where the formula
    gives -1), and the inf column of A^T and inf row of B^T are negated."""
    bt, g, at = cook_toom(4, 3, P4_3)
    assert (bt, g, at) == (F4_3_BT, F4_3_G, F4_3_AT), \
        "Cook-Toom does not reproduce the literal F(4x4,3x3) set"
    bt, g, at = cook_toom(2, 3, P2_3)
    neg = lambda row: [-x for x in row]
    assert [row[:-1] + [-row[-1]] for row in at] == F2_3_AT, \
        "Cook-Toom F(2x2,3x3) A^T differs beyond the inf-column sign"
    assert [neg(g[0])] + g[1:] == F2_3_G, \
        "Cook-Toom F(2x2,3x3) G differs beyond the point-0 row sign"
    assert [neg(bt[0])] + bt[1:-1] + [neg(bt[-1])] == F2_3_BT, \
        "Cook-Toom F(2x2,3x3) B^T differs beyond the row signs"


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def fstr(x):
    """Rational as text: '0', '-5', '1/6'."""
    return str(x.numerator) if x.denominator == 1 else \
        f"{x.numerator}/{x.denominator}"


def pstr(p):
    return "inf" if p == INF else fstr(p)


def swift_double(x):
    """A Swift Double expression that evaluates to the double closest to x.

    Integers and fractions are written as 'n.0' or 'n.0 / d.0' with |n|, |d|
    exactly representable, so the single IEEE division is correctly rounded.
    """
    assert abs(x.numerator) < 2 ** 53 and x.denominator < 2 ** 53
    if x.denominator == 1:
        return f"{x.numerator}.0"
    return f"{x.numerator}.0 / {x.denominator}.0"


def swift_matrix(name, rows, doc):
    cells = [[swift_double(x) for x in row] for row in rows]
    width = max(len(c) for row in cells for c in row)
    lines = [f"    /// {doc}",
             f"    private static let {name}: [Double] = ["]
    for row in cells:
        lines.append("        " + ", ".join(c.rjust(width) for c in row) + ",")
    lines.append("    ]")
    return lines


def emit_swift(vs):
    out = []
    w = out.append
    w("// GENERATED FILE - DO NOT EDIT.")
    w(f"// Regenerate with: {SWIFT_CMD}")
    w("// The generator builds and verifies every matrix in exact rationals; see")
    w("// Docs/WINOGRAD.md (normative for the .swz variant codes 1, 2, 3).")
    w("")
    w("/// A Winograd tile variant F(m x m, r x r); the raw value is the variant")
    w("/// code stored in `.swz` files (normative, see Docs/WINOGRAD.md).")
    w("public enum WinogradTile: Int, CaseIterable, Sendable {")
    for v in vs:
        pts = ", ".join(pstr(p) for p in v.points)
        w(f"    /// {v.name}: alpha = {v.alpha}, points {pts}.")
        w(f"    case {v.swift_case} = {v.code}")
    w("")
    w("    /// Output tile size m (the tile produces m x m outputs).")
    w("    public var m: Int {")
    w("        switch self {")
    for v in vs:
        w(f"        case .{v.swift_case}: return {v.m}")
    w("        }")
    w("    }")
    w("")
    w("    /// Kernel size r (r x r filters).")
    w("    public var r: Int {")
    w("        switch self {")
    for v in vs:
        w(f"        case .{v.swift_case}: return {v.r}")
    w("        }")
    w("    }")
    w("")
    w("    /// Input tile size alpha = m + r - 1 (alpha x alpha Winograd positions).")
    w("    public var alpha: Int { m + r - 1 }")
    w("}")
    w("")
    w("/// Exact Winograd transform matrices, row-major `[Double]`.")
    w("///")
    w("/// For a tile variant with output size m, kernel size r, alpha = m + r - 1:")
    w("/// V = B^T d B (input tile d, alpha x alpha), U = G g G^T (filter g, r x r),")
    w("/// M = U * V elementwise, Y = A^T M A (m x m). Every entry is the double")
    w("/// closest to the exact rational in Docs/WINOGRAD.md.")
    w("///")
    w("/// Winograd points (in row order of G and B^T, column order of A^T):")
    for v in vs:
        pts = ", ".join(pstr(p) for p in v.points)
        w(f"/// - {v.name} (code {v.code}): {pts}")
    w("public enum WinogradMatrices {")
    for v in vs:
        s = v.swift_case
        out.extend(swift_matrix(f"bt_{s}", v.BT,
                                f"{v.name} B^T, {v.alpha} x {v.alpha}."))
        out.extend(swift_matrix(f"g_{s}", v.G,
                                f"{v.name} G, {v.alpha} x {v.r}."))
        out.extend(swift_matrix(f"at_{s}", v.AT,
                                f"{v.name} A^T, {v.m} x {v.alpha}."))
        w("")
    for fn, what, shape in [
            ("bt", "B^T, the input transform", "alpha x alpha"),
            ("g", "G, the filter transform", "alpha x r"),
            ("at", "A^T, the output transform", "m x alpha")]:
        w(f"    /// {what}: {shape}, row-major.")
        w(f"    public static func {fn}(_ t: WinogradTile) -> [Double] {{")
        w("        switch t {")
        for v in vs:
            w(f"        case .{v.swift_case}: return {fn}_{v.swift_case}")
        w("        }")
        w("    }")
        w("")
    w("    /// The Winograd points of `t` as (numerator, denominator) pairs in")
    w("    /// row order; infinity is (1, 0).")
    w("    public static func points(_ t: WinogradTile) -> [(Int, Int)] {")
    w("        switch t {")
    for v in vs:
        pts = ", ".join("(1, 0)" if p == INF else
                        f"({p.numerator}, {p.denominator})" for p in v.points)
        w(f"        case .{v.swift_case}: return [{pts}]")
    w("        }")
    w("    }")
    w("}")
    return "\n".join(out) + "\n"


def md_matrix(name, rows):
    cells = [[fstr(x) for x in row] for row in rows]
    width = max(len(c) for row in cells for c in row)
    lines = [f"{name} =", "```"]
    for row in cells:
        lines.append("[ " + "  ".join(c.rjust(width) for c in row) + " ]")
    lines.append("```")
    return lines


def emit_markdown(vs):
    out = []
    w = out.append
    w("<!-- GENERATED FILE - DO NOT EDIT. -->")
    w(f"<!-- Regenerate with: {MD_CMD} -->")
    w("")
    w("# Winograd transforms in wino")
    w("")
    w("This document is generated by `scripts/winograd_matrices.py`, which builds")
    w("every matrix below in exact rationals and verifies the Winograd identity")
    w("exactly for all basis inputs before printing. The Swift constants in")
    w("`Sources/WinoKernels/WinogradMatrices.swift` come from the same script")
    w(f"(`{SWIFT_CMD}`).")
    w("")
    w("## Winograd convolution in ten lines")
    w("")
    w("1. Notation: r x r kernel g, m x m output tile, input tile size alpha = m + r - 1.")
    w("2. The operation is stride-1 correlation: Y[k][l] = sum_{i,j} g[i][j] d[k+i][l+j].")
    w("3. The image is cut into overlapping alpha x alpha input tiles d (stride m, zero padded).")
    w("4. Input transform:  V = B^T d B        (alpha x alpha).")
    w("5. Filter transform: U = G g G^T        (alpha x alpha), once per (k, c) filter.")
    w("6. Position xi = (i, j) of the alpha x alpha tile has row-major index xi = i*alpha + j.")
    w("7. Per position: M[xi] = U[xi] * V[xi] elementwise; summed over in-channels this is")
    w("   alpha^2 independent matrix products M[xi] (K x T) = W[xi] (K x C) * V[xi] (C x T).")
    w("8. Output transform: Y = A^T M A        (m x m), then bias (and ReLU).")
    w("9. The 1-D algorithm y = A^T[(G g) * (B^T d)] nests to 2-D because it is bilinear.")
    w("10. B^T, G, A^T are fixed by the tile variant and its Winograd points (below).")
    w("")
    w("## Variants and point sets")
    w("")
    w("| code | variant | m | r | alpha | points (row order of G and B^T) | source |")
    w("|---|---|---|---|---|---|---|")
    for v in vs:
        pts = ", ".join(pstr(p) for p in v.points)
        w(f"| {v.code} | {v.name} | {v.m} | {v.r} | {v.alpha} | {pts} | {v.source} |")
    w("")
    w("Codes 1 and 2 are exactly the matrices of Lavin & Gray (2016) as printed by")
    w("wincnn, the set that SkimCaffe-trained Winograd-domain weights assume.")
    w("")
    w("Code 3 uses the Cook-Toom construction: with finite points p_0..p_{alpha-2}")
    w("and infinity,")
    w("")
    w("- A^T[k][i] = p_i^k (column i = powers of point i; the inf column is [0,..,0,1]);")
    w("- G[i][j] = p_i^j / N_i with N_i = prod_{j != i, p_j finite} (p_i - p_j)")
    w("  (the inf row is [0,..,0,1], N_inf = 1);")
    w("- B^T = diag(N) E^{-T}, where E[i][n] = p_i^n (inf row [0,..,0,1]) is the")
    w("  alpha x alpha matrix evaluating a degree alpha-1 polynomial at the points.")
    w("")
    w("This normalisation reproduces the code-2 matrices exactly from points")
    w("0, 1, -1, 2, -2, inf (checked by the script). For code 1 Lavin's matrices")
    w("differ from the formula only in signs that cancel in the product: the")
    w("point-0 row of G and B^T is negated (N_0 = +1 instead of -1), and the inf")
    w("column of A^T and the inf row of B^T are negated (also checked).")
    w("")
    w("## The matrices (exact rationals)")
    for v in vs:
        w("")
        pts = ", ".join(pstr(p) for p in v.points)
        w(f"### {v.name} - code {v.code}, alpha = {v.alpha}, points {pts}")
        w("")
        out.extend(md_matrix("B^T", v.BT))
        w("")
        out.extend(md_matrix("G", v.G))
        w("")
        out.extend(md_matrix("A^T", v.AT))
    w("")
    w("## Numerical error (measured, FP32 vs FP64 direct convolution, C = 256)")
    w("")
    w("| algorithm | relative L2 error | suggested test bound |")
    w("|---|---|---|")
    w("| direct | 2.7e-7 | - |")
    w("| F(2x2,3x3) | 3.7e-7 | 1e-5 |")
    w("| F(4x4,3x3) | 1.5e-6 | 1e-5 |")
    w("| F(6x6,3x3), good points | 3.2e-6 | 3e-5 |")
    w("| F(6x6,3x3), points +-3 | 1.4e-4 | avoid |")
    w("| F(4x4,5x5) | 3.2e-6 | 3e-5 |")
    w("")
    w("Transform weights in Double, then round to Float. Guard tests against")
    w("mostly-zero outputs (a relative error of a near-zero output means nothing).")
    w("")
    w("## Winograd-domain weights in .swz files (normative)")
    w("")
    w("A Winograd layer stores its weights in the Winograd domain, shape")
    w("[alpha, alpha, K, C/groups]. When initialised from spatial filters g_{k,c}")
    w("(r x r) they are")
    w("")
    w("    W[i][j][k][c] = (G g_{k,c} G^T)[i][j]")
    w("")
    w("computed in Double and rounded to Float. Natively pruned weights (trained")
    w("and pruned in the Winograd domain) have no spatial equivalent: alpha^2")
    w("free parameters per filter instead of r^2. A file therefore names its tile")
    w("variant, and the matrices above are part of the file format: they are")
    w("normative for the variant codes 1 = F(2x2,3x3), 2 = F(4x4,3x3),")
    w("3 = F(4x4,5x5). A reader must use exactly these B^T, G, A^T (up to the")
    w("rounding of each rational to the nearest Double or Float).")
    return "\n".join(out) + "\n"


def main(argv):
    vs = variants()
    try:
        for v in vs:
            verify(v)
        verify_cook_toom_reproduces_lavin()
    except AssertionError as e:
        print(f"VERIFICATION FAILED: {e}", file=sys.stderr)
        return 1
    if "--swift" in argv:
        sys.stdout.write(emit_swift(vs))
    elif "--markdown" in argv:
        sys.stdout.write(emit_markdown(vs))
    else:
        for v in vs:
            print(f"{v.name} (code {v.code}, alpha {v.alpha}): 1-D and 2-D "
                  f"identities verified exactly for all basis pairs")
        print("Cook-Toom reproduces the Lavin F(4x4,3x3) set exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
