// Winograd tile transforms in Float.
// Legend: r kernel edge, m output-tile edge, alpha = m + r - 1 input-tile edge,
// xi = i * alpha + j a Winograd-domain position. Input transform V = B^T d B
// (d an alpha x alpha input tile); output transform Y = A^T M A (M alpha x alpha,
// Y m x m). Matrices: WinogradMatrices (Docs/WINOGRAD.md). Zero coefficients are
// skipped; sums run in a fixed order so results are reproducible.

/// Float transforms for one Winograd tile variant.
public struct WinogradTransform: Sendable {
    /// The variant.
    public let tile: WinogradTile
    /// Output tile edge, kernel edge, input tile edge.
    public let m: Int, r: Int, alpha: Int
    // Non-zero coefficients of B^T per row: (column, value).
    private let btRows: [[(Int, Float)]]
    // Non-zero coefficients of A^T per row: (column, value).
    private let atRows: [[(Int, Float)]]

    /// Builds the transforms of `tile` from its exact matrices.
    public init(_ tile: WinogradTile) {
        self.tile = tile
        m = tile.m; r = tile.r; alpha = tile.alpha
        let a = tile.alpha, mm = tile.m
        let bt = WinogradMatrices.bt(tile), at = WinogradMatrices.at(tile)
        btRows = (0..<a).map { i in (0..<a).compactMap { k in bt[i * a + k] == 0 ? nil : (k, Float(bt[i * a + k])) } }
        atRows = (0..<mm).map { i in (0..<a).compactMap { k in at[i * a + k] == 0 ? nil : (k, Float(at[i * a + k])) } }
    }

    /// V = B^T d B. `d` is alpha x alpha with row stride `ldd`; V[xi] is written to `v[xi * vStride]`.
    public func input(_ d: UnsafePointer<Float>, ldd: Int, _ v: UnsafeMutablePointer<Float>, vStride: Int) {
        let a = alpha
        withUnsafeTemporaryAllocation(of: Float.self, capacity: a * a) { tmp in
            // tmp = B^T d
            for i in 0..<a {
                for j in 0..<a {
                    var s: Float = 0
                    for (k, c) in btRows[i] { s += c * d[k * ldd + j] }
                    tmp[i * a + j] = s
                }
            }
            // V = tmp B, i.e. V[i][j] = sum_l tmp[i][l] * BT[j][l]
            for i in 0..<a {
                for j in 0..<a {
                    var s: Float = 0
                    for (l, c) in btRows[j] { s += tmp[i * a + l] * c }
                    v[(i * a + j) * vStride] = s
                }
            }
        }
    }

    /// Y = A^T M A. M[xi] is read from `mIn[xi * mStride]`; Y (m x m) is written row-major to `y`.
    public func output(_ mIn: UnsafePointer<Float>, mStride: Int, _ y: UnsafeMutablePointer<Float>) {
        let a = alpha, mm = m
        withUnsafeTemporaryAllocation(of: Float.self, capacity: mm * a) { tmp in
            for i in 0..<mm {
                for j in 0..<a {
                    var s: Float = 0
                    for (k, c) in atRows[i] { s += c * mIn[(k * a + j) * mStride] }
                    tmp[i * a + j] = s
                }
            }
            for i in 0..<mm {
                for j in 0..<mm {
                    var s: Float = 0
                    for (l, c) in atRows[j] { s += tmp[i * a + l] * c }
                    y[i * mm + j] = s
                }
            }
        }
    }
}

/// Conversion of spatial filters to the Winograd domain, computed in Double.
public enum WinogradWeights {
    /// U[i][j][k][c] = (G g[k][c] G^T)[i][j] for spatial filters g of shape [K, C, r, r].
    /// Returns alpha * alpha * K * C floats, rounded once from Double.
    public static func fromSpatial(_ g: [Float], k: Int, c: Int, tile: WinogradTile) -> [Float] {
        let r = tile.r, a = tile.alpha
        precondition(g.count == k * c * r * r, "spatial filter size does not match [K, C, r, r]")
        let gm = WinogradMatrices.g(tile)
        var out = [Float](repeating: 0, count: a * a * k * c)
        var tmp = [Double](repeating: 0, count: a * r)
        for kk in 0..<k {
            for cc in 0..<c {
                let base = (kk * c + cc) * r * r
                // tmp = G g  (alpha x r)
                for i in 0..<a {
                    for j in 0..<r {
                        var s = 0.0
                        for l in 0..<r { s += gm[i * r + l] * Double(g[base + l * r + j]) }
                        tmp[i * r + j] = s
                    }
                }
                // U = tmp G^T (alpha x alpha)
                for i in 0..<a {
                    for j in 0..<a {
                        var s = 0.0
                        for l in 0..<r { s += tmp[i * r + l] * gm[j * r + l] }
                        out[((i * a + j) * k + kk) * c + cc] = Float(s)
                    }
                }
            }
        }
        return out
    }
}
