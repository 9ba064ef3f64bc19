// Direct convolution (groups 1) through im2col and the GEMM:
// forward  Y[K][N] = W[K][C r r] * cols[C r r][N] (N = batch * OH * OW);
// backward dW = dY * cols^T, dcols = W^T * dY, then col2im into dX.

/// A direct r x r convolution with stride and padding.
final class DirectConvTrain<T: TrainScalar>: TrainLayer<T> {
    let k: Int, r: Int, stride: Int
    /// Padding top, left, bottom, right.
    let pads: [Int]
    let weight: Param<T>, bias: Param<T>
    private var cols: [T] = []

    init(name: String, inShape: [Int], k: Int, r: Int, stride: Int, pads: [Int], weight: [T], bias: [T]) {
        self.k = k; self.r = r; self.stride = stride; self.pads = pads
        self.weight = Param(name: name + ".w", shape: [k, inShape[0], r, r], value: weight, decays: true)
        self.bias = Param(name: name + ".b", shape: [k], value: bias, decays: false)
        super.init(name: name, inShape: inShape)
    }

    override var outShape: [Int] {
        [k, (inShape[1] + pads[0] + pads[2] - r) / stride + 1, (inShape[2] + pads[1] + pads[3] - r) / stride + 1]
    }
    override var params: [Param<T>] { [weight, bias] }

    override func forward(_ x: [T], batch: Int, training: Bool, _ c: Compute) -> [T] {
        let (C, H, W) = (inShape[0], inShape[1], inShape[2])
        let (OH, OW) = (outShape[1], outShape[2])
        let plane = OH * OW, n = batch * plane, depth = C * r * r
        var cols = [T](repeating: 0, count: depth * n)
        x.withUnsafeBufferPointer { xp in cols.withUnsafeMutableBufferPointer { cp in
            let X = UnsafeSendable(xp), Cl = UnsafeSendable(cp)
            c.parallel(depth) { row in
                let ch = row / (r * r), ky = row / r % r, kx = row % r
                let dst = Cl.p.baseAddress! + row * n
                for b in 0..<batch {
                    let src = X.p.baseAddress! + (b * C + ch) * H * W
                    for oy in 0..<OH {
                        let iy = oy * stride - pads[0] + ky
                        let o = b * plane + oy * OW
                        guard iy >= 0 && iy < H else { continue }
                        for ox in 0..<OW {
                            let ix = ox * stride - pads[1] + kx
                            if ix >= 0 && ix < W { dst[o + ox] = src[iy * W + ix] }
                        }
                    }
                }
            }
        } }
        var ykn = [T](repeating: 0, count: k * n)
        weight.value.withUnsafeBufferPointer { w in cols.withUnsafeBufferPointer { cp in ykn.withUnsafeMutableBufferPointer { yp in
            c.matmul(w.baseAddress!, cp.baseAddress!, yp.baseAddress!, m: k, n: n, depth: depth)
        } } }
        var y = [T](repeating: 0, count: batch * k * plane)
        for b in 0..<batch {
            for o in 0..<k {
                let bv = bias.value[o]
                for i in 0..<plane { y[(b * k + o) * plane + i] = ykn[o * n + b * plane + i] + bv }
            }
        }
        if training { self.cols = cols }
        return y
    }

    override func backward(_ dy: [T], batch: Int, _ c: Compute) -> [T] {
        let (C, H, W) = (inShape[0], inShape[1], inShape[2])
        let (OH, OW) = (outShape[1], outShape[2])
        let plane = OH * OW, n = batch * plane, depth = C * r * r
        var dykn = [T](repeating: 0, count: k * n)
        for b in 0..<batch { for o in 0..<k { for i in 0..<plane { dykn[o * n + b * plane + i] = dy[(b * k + o) * plane + i] } } }
        for o in 0..<k {
            var s: T = 0
            for j in 0..<n { s += dykn[o * n + j] }
            bias.grad[o] = s
        }
        var colsT = [T](repeating: 0, count: n * depth)
        cols.withUnsafeBufferPointer { cp in colsT.withUnsafeMutableBufferPointer { transpose(cp.baseAddress!, rows: depth, cols: n, into: $0.baseAddress!) } }
        dykn.withUnsafeBufferPointer { d in colsT.withUnsafeBufferPointer { ct in weight.grad.withUnsafeMutableBufferPointer { g in
            c.matmulLongDepth(d.baseAddress!, lda: n, ct.baseAddress!, g.baseAddress!, m: k, n: depth, depth: n)
        } } }
        var wt = [T](repeating: 0, count: depth * k)
        weight.value.withUnsafeBufferPointer { w in wt.withUnsafeMutableBufferPointer { transpose(w.baseAddress!, rows: k, cols: depth, into: $0.baseAddress!) } }
        var dcols = colsT  // reuse the allocation: depth * n
        wt.withUnsafeBufferPointer { w in dykn.withUnsafeBufferPointer { d in dcols.withUnsafeMutableBufferPointer { dc in
            c.matmul(w.baseAddress!, d.baseAddress!, dc.baseAddress!, m: depth, n: n, depth: k)
        } } }
        var dx = [T](repeating: 0, count: batch * C * H * W)
        dcols.withUnsafeBufferPointer { dc in dx.withUnsafeMutableBufferPointer { dp in
            let DC = UnsafeSendable(dc), DX = UnsafeSendable(dp)
            // Each input channel gathers only its own r*r rows: channels are independent.
            c.parallel(C) { ch in
                for kk in 0..<(r * r) {
                    let ky = kk / r, kx = kk % r
                    let src = DC.p.baseAddress! + (ch * r * r + kk) * n
                    for b in 0..<batch {
                        let dst = DX.p.baseAddress! + (b * C + ch) * H * W
                        for oy in 0..<OH {
                            let iy = oy * stride - pads[0] + ky
                            guard iy >= 0 && iy < H else { continue }
                            for ox in 0..<OW {
                                let ix = ox * stride - pads[1] + kx
                                if ix >= 0 && ix < W { dst[iy * W + ix] += src[b * plane + oy * OW + ox] }
                            }
                        }
                    }
                }
            }
        } }
        return dx
    }
}
