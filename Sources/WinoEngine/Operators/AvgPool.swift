// Average pooling: y = sum over the window of x / divisor, where the divisor counts
// the window positions inside the padded extent (count_include_pad = 1, Caffe) or
// inside the input (count_include_pad = 0, ONNX default).
import WinoFormat
import WinoKernels

/// Average pooling layer (also global average pooling).
final class AvgPoolLayer: Layer {
    let name: String
    let op = OpKind.avgPool
    let p: PoolParams
    let c: Int, h: Int, w: Int, oh: Int, ow: Int

    init(node: Node, params: PoolParams, input: [Int], output: [Int]) {
        name = node.name
        p = params
        c = input[0]; h = input[1]; w = input[2]
        oh = output[1]; ow = output[2]
    }

    var explanation: String {
        p.global ? "global average pool" :
            "average pool \(p.window.kernelH)x\(p.window.kernelW) stride \(p.window.strideH)x\(p.window.strideW)\(p.ceilMode ? " (ceil mode)" : "")"
    }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let (h, w, oh, ow, win, includePad) = (self.h, self.w, self.oh, self.ow, p.window, p.countIncludePad)
        let x = io.inputs[0], y = io.output
        parallelFor(ctx.pool, io.batch * c) { plane, _ in
            let src = x + plane * h * w, dst = y + plane * oh * ow
            for oy in 0..<oh {
                let sy = PoolSpan(out: oy, kernel: win.kernelH, stride: win.strideH, padBefore: win.padTop, padAfter: win.padBottom, size: h)
                for ox in 0..<ow {
                    let sx = PoolSpan(out: ox, kernel: win.kernelW, stride: win.strideW, padBefore: win.padLeft, padAfter: win.padRight, size: w)
                    var sum: Float = 0
                    for iy in sy.lo..<max(sy.lo, sy.hi) {
                        for ix in sx.lo..<max(sx.lo, sx.hi) { sum += src[iy * w + ix] }
                    }
                    let count = includePad ? sy.paddedCount * sx.paddedCount
                                           : max(0, sy.hi - sy.lo) * max(0, sx.hi - sx.lo)
                    dst[oy * ow + ox] = count > 0 ? sum / Float(count) : 0
                }
            }
        }
    }
}
