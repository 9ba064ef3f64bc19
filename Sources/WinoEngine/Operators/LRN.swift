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
        let scale = p.alpha / Float(p.size)
        let chunk = 256
        let chunks = (hw + chunk - 1) / chunk
        parallelFor(ctx.pool, io.batch * chunks) { item, _ in
            let n = item / chunks, q0 = (item % chunks) * chunk, q1 = min(hw, q0 + chunk)
            let base = x + n * c * hw, out = y + n * c * hw
            for ch in 0..<c {
                let lo = max(0, ch - before), hi = min(c - 1, ch + after)
                for q in q0..<q1 {
                    var sum: Float = 0
                    for cc in lo...hi { let v = base[cc * hw + q]; sum += v * v }
                    out[ch * hw + q] = base[ch * hw + q] / powf(p.bias + scale * sum, p.beta)
                }
            }
        }
    }
}
