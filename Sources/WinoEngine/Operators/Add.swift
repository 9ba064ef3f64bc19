// Elementwise sum of two activations of the same shape (ReLU if fused).
import WinoFormat
import WinoKernels

/// Add layer.
final class AddLayer: Layer {
    let name: String
    let op = OpKind.add
    let size: Int
    let relu: Bool

    init(node: Node, shape: [Int], relu: Bool) {
        name = node.name
        size = shape.reduce(1, *)
        self.relu = relu
    }

    var explanation: String { relu ? "add + ReLU" : "add" }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let total = io.batch * size, chunk = 1 << 14, relu = self.relu
        let a = io.inputs[0], b = io.inputs[1], y = io.output
        parallelFor(ctx.pool, (total + chunk - 1) / chunk) { i, _ in
            for j in (i * chunk)..<min(total, (i + 1) * chunk) {
                let v = a[j] + b[j]
                y[j] = relu ? max(v, 0) : v
            }
        }
    }
}
