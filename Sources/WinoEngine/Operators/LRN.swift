// Local response normalisation across channels (AlexNet, ONNX LRN):
//   y[c] = x[c] / (bias + alpha / size * sum_{c' = c - (size-1)/2 ... c + size/2} x[c']^2)^beta
import CWinoKernels
import WinoFormat
import WinoKernels

extension LRNParams {
    /// Channels of the window before and after the output channel.
    var window: (before: Int, after: Int) { ((size - 1) / 2, size / 2) }
    /// The factor of the window's sum of squares (alpha / size).
    var scale: Float { alpha / Float(size) }
}

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
        let (before, after) = p.window
        // Work items: (image, channel range, pixel run). Runs as long as the five planes of a
        // window still fit the L1 together (up to 1024 pixels: each channel's run is a long
        // contiguous stream for the prefetcher), then channel ranges until there are at least
        // two items per thread. Runs of 256 pixels, as before, made each item read 2 x C
        // streams of 1 KiB; measured against them on the AlexNet model, the two calls
        // alternated in one process (2 threads): LRN1 1.6x and LRN2 2.2x faster at batch 1
        // (the whole model 4.6%), 1.4x and 3.0x at batch 8 (the model 14%). The C kernel
        // sums each window in channel order, so the split does not change any result.
        let pixelParts = (hw + 1023) / 1024
        let run = ((hw + pixelParts - 1) / pixelParts + 7) / 8 * 8
        let runs = (hw + run - 1) / run
        let channelParts = min(c, max(1, (2 * ctx.threads + io.batch * runs - 1) / (io.batch * runs)))
        parallelFor(ctx.pool, io.batch * channelParts * runs) { item, _ in
            let n = item / (channelParts * runs), part = (item / runs) % channelParts, q0 = (item % runs) * run
            let len = min(hw, q0 + run) - q0
            let c0 = c * part / channelParts
            wk_lrn(Int32(c), Int32(c0), Int32(c * (part + 1) / channelParts), hw, Int32(len),
                   x + n * c * hw + q0, y + (n * c + c0) * hw + q0, hw, Int32(before), Int32(after), p.scale, p.bias, p.beta)
        }
    }
}
