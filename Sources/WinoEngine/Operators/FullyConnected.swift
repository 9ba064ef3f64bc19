// Fully connected: y[n][o] = bias[o] + sum_i W[o][i] * x[n][i] (ReLU if fused).
// The input is read as [N, F] whatever its per-sample shape (C, H, W flatten in order).
// Work items are (n, block of 64 outputs); each output is one fixed-order dot product.
import WinoFormat
import WinoKernels

/// Fully connected layer with dense or CSR weights.
final class FullyConnectedLayer: Layer {
    let name: String
    let op = OpKind.fullyConnected
    let weight: WeightMatrix   // O x F
    let bias: [Float]
    let relu: Bool

    init(node: Node, weight: Tensor, bias: Tensor?, relu: Bool) {
        name = node.name
        self.weight = WeightMatrix(tensor: weight, rows: weight.shape[0], cols: weight.shape[1], compactIndices: true)
        self.bias = bias?.denseValues() ?? [Float](repeating: 0, count: weight.shape[0])
        self.relu = relu
    }

    var explanation: String { "fully connected \(weight.cols) -> \(weight.rows), weights \(weight.storageDescription)" }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let O = weight.rows, F = weight.cols, block = 64
        let blocks = (O + block - 1) / block
        let x = io.inputs[0], y = io.output
        let weight = self.weight, bias = self.bias, relu = self.relu
        parallelFor(ctx.pool, io.batch * blocks) { item, _ in
            let n = item / blocks, o0 = (item % blocks) * block, o1 = min(O, o0 + block)
            let out = y + n * O
            weight.multiplyVector(rows: o0..<o1, x: x + n * F, y: out + o0)
            for o in o0..<o1 {
                let v = out[o] + bias[o]
                out[o] = relu ? max(v, 0) : v
            }
        }
    }
}
