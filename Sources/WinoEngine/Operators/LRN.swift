// Local response normalisation across channels (AlexNet, ONNX LRN):
//   y[c] = x[c] / (bias + alpha / size * sum_{c' = c - (size-1)/2 ... c + size/2} x[c']^2)^beta
import WinoFormat
import WinoKernels
#if canImport(Glibc)
import Glibc
#endif

/// LRN layer.
final class LRNLayer: Layer {
    let name: String
    let op = OpKind.lrn
    let p: LRNParams
    let c: Int, hw: Int

    init(node: Node, params: LRNParams, input: [Int]) {
        name = node.name
        p = params
        c = input[0]; hw = input[1] * input[2]
    }

    var explanation: String { "LRN size \(p.size) alpha \(p.alpha) beta \(p.beta) bias \(p.bias)" }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let (c, hw, p) = (self.c, self.hw, self.p)
        let x = io.inputs[0], y = io.output
        let before = (p.size - 1) / 2, after = p.size / 2
        let scale = p.alpha / Float(p.size), bias = p.bias, beta = p.beta
        let chunk = 256
        let chunks = (hw + chunk - 1) / chunk
        // Per chunk of 256 pixels, the window's sum of squares is recomputed for each channel
        // from scratch (c * size adds, fixed order: deterministic and drift-free), with the
        // pixel loop innermost so that it vectorises. beta = 0.75 (AlexNet) uses square roots.
        parallelFor(ctx.pool, io.batch * chunks) { item, _ in
            let n = item / chunks, q0 = (item % chunks) * chunk, q1 = min(hw, q0 + chunk), len = q1 - q0
            let base = x + n * c * hw + q0, out = y + n * c * hw + q0
            withUnsafeTemporaryAllocation(of: Float.self, capacity: chunk) { sumBuffer in
                let sum = sumBuffer.baseAddress!
                for ch in 0..<c {
                    let lo = max(0, ch - before), hi = min(c - 1, ch + after)
                    for q in 0..<len { sum[q] = 0 }
                    for cc in lo...hi {
                        let src = base + cc * hw
                        for q in 0..<len { sum[q] += src[q] * src[q] }
                    }
                    let src = base + ch * hw, dst = out + ch * hw
                    if beta == 0.75 {
                        for q in 0..<len {
                            let d = bias + scale * sum[q]
                            let r = d.squareRoot()
                            dst[q] = src[q] / (r * r.squareRoot())
                        }
                    } else {
                        for q in 0..<len { dst[q] = src[q] / powf(bias + scale * sum[q], beta) }
                    }
                }
            }
        }
    }
}
