// Conversion of spatial filters to Winograd-domain weights (U = G g G^T), in Double.
// The tile transforms themselves run in the C kernels (CWinoKernels/winograd*.{c,h}).

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
