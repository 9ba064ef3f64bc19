// Softmax over the feature axis: for [F] per sample over all F values; for
// [C, H, W] over C at each spatial position. y = exp(x - max) / sum exp(x - max).
import WinoFormat
import WinoKernels
#if canImport(Glibc)
import Glibc
#endif

/// Softmax layer.
final class SoftmaxLayer: Layer {
    let name: String
    let op = OpKind.softmax
    let channels: Int, inner: Int   // softmax over `channels` values spaced `inner` apart

    init(node: Node, shape: [Int]) {
        name = node.name
        channels = shape[0]
        inner = shape.dropFirst().reduce(1, *)
    }

    var explanation: String { "softmax over \(channels) values" }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let (C, inner) = (channels, self.inner)
        let x = io.inputs[0], y = io.output
        parallelFor(ctx.pool, io.batch * inner) { item, _ in
            let n = item / inner, q = item % inner
            let src = x + n * C * inner + q, dst = y + n * C * inner + q
            var mx = -Float.infinity
            for ch in 0..<C { mx = max(mx, src[ch * inner]) }
            var sum: Float = 0
            for ch in 0..<C { let e = expf(src[ch * inner] - mx); dst[ch * inner] = e; sum += e }
            let inv = 1 / sum
            for ch in 0..<C { dst[ch * inner] *= inv }
        }
    }
}
