// LRN followed by max pooling, fused: the planner fuses an LRN whose only reader is a MaxPool
// (AlexNet's norm1/pool1 and norm2/pool2). Each work item computes the LRN of one channel
// plane into the thread's scratch and pools it from there, so the LRN output never goes to
// memory: at batch 8 AlexNet's first LRN output is 9 MB, written, read for ownership and read
// back by the pool. The same kernels in the same order as the two layers apart: the same bits.
import CWinoKernels
import WinoFormat
import WinoKernels

/// LRN + max pool layer.
final class LRNMaxPoolLayer: Layer {
    let name: String
    let op = OpKind.lrn
    let p: LRNParams
    let pool: MaxPoolLayer
    let c: Int, hw: Int

    init(node: Node, params: LRNParams, input: [Int], pool: MaxPoolLayer) {
        name = node.name
        p = params
        self.pool = pool
        c = input[0]; hw = input[1] * input[2]
    }

    var explanation: String {
        "LRN size \(p.size) alpha \(p.alpha) beta \(p.beta) bias \(p.bias), fused with the following \(pool.explanation) (\(pool.name)): each LRN plane pooled from the thread's scratch"
    }

    /// Floats before the column-maxima buffer in a thread's scratch (the LRN plane, padded).
    private var planeFloats: Int { (hw + 15) / 16 * 16 }

    func scratch(batch: Int) -> ScratchNeed {
        ScratchNeed(perThread: planeFloats + pool.w + 16, shared: 0)
    }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let (c, hw, p, pool) = (self.c, self.hw, self.p, self.pool)
        let x = io.inputs[0], y = io.output
        let (before, after) = p.window
        let opl = pool.oh * pool.ow, planeFloats = self.planeFloats
        // One plane per item: consecutive channels on one thread share four of their five
        // window planes in its caches.
        parallelFor(ctx.pool, io.batch * c) { item, thread in
            let n = item / c, ch = item % c
            let plane = ctx.scratch[thread]
            wk_lrn(Int32(c), Int32(ch), Int32(ch + 1), hw, Int32(hw), x + n * c * hw, plane, hw,
                   Int32(before), Int32(after), p.scale, p.bias, p.beta)
            pool.pool(plane, into: y + item * opl, colMax: plane + planeFloats)
        }
    }
}
