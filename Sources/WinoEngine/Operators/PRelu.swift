// Parametric ReLU: y = x if x >= 0 else slope * x. The slope holds 1 value
// (shared), C values (one per channel, spaced `inner` = H*W apart) or one per
// element of the sample.
import WinoFormat
import WinoKernels

/// PRelu layer.
final class PReluLayer: Layer {
    let name: String
    let op = OpKind.prelu
    let size: Int    // elements per sample
    let inner: Int   // elements per slope value, consecutive
    let slope: [Float]

    init(node: Node, slope s: Tensor, shape: [Int]) {
        name = node.name
        size = shape.reduce(1, *)
        slope = s.denseValues()
        inner = size / slope.count
    }

    var explanation: String { "PReLU with \(slope.count) slope value(s) over \(size) values per sample" }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let (inner, slope) = (self.inner, self.slope)
        let x = io.inputs[0], y = io.output
        parallelFor(ctx.pool, io.batch * slope.count) { item, _ in
            let a = slope[item % slope.count], base = item * inner
            for j in base..<(base + inner) { y[j] = x[j] >= 0 ? x[j] : a * x[j] }
        }
    }
}
