// Winograd convolution from Winograd-domain weights (dense or CSR), stride 1.
// Legend: m output-tile edge, r kernel edge, alpha = m + r - 1, xi in 0..<alpha^2 a
// Winograd position, T = tilesH * tilesW tiles per image (tilesH = ceil(OH / m)),
// G groups, Cg = C/G, Kg = K/G, TB tiles per block.
// Weights W[xi][k][c] ([alpha, alpha, K, Cg], rows (xi, k) of a (alpha^2 K) x Cg matrix).
// Work item (n, g, tile block):
//   V[xi][c][t] = (B^T d[c,t] B)[xi]          d = alpha x alpha input patch, 0 outside
//   M[xi][k][t] = sum_c W[xi][g*Kg + k][c] * V[xi][c][t]
//   y tile      = A^T M[k,t] A + bias[k] (ReLU if fused); parts beyond OH x OW dropped.
// Items write disjoint outputs and sum in a fixed order: bit-identical for any thread count.
import WinoFormat
import WinoKernels

/// Winograd convolution layer.
final class WinogradConvLayer: Layer {
    let name: String
    let op = OpKind.winogradConv
    let p: ConvParams
    let c: Int, h: Int, w: Int, oh: Int, ow: Int
    let transform: WinogradTransform
    let tilesH: Int, tilesW: Int
    let tileBlock: Int
    let weight: WeightMatrix      // (alpha^2 * K) x Cg
    let bias: [Float]

    init(node: Node, params: ConvParams, input: [Int], weight: Tensor, bias: Tensor?) {
        name = node.name
        p = params
        c = input[0]; h = input[1]; w = input[2]
        let o = params.window.outputSize(h: h, w: w)
        oh = o.h; ow = o.w
        let tile = WinogradTile(rawValue: Int(params.winograd!.rawValue))!
        transform = WinogradTransform(tile)
        tilesH = (oh + transform.m - 1) / transform.m
        tilesW = (ow + transform.m - 1) / transform.m
        tileBlock = min(32, tilesH * tilesW)
        let a2 = transform.alpha * transform.alpha
        self.weight = WeightMatrix(tensor: weight, rows: a2 * params.outChannels, cols: params.inChannels / params.groups)
        self.bias = bias?.denseValues() ?? [Float](repeating: 0, count: params.outChannels)
    }

    var explanation: String {
        "Winograd \(transform.tile) conv, groups \(p.groups), \(tilesH * tilesW) tiles in blocks of \(tileBlock), weights \(weight.storageDescription)"
    }

    func scratch(batch: Int) -> ScratchNeed {
        let a2 = transform.alpha * transform.alpha
        let cg = c / p.groups, kg = p.outChannels / p.groups
        return ScratchNeed(perThread: a2 * (cg + kg) * tileBlock + a2 + transform.m * transform.m + 64, shared: 0)
    }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let G = p.groups, cg = c / G, kg = p.outChannels / G, K = p.outChannels
        let alpha = transform.alpha, m = transform.m, a2 = alpha * alpha
        let T = tilesH * tilesW, TB = tileBlock
        let blocks = (T + TB - 1) / TB
        let (h, w, oh, ow, tilesW) = (self.h, self.w, self.oh, self.ow, self.tilesW)
        let padTop = p.window.padTop, padLeft = p.window.padLeft
        let x = io.inputs[0], y = io.output
        let transform = self.transform, weight = self.weight, bias = self.bias, relu = p.relu
        let c = self.c, scratch = ctx.scratch
        parallelFor(ctx.pool, io.batch * G * blocks) { item, thread in
            let n = item / (G * blocks), g = (item / blocks) % G, blk = item % blocks
            let t0 = blk * TB, tb = min(TB, T - t0)
            let v = scratch[thread]                 // [a2][cg][TB]
            let mAcc = v + a2 * cg * TB             // [a2][kg][TB]
            let patch = mAcc + a2 * kg * TB         // alpha x alpha
            let yTile = patch + a2                  // m x m
            // Input transform.
            for ci in 0..<cg {
                let src = x + (n * c + g * cg + ci) * h * w
                for t in 0..<tb {
                    let tile = t0 + t
                    let iy0 = (tile / tilesW) * m - padTop, ix0 = (tile % tilesW) * m - padLeft
                    for i in 0..<alpha {
                        let iy = iy0 + i
                        for j in 0..<alpha {
                            let ix = ix0 + j
                            patch[i * alpha + j] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? src[iy * w + ix] : 0
                        }
                    }
                    transform.input(patch, ldd: alpha, v + ci * TB + t, vStride: cg * TB)
                }
            }
            // One product per Winograd position.
            for xi in 0..<a2 {
                let row0 = xi * K + g * kg
                weight.multiply(rows: row0..<(row0 + kg), b: v + xi * cg * TB, ldb: TB, n: tb,
                                c: mAcc + xi * kg * TB, ldc: TB)
            }
            // Output transform, bias, ReLU.
            for k in 0..<kg {
                let gk = g * kg + k
                let dst = y + (n * K + gk) * oh * ow
                let b = bias[gk]
                for t in 0..<tb {
                    let tile = t0 + t
                    transform.output(mAcc + k * TB + t, mStride: kg * TB, yTile)
                    let oy0 = (tile / tilesW) * m, ox0 = (tile % tilesW) * m
                    for i in 0..<min(m, oh - oy0) {
                        for j in 0..<min(m, ow - ox0) {
                            let value = yTile[i * m + j] + b
                            dst[(oy0 + i) * ow + ox0 + j] = relu ? max(value, 0) : value
                        }
                    }
                }
            }
        }
    }
}
