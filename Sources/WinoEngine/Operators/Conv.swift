// Direct convolution (any kernel, stride, padding, groups) as im2col + matrix product.
// Legend: N batch, C/K in/out channels, G groups (Cg = C/G, Kg = K/G), R x S kernel,
// H x W input, OH x OW output, P = OH * OW. Per image n and group g:
//   col[(c * R + r) * S + s][p] = x[n][g*Cg + c][oy*sh + r - pt][ox*sw + s - pl] (0 outside)
//   y[n][g*Kg + k][p] = bias[k] + sum_d W[g*Kg + k][d] * col[d][p]     (then ReLU if fused)
// A 1x1, stride-1, unpadded convolution uses the input directly as `col`.
import WinoFormat
import WinoKernels

/// Direct convolution layer.
final class ConvLayer: Layer {
    let name: String
    let op = OpKind.conv
    let p: ConvParams
    let c: Int, h: Int, w: Int, oh: Int, ow: Int
    let weight: WeightMatrix      // K x (Cg * R * S)
    let bias: [Float]

    /// Why the planner kept this convolution direct (for `--explain`), if it was asked.
    let note: String?

    init(node: Node, params: ConvParams, input: [Int], weight: Tensor, bias: Tensor?, note: String? = nil) {
        self.note = note
        name = node.name
        p = params
        c = input[0]; h = input[1]; w = input[2]
        let o = params.window.outputSize(h: h, w: w)
        oh = o.h; ow = o.w
        let depth = weight.count / params.outChannels
        self.weight = WeightMatrix(tensor: weight, rows: params.outChannels, cols: depth)
        self.bias = bias?.denseValues() ?? [Float](repeating: 0, count: params.outChannels)
    }

    var isPointwise: Bool {
        let win = p.window
        return win.kernelH == 1 && win.kernelW == 1 && win.strideH == 1 && win.strideW == 1
            && win.padTop == 0 && win.padLeft == 0 && win.padBottom == 0 && win.padRight == 0
    }

    var depth: Int { weight.cols }

    func scratch(batch: Int) -> ScratchNeed {
        ScratchNeed(perThread: 0, shared: isPointwise ? 0 : depth * oh * ow)
    }

    var explanation: String {
        let win = p.window
        return "direct conv \(win.kernelH)x\(win.kernelW) stride \(win.strideH)x\(win.strideW), groups \(p.groups), weights \(weight.storageDescription)"
            + (note.map { " (\($0))" } ?? "")
    }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let G = p.groups, cg = c / G, kg = p.outChannels / G, P = oh * ow
        let win = p.window
        let R = win.kernelH, S = win.kernelW
        let (h, w, oh, ow) = (self.h, self.w, self.oh, self.ow)
        let x = io.inputs[0], y = io.output
        let col = ctx.shared
        let pointwise = isPointwise
        let weight = self.weight, bias = self.bias, relu = p.relu, K = p.outChannels, depth = self.depth
        for n in 0..<io.batch {
            for g in 0..<G {
                let xg = x + (n * c + g * cg) * h * w
                if !pointwise {
                    // im2col, parallel over rows d = (c, r, s).
                    parallelFor(ctx.pool, depth) { d, _ in
                        let ci = d / (R * S), r = (d / S) % R, s = d % S
                        let src = xg + ci * h * w
                        let dst = col + d * P
                        // Output columns whose input column ix = ox * sw + s - pl lies in [0, w).
                        let off = s - win.padLeft, sw = win.strideW
                        let lo = min(ow, off >= 0 ? 0 : (-off + sw - 1) / sw)
                        let hi = max(lo, min(ow, w - off <= 0 ? 0 : (w - off + sw - 1) / sw))
                        for oy in 0..<oh {
                            let iy = oy * win.strideH + r - win.padTop
                            let row = dst + oy * ow
                            if iy < 0 || iy >= h { row.initialize(repeating: 0, count: ow); continue }
                            let line = src + iy * w + off
                            for ox in 0..<lo { row[ox] = 0 }
                            if sw == 1 {
                                (row + lo).update(from: line + lo, count: hi - lo)
                            } else {
                                for ox in lo..<hi { row[ox] = line[ox * sw] }
                            }
                            for ox in hi..<ow { row[ox] = 0 }
                        }
                    }
                }
                let b = pointwise ? UnsafePointer(xg) : UnsafePointer(col)
                let yg = y + (n * K + g * kg) * P
                // Product, parallel over blocks of 64 output pixels with all output channels: each
                // block's slice of `col` (depth x 64) is read from memory once and stays in cache
                // while every 6-channel strip of the kernel uses it.
                let rowBlocks = 1, colBlocks = (P + 63) / 64
                parallelFor(ctx.pool, rowBlocks * colBlocks) { item, _ in
                    let k0 = 0, k1 = kg
                    let p0 = item * 64, pn = min(P, p0 + 64) - p0
                    let gk0 = g * kg + k0
                    weight.multiply(rows: gk0..<(g * kg + k1), b: b + p0, ldb: P, n: pn, c: yg + k0 * P + p0, ldc: P)
                    for k in k0..<k1 { biasRelu(yg + k * P + p0, count: pn, bias: bias[g * kg + k], relu: relu) }
                }
            }
        }
    }
}
