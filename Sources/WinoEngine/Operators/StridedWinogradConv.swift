// Strided convolution as space-to-depth + a stride-1 Winograd F(4x4,3x3) convolution.
//
// With stride s, kernel R x R and Q = ceil(R / s) = 3, write kernel row r = s qr + pr and
// column t = s qt + pt (pr, pt < s; qr, qt < Q). Then
//   y[k][oy][ox] = sum_{c,r,t} w[k][c][r][t] xp[c][s oy + r][s ox + t]
//                = sum_{c',qr,qt} w'[k][c'][qr][qt] z[c'][oy + qr][ox + qt]
// with xp the zero-padded input, the space-to-depth input
//   z[c'][u][v] = xp[c][s u + pr][s v + pt],   c' = (c s + pr) s + pt   (C s^2 channels)
// and the rearranged kernel w'[k][c'][qr][qt] = w[k][c][s qr + pr][s qt + pt] (0 where
// s qr + pr or s qt + pt >= R). The second form is a stride-1 3x3 convolution without
// padding on z ((OH + 2) x (OW + 2)): it runs as a dense (or sparse) Winograd convolution.
// For AlexNet's conv1 (11x11, stride 4, 3 channels) that is 48 channels and 108 instead of
// 363 multiply-adds per output: 3.4x fewer.
// z lives in the request's shared scratch (the inner layer uses per-thread scratch only).
import CWinoKernels
import WinoFormat
import WinoKernels

/// Strided convolution run as space-to-depth + stride-1 Winograd.
final class StridedWinogradConvLayer: Layer {
    let name: String
    let op = OpKind.conv
    let stride: Int
    let c: Int, h: Int, w: Int
    /// Space-to-depth plane size (OH + 2) x (OW + 2) and the original top/left padding.
    let uh: Int, uw: Int, padTop: Int, padLeft: Int
    let inner: WinogradConvLayer
    let kernel: Int

    /// Kernels per stride this layer takes: ceil(R / s) must be 3.
    static func eligible(kernel r: Int, stride s: Int) -> Bool { s >= 2 && (r + s - 1) / s == 3 }

    /// Builds the layer from a direct conv node's parameters and spatial weights
    /// [K, C/groups, R, R] (dense values), for a model run with `threads` threads.
    init(node: Node, params p: ConvParams, input: [Int], spatial: [Float], bias: Tensor?, threads: Int = 1, note: String) {
        name = node.name
        let s = p.window.strideH, r = p.window.kernelH
        precondition(p.window.strideW == s && p.window.kernelW == r && StridedWinogradConvLayer.eligible(kernel: r, stride: s))
        stride = s
        kernel = r
        c = input[0]; h = input[1]; w = input[2]
        let o = p.window.outputSize(h: h, w: w)
        uh = o.h + 2; uw = o.w + 2
        padTop = p.window.padTop; padLeft = p.window.padLeft
        let K = p.outChannels, cg = p.inChannels / p.groups, cg2 = cg * s * s
        // w'[k][(c s + pr) s + pt][qr][qt] = w[k][c][s qr + pr][s qt + pt].
        var w2 = [Float](repeating: 0, count: K * cg2 * 9)
        for k in 0..<K {
            for ci in 0..<cg {
                for pr in 0..<s {
                    for pt in 0..<s {
                        let c2 = (ci * s + pr) * s + pt
                        for qr in 0..<3 {
                            for qt in 0..<3 {
                                let rr = s * qr + pr, tt = s * qt + pt
                                guard rr < r, tt < r else { continue }
                                w2[((k * cg2 + c2) * 3 + qr) * 3 + qt] = spatial[((k * cg + ci) * r + rr) * r + tt]
                            }
                        }
                    }
                }
            }
        }
        let u = WinogradWeights.fromSpatial(w2, k: K, c: cg2, tile: .f4x4_3x3)
        let t = Tensor(name: node.name + ".s2d", shape: [6, 6, K, cg2], winograd: .f4x4_3x3, data: .dense(u))
        var ip = p
        ip.window = Window2D(kernelH: 3, kernelW: 3, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0)
        ip.inChannels = p.inChannels * s * s
        ip.winograd = .f4x4_3x3
        inner = WinogradConvLayer(node: node, params: ip, input: [c * s * s, uh, uw], weight: t, bias: bias, threads: threads, note: note)
    }

    var explanation: String {
        "direct \(kernel)x\(kernel) stride \(stride) conv as space-to-depth (\(c * stride * stride) channels, \(uh)x\(uw)) + "
            + inner.explanation
    }

    func scratch(batch: Int) -> ScratchNeed {
        var need = inner.scratch(batch: batch)
        need.shared = max(need.shared, batch * c * stride * stride * uh * uw)
        return need
    }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let s = stride, c = self.c, h = self.h, w = self.w, uh = self.uh, uw = self.uw
        let padTop = self.padTop, padLeft = self.padLeft
        let x = io.inputs[0], z = ctx.shared
        // z[n][(ci s + pr) s + pt][u][v] = x[n][ci][s u + pr - padTop][s v + pt - padLeft] (0 outside).
        // Items are (image, channel, row phase pr): AlexNet's conv1 has 3 channels, too few to
        // split evenly over the threads by channel alone.
        parallelFor(ctx.pool, io.batch * c * s) { job, _ in
            let item = job / s, pr = job % s
            let src = x + item * h * w
            for pt in 0..<s {
                let plane = z + ((item * s + pr) * s + pt) * uh * uw
                // Columns v whose input column s v + pt - padLeft lies in [0, w).
                let off = pt - padLeft
                let vlo = min(uw, off >= 0 ? 0 : (-off + s - 1) / s)
                let vhi = max(vlo, min(uw, w - off <= 0 ? 0 : (w - off + s - 1) / s))
                for u in 0..<uh {
                    let row = plane + u * uw
                    let iy = s * u + pr - padTop
                    if iy < 0 || iy >= h {
                        row.update(repeating: 0, count: uw)
                        continue
                    }
                    if vlo > 0 { row.update(repeating: 0, count: vlo) }
                    if vhi > vlo {
                        wk_strided_copy(src + iy * w + s * vlo + off, Int32(s), Int32(vhi - vlo), row + vlo)
                    }
                    if vhi < uw { (row + vhi).update(repeating: 0, count: uw - vhi) }
                }
            }
        }
        inner.compute(x: z, y: io.output, batch: io.batch, ctx)
    }
}
