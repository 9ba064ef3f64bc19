// Local response normalisation across channels (AlexNet, ONNX LRN):
//   y[c] = x[c] / (bias + alpha / size * sum_{c' = c - (size-1)/2 ... c + size/2} x[c']^2)^beta
import CWinoKernels
import WinoFormat
import WinoKernels

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
        // Runs of 256 pixels per work item; the C kernel sums each window in channel order.
        parallelFor(ctx.pool, io.batch * chunks) { item, _ in
            let n = item / chunks, q0 = (item % chunks) * chunk, len = min(hw, q0 + chunk) - q0
            wk_lrn(Int32(c), hw, Int32(len), x + n * c * hw + q0, y + n * c * hw + q0,
                   Int32(before), Int32(after), scale, p.bias, p.beta)
        }
    }
}
