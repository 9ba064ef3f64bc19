// Max pooling: y[n][c][oy][ox] = max over the window of x (padding ignored).
import CWinoKernels
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
        let (h, w, oh, ow) = (self.h, self.w, self.oh, self.ow)
        let x = io.inputs[0], y = io.output
        parallelFor(ctx.pool, io.batch * c) { plane, _ in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: w + 16) { colBuf in
                pool(x + plane * h * w, into: y + plane * oh * ow, colMax: colBuf.baseAddress!)
            }
        }
    }

    /// Pools one plane (h x w) into `dst` (oh x ow); `colMax` holds w + 16 floats.
    func pool(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, colMax: UnsafeMutablePointer<Float>) {
        let (h, w, oh, ow, win) = (self.h, self.w, self.oh, self.ow, p.window)
        let kh = win.kernelH, kw = win.kernelW, sh = win.strideH, sw = win.strideW
        // Output rows whose window rows all lie inside the input, and likewise columns: there
        // the window is separable without clipping (column maxima over kh rows, contiguous
        // and vectorisable, then maxima over kw of them). Border pixels take the general path.
        let oy0 = min(oh, (win.padTop + sh - 1) / sh), ox0 = min(ow, (win.padLeft + sw - 1) / sw)
        let oy1 = max(oy0, min(oh, h + win.padTop - kh >= 0 ? (h + win.padTop - kh) / sh + 1 : 0))
        let ox1 = max(ox0, min(ow, w + win.padLeft - kw >= 0 ? (w + win.padLeft - kw) / sw + 1 : 0))
        func general(_ oy: Int, _ ox: Int) {
            let sy = PoolSpan(out: oy, kernel: kh, stride: sh, padBefore: win.padTop, padAfter: win.padBottom, size: h)
            let sx = PoolSpan(out: ox, kernel: kw, stride: sw, padBefore: win.padLeft, padAfter: win.padRight, size: w)
            var best = -Float.infinity
            for iy in sy.lo..<max(sy.lo, sy.hi) {
                for ix in sx.lo..<max(sx.lo, sx.hi) { best = max(best, src[iy * w + ix]) }
            }
            dst[oy * ow + ox] = best
        }
        for oy in 0..<oh {
            guard oy >= oy0 && oy < oy1 && ox1 > ox0 else {
                for ox in 0..<ow { general(oy, ox) }
                continue
            }
            for ox in 0..<ox0 { general(oy, ox) }
            // Interior windows: column maxima over kh rows, then over kw columns (C kernel).
            wk_maxpool_row(src + (oy * sh - win.padTop) * w, w, Int32(kh), Int32(kw), Int32(sw),
                           Int32(ox0 * sw - win.padLeft), Int32(ox1 - ox0), colMax, dst + oy * ow + ox0)
            for ox in ox1..<ow { general(oy, ox) }
        }
    }
}
