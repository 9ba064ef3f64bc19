// Clip: y = min(max(x, lo), hi), elementwise (ReLU6: lo 0, hi 6).
import WinoFormat
import WinoKernels

/// Clip layer.
final class ClipLayer: Layer {
    let name: String
    let op = OpKind.clip
    let size: Int   // elements per sample
    let lo: Float, hi: Float

    init(node: Node, params: ClipParams, shape: [Int]) {
        name = node.name
        size = shape.reduce(1, *)
        lo = params.min
        hi = params.max
    }

    var explanation: String { "clip to [\(lo), \(hi)] over \(size) values per sample" }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let total = io.batch * size, chunk = 1 << 14, lo = self.lo, hi = self.hi
        let x = io.inputs[0], y = io.output
        parallelFor(ctx.pool, (total + chunk - 1) / chunk) { i, _ in
            for j in (i * chunk)..<min(total, (i + 1) * chunk) { y[j] = min(max(x[j], lo), hi) }
        }
    }
}
