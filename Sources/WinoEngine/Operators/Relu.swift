// ReLU: y = max(x, 0), elementwise.
import WinoFormat
import WinoKernels

/// Standalone ReLU layer (convolutions, FC and Add fuse it instead when they can).
final class ReluLayer: Layer {
    let name: String
    let op = OpKind.relu
    let size: Int   // elements per sample

    init(node: Node, shape: [Int]) {
        name = node.name
        size = shape.reduce(1, *)
    }

    var explanation: String { "ReLU over \(size) values per sample" }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let total = io.batch * size, chunk = 1 << 14
        let x = io.inputs[0], y = io.output
        parallelFor(ctx.pool, (total + chunk - 1) / chunk) { i, _ in
            for j in (i * chunk)..<min(total, (i + 1) * chunk) { y[j] = max(x[j], 0) }
        }
    }
}
