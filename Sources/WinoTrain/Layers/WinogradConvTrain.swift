// A convolution whose parameters live in the Winograd domain (RESEARCH.md §1), stride 1, groups 1.
// Forward:  V[xi][c][p] = (B^T d B)[xi] for input tile d of channel c, tile p (p runs over all images);
//           M[xi] = W[xi] (K x C) * V[xi] (C x P);  Y tile = A^T M A + bias.
// Backward: dM = A dY A^T;  dW[xi] = dM[xi] V[xi]^T;  dV[xi] = W[xi]^T dM[xi];  dX += B dV B^T.
import WinoKernels

/// A Winograd-domain convolution layer F(m x m, r x r) with weights [alpha, alpha, K, C].
final class WinogradConvTrain<T: TrainScalar>: TrainLayer<T> {
    let tile: WinogradTile
    let k: Int
    /// Padding top, left, bottom, right.
    let pads: [Int]
    let weight: Param<T>, bias: Param<T>
    private let bt: [T], at: [T]
    private var v: [T] = []
    private var tilesY = 0, tilesX = 0

    init(name: String, inShape: [Int], k: Int, tile: WinogradTile, pads: [Int], weight: [T], bias: [T]) {
        self.tile = tile; self.k = k; self.pads = pads
        let a = tile.alpha
        self.weight = Param(name: name + ".w", shape: [a, a, k, inShape[0]], value: weight, decays: true,
                            winograd: WinogradShape(alpha: a, k: k, c: inShape[0]))
        self.bias = Param(name: name + ".b", shape: [k], value: bias, decays: false)
        bt = WinogradMatrices.bt(tile).map { T($0) }
        at = WinogradMatrices.at(tile).map { T($0) }
        super.init(name: name, inShape: inShape)
    }

    override var outShape: [Int] {
        [k, inShape[1] + pads[0] + pads[2] - tile.r + 1, inShape[2] + pads[1] + pads[3] - tile.r + 1]
    }
    override var params: [Param<T>] { [weight, bias] }

    override func forward(_ x: [T], batch: Int, training: Bool, _ c: Compute) -> [T] {
        let (C, H, W) = (inShape[0], inShape[1], inShape[2])
        let (OH, OW) = (outShape[1], outShape[2])
        let m = tile.m, a = tile.alpha, a2 = a * a
        let ty = (OH + m - 1) / m, tx = (OW + m - 1) / m, perImage = ty * tx, P = batch * perImage
        tilesY = ty; tilesX = tx
        var v = [T](repeating: 0, count: a2 * C * P)
        x.withUnsafeBufferPointer { xp in v.withUnsafeMutableBufferPointer { vp in
            let X = UnsafeSendable(xp.baseAddress!), V = UnsafeSendable(vp.baseAddress!)
            c.parallel(batch * C) { bc in
                let b = bc / C, ch = bc % C
                let src = X.p + bc * H * W
                var d = [T](repeating: 0, count: a2), t = [T](repeating: 0, count: a2), u = [T](repeating: 0, count: a2)
                for tyi in 0..<ty {
                    for txi in 0..<tx {
                        let y0 = tyi * m - pads[0], x0 = txi * m - pads[1]
                        for i in 0..<a {
                            let iy = y0 + i
                            for j in 0..<a {
                                let ix = x0 + j
                                d[i * a + j] = iy >= 0 && iy < H && ix >= 0 && ix < W ? src[iy * W + ix] : 0
                            }
                        }
                        sandwich(bt, rows: a, n: a, transposed: false, d, &u, &t)  // B^T d B
                        let p = b * perImage + tyi * tx + txi
                        for xi in 0..<a2 { V.p[(xi * C + ch) * P + p] = u[xi] }
                    }
                }
            }
        } }
        var mm = [T](repeating: 0, count: a2 * k * P)
        weight.value.withUnsafeBufferPointer { wp in v.withUnsafeBufferPointer { vp in mm.withUnsafeMutableBufferPointer { mp in
            let Wp = UnsafeSendable(wp.baseAddress!), V = UnsafeSendable(vp.baseAddress!), M = UnsafeSendable(mp.baseAddress!)
            c.parallel(a2) { xi in
                T.gemm(rows: 0..<k, n: P, depth: C, a: Wp.p + xi * k * C, lda: C, b: V.p + xi * C * P, ldb: P,
                       c: M.p + xi * k * P, ldc: P)
            }
        } } }
        var y = [T](repeating: 0, count: batch * k * OH * OW)
        mm.withUnsafeBufferPointer { mp in y.withUnsafeMutableBufferPointer { yp in
            let M = UnsafeSendable(mp.baseAddress!), Y = UnsafeSendable(yp.baseAddress!)
            c.parallel(batch * k) { bk in
                let b = bk / k, o = bk % k
                let bv = bias.value[o]
                var e = [T](repeating: 0, count: a2), t = [T](repeating: 0, count: m * a), yt = [T](repeating: 0, count: m * m)
                for tyi in 0..<ty {
                    for txi in 0..<tx {
                        let p = b * perImage + tyi * tx + txi
                        for xi in 0..<a2 { e[xi] = M.p[(xi * k + o) * P + p] }
                        sandwich(at, rows: m, n: a, transposed: false, e, &yt, &t)  // A^T M A
                        for i in 0..<m {
                            let oy = tyi * m + i
                            guard oy < OH else { break }
                            for j in 0..<m {
                                let ox = txi * m + j
                                guard ox < OW else { break }
                                Y.p[(bk * OH + oy) * OW + ox] = yt[i * m + j] + bv
                            }
                        }
                    }
                }
            }
        } }
        if training { self.v = v }
        return y
    }

    override func backward(_ dy: [T], batch: Int, _ c: Compute) -> [T] {
        let (C, H, W) = (inShape[0], inShape[1], inShape[2])
        let (OH, OW) = (outShape[1], outShape[2])
        let m = tile.m, a = tile.alpha, a2 = a * a
        let ty = tilesY, tx = tilesX, perImage = ty * tx, P = batch * perImage
        for o in 0..<k {
            var s: T = 0
            for b in 0..<batch { for i in 0..<(OH * OW) { s += dy[(b * k + o) * OH * OW + i] } }
            bias.grad[o] = s
        }
        // dM = A dY A^T per tile (dY zero beyond the output).
        var dm = [T](repeating: 0, count: a2 * k * P)
        dy.withUnsafeBufferPointer { dp in dm.withUnsafeMutableBufferPointer { mp in
            let DY = UnsafeSendable(dp.baseAddress!), DM = UnsafeSendable(mp.baseAddress!)
            c.parallel(batch * k) { bk in
                let b = bk / k, o = bk % k
                var g = [T](repeating: 0, count: m * m), t = [T](repeating: 0, count: a * m), u = [T](repeating: 0, count: a2)
                for tyi in 0..<ty {
                    for txi in 0..<tx {
                        for i in 0..<m { for j in 0..<m {
                            let oy = tyi * m + i, ox = txi * m + j
                            g[i * m + j] = oy < OH && ox < OW ? DY.p[(bk * OH + oy) * OW + ox] : 0
                        } }
                        sandwich(at, rows: a, n: m, transposed: true, g, &u, &t)  // A dY A^T
                        let p = b * perImage + tyi * tx + txi
                        for xi in 0..<a2 { DM.p[(xi * k + o) * P + p] = u[xi] }
                    }
                }
            }
        } }
        // dW[xi] = dM[xi] V[xi]^T and dV[xi] = W[xi]^T dM[xi], one position per task.
        var dv = [T](repeating: 0, count: a2 * C * P)
        dm.withUnsafeBufferPointer { mp in v.withUnsafeBufferPointer { vp in
        weight.value.withUnsafeBufferPointer { wp in weight.grad.withUnsafeMutableBufferPointer { gp in
        dv.withUnsafeMutableBufferPointer { dvp in
            let DM = UnsafeSendable(mp.baseAddress!), V = UnsafeSendable(vp.baseAddress!)
            let Wp = UnsafeSendable(wp.baseAddress!), G = UnsafeSendable(gp.baseAddress!), DV = UnsafeSendable(dvp.baseAddress!)
            c.parallel(a2) { xi in
                var vt = [T](repeating: 0, count: P * C)
                vt.withUnsafeMutableBufferPointer { transpose(V.p + xi * C * P, rows: C, cols: P, into: $0.baseAddress!) }
                vt.withUnsafeBufferPointer {
                    T.blockedGemm(rows: 0..<k, n: C, depth: P, a: DM.p + xi * k * P, lda: P, b: $0.baseAddress!,
                                  c: G.p + xi * k * C, block: 256)
                }
                var wt = [T](repeating: 0, count: C * k)
                wt.withUnsafeMutableBufferPointer { transpose(Wp.p + xi * k * C, rows: k, cols: C, into: $0.baseAddress!) }
                wt.withUnsafeBufferPointer {
                    T.gemm(rows: 0..<C, n: P, depth: k, a: $0.baseAddress!, lda: k, b: DM.p + xi * k * P, ldb: P,
                           c: DV.p + xi * C * P, ldc: P)
                }
            }
        } } } } }
        // dX += B dV B^T, scattered over the overlapping input tiles of each plane.
        var dx = [T](repeating: 0, count: batch * C * H * W)
        dv.withUnsafeBufferPointer { dvp in dx.withUnsafeMutableBufferPointer { dxp in
            let DV = UnsafeSendable(dvp.baseAddress!), DX = UnsafeSendable(dxp.baseAddress!)
            c.parallel(batch * C) { bc in
                let b = bc / C, ch = bc % C
                let dst = DX.p + bc * H * W
                var e = [T](repeating: 0, count: a2), t = [T](repeating: 0, count: a2), d = [T](repeating: 0, count: a2)
                for tyi in 0..<ty {
                    for txi in 0..<tx {
                        let p = b * perImage + tyi * tx + txi
                        for xi in 0..<a2 { e[xi] = DV.p[(xi * C + ch) * P + p] }
                        sandwich(bt, rows: a, n: a, transposed: true, e, &d, &t)  // B dV B^T
                        let y0 = tyi * m - pads[0], x0 = txi * m - pads[1]
                        for i in 0..<a {
                            let iy = y0 + i
                            guard iy >= 0 && iy < H else { continue }
                            for j in 0..<a {
                                let ix = x0 + j
                                guard ix >= 0 && ix < W else { continue }
                                dst[iy * W + ix] += d[i * a + j]
                            }
                        }
                    }
                }
            }
        } }
        return dx
    }

    /// out (rows x rows) = P x P^T for a small row-major x (n x n), where P (rows x n) is `p`, or
    /// the transpose of `p` (stored n x rows) when `transposed`; `tmp` holds P x (rows x n).
    /// Every transform of the layer has this form: B^T d B, A^T M A, A dY A^T and B dV B^T.
    @inline(__always)
    private func sandwich(_ p: [T], rows: Int, n: Int, transposed: Bool, _ x: [T], _ out: inout [T], _ tmp: inout [T]) {
        func pe(_ i: Int, _ q: Int) -> T { transposed ? p[q * rows + i] : p[i * n + q] }
        for i in 0..<rows { for j in 0..<n {
            var s: T = 0
            for q in 0..<n { s += pe(i, q) * x[q * n + j] }
            tmp[i * n + j] = s
        } }
        for i in 0..<rows { for j in 0..<rows {
            var s: T = 0
            for q in 0..<n { s += tmp[i * n + q] * pe(j, q) }
            out[i * rows + j] = s
        } }
    }
}
