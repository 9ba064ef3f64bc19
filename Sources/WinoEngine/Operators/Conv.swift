// Direct convolution (any kernel, stride, padding, groups) as im2col + matrix product.
// Legend: N batch, C/K in/out channels, G groups (Cg = C/G, Kg = K/G), R x S kernel,
// H x W input, OH x OW output, P = OH * OW. Per image n, group g and block of 64 output
// pixels p0 ..< p0 + 64 (one work item):
//   col[(c * R + r) * S + s][p - p0] = x[n][g*Cg + c][oy*sh + r - pt][ox*sw + s - pl] (0 outside)
//   y[n][g*Kg + k][p] = bias[k] + sum_d W[g*Kg + k][d] * col[d][p - p0]   (then ReLU if fused)
// The block's slice of `col` (depth x 64 floats) is built in the thread's scratch right
// before the product (C kernel `wk_im2col`) and stays in cache while every 6-channel strip
// of the kernel uses it; the whole im2col matrix is never written to memory.
// A 1x1, stride-1, unpadded convolution uses the input directly as `col`.
import CWinoKernels
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

    /// Output pixels per work item (columns of one im2col slice; `wk_im2col` takes at most 64).
    static let block = 64

    func scratch(batch: Int) -> ScratchNeed {
        ScratchNeed(perThread: isPointwise ? 0 : depth * ConvLayer.block, shared: 0)
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
        let (h, w, ow) = (self.h, self.w, self.ow)
        let x = io.inputs[0], y = io.output
        let scratch = ctx.scratch
        let pointwise = isPointwise
        let weight = self.weight, bias = self.bias, relu = p.relu, K = p.outChannels
        let B = ConvLayer.block, colBlocks = (P + B - 1) / B
        // Items (n, g, pixel block), all output channels each: disjoint outputs, and each
        // output sums its depth in a fixed order, whatever the thread split.
        parallelFor(ctx.pool, io.batch * G * colBlocks) { item, thread in
            let n = item / (G * colBlocks), g = (item / colBlocks) % G, blk = item % colBlocks
            let xg = x + (n * c + g * cg) * h * w
            let p0 = blk * B, pn = min(P, p0 + B) - p0
            let b: UnsafePointer<Float>, ldb: Int
            if pointwise {
                b = UnsafePointer(xg + p0); ldb = P
            } else {
                let col = scratch[thread]
                wk_im2col(xg, Int32(cg), Int32(h), Int32(w), Int32(R), Int32(S), Int32(win.strideH), Int32(win.strideW),
                          Int32(win.padTop), Int32(win.padLeft), Int32(ow), Int32(p0), Int32(pn), col)
                b = UnsafePointer(col); ldb = pn
            }
            let yg = y + (n * K + g * kg) * P
            weight.multiply(rows: (g * kg)..<((g + 1) * kg), b: b, ldb: ldb, n: pn, c: yg + p0, ldc: P)
            for k in 0..<kg { biasRelu(yg + k * P + p0, count: pn, bias: bias[g * kg + k], relu: relu) }
        }
    }
}
