// Max pooling: y[n][c][oy][ox] = max over the window of x (padding ignored).
import WinoFormat
import WinoKernels

/// Max pooling layer.
final class MaxPoolLayer: Layer {
    let name: String
    let op = OpKind.maxPool
    let p: PoolParams
    let c: Int, h: Int, w: Int, oh: Int, ow: Int

    init(node: Node, params: PoolParams, input: [Int], output: [Int]) {
        name = node.name
        p = params
        c = input[0]; h = input[1]; w = input[2]
        oh = output[1]; ow = output[2]
    }

    var explanation: String {
        "max pool \(p.window.kernelH)x\(p.window.kernelW) stride \(p.window.strideH)x\(p.window.strideW)\(p.ceilMode ? " (ceil mode)" : "")"
    }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let (h, w, oh, ow, win) = (self.h, self.w, self.oh, self.ow, p.window)
        let x = io.inputs[0], y = io.output
        parallelFor(ctx.pool, io.batch * c) { plane, _ in
            let src = x + plane * h * w, dst = y + plane * oh * ow
            for oy in 0..<oh {
                let sy = PoolSpan(out: oy, kernel: win.kernelH, stride: win.strideH, padBefore: win.padTop, padAfter: win.padBottom, size: h)
                for ox in 0..<ow {
                    let sx = PoolSpan(out: ox, kernel: win.kernelW, stride: win.strideW, padBefore: win.padLeft, padAfter: win.padRight, size: w)
                    var best = -Float.infinity
                    for iy in sy.lo..<max(sy.lo, sy.hi) {
                        for ix in sx.lo..<max(sx.lo, sx.hi) { best = max(best, src[iy * w + ix]) }
                    }
                    dst[oy * ow + ox] = best
                }
            }
        }
    }
}
