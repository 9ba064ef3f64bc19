// Fully connected: y[n][o] = bias[o] + sum_i W[o][i] * x[n][i] (ReLU if fused).
// The input is read as [N, F] whatever its per-sample shape (C, H, W flatten in order).
// Work items are blocks of 64 outputs (and images, at batch 1); each output is one fixed-order
// dot product. Batches run 8 images per pass over the weights (the images transposed).
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

    var explanation: String {
        let chunks = weight.columnChunks
        let split = chunks > 1 ? ", blocks of \(WeightMatrix.blockRows) rows in \(chunks) column chunks of up to \(weight.columnChunkWidth) (one input chunk in the L1)" : ""
        return "fully connected \(weight.cols) -> \(weight.rows), weights \(weight.storageDescription)\(split)"
    }

    /// Batches of at least this many images run 8 images per pass over the weights.
    static let batchedFrom = 2

    func scratch(batch: Int) -> ScratchNeed {
        ScratchNeed(perThread: 0, shared: batch >= FullyConnectedLayer.batchedFrom ? weight.cols * 8 : 0)
    }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let O = weight.rows, F = weight.cols, block = 64
        let blocks = (O + block - 1) / block
        let x = io.inputs[0], y = io.output
        let weight = self.weight, bias = self.bias, relu = self.relu
        func finish(_ out: UnsafeMutablePointer<Float>, _ o0: Int, _ o1: Int) {
            for o in o0..<o1 {
                let v = out[o] + bias[o]
                out[o] = relu ? max(v, 0) : v
            }
        }
        if io.batch < FullyConnectedLayer.batchedFrom {
            parallelFor(ctx.pool, io.batch * blocks) { item, _ in
                let n = item / blocks, o0 = (item % blocks) * block, o1 = min(O, o0 + block)
                let out = y + n * O
                weight.multiplyVector(rows: o0..<o1, x: x + n * F, y: out + o0)
                finish(out, o0, o1)
            }
            return
        }
        // Groups of up to 8 images: transposed into the shared scratch (column c of image n
        // at xt[c * 8 + n], unused lanes 0), then every weight row is read once per group.
        let xt = ctx.shared
        let fChunk = 1024, fChunks = (F + fChunk - 1) / fChunk
        for n0 in stride(from: 0, to: io.batch, by: 8) {
            let nb = min(8, io.batch - n0)
            parallelFor(ctx.pool, fChunks) { item, _ in
                for f in (item * fChunk)..<min(F, (item + 1) * fChunk) {
                    for n in 0..<8 { xt[f * 8 + n] = n < nb ? x[(n0 + n) * F + f] : 0 }
                }
            }
            parallelFor(ctx.pool, blocks) { item, _ in
                let o0 = item * block, o1 = min(O, o0 + block)
                weight.multiplyBatch8(rows: o0..<o1, xt: xt, nb: nb, y: y + n0 * O, ldy: O)
                for n in 0..<nb { finish(y + (n0 + n) * O, o0, o1) }
            }
        }
    }
}
