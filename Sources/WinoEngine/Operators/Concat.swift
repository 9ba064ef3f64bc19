// Concatenation along the channel (first per-sample) axis.
import WinoFormat
import WinoKernels

/// Concat layer.
final class ConcatLayer: Layer {
    let name: String
    let op = OpKind.concat
    let sizes: [Int]   // per-sample elements of each input

    init(node: Node, inputs: [[Int]]) {
        name = node.name
        sizes = inputs.map { $0.reduce(1, *) }
    }

    var explanation: String { "concat of \(sizes.count) inputs" }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let total = sizes.reduce(0, +), sizes = self.sizes, inputs = io.inputs, y = io.output
        parallelFor(ctx.pool, io.batch) { n, _ in
            var offset = 0
            for (i, s) in sizes.enumerated() {
                (y + n * total + offset).update(from: inputs[i] + n * s, count: s)
                offset += s
            }
        }
    }
}
