// Max pooling (square window, no padding, floor), with the argmax kept for backward.

/// Max pooling over k x k windows with stride s.
final class MaxPoolTrain<T: TrainScalar>: TrainLayer<T> {
    let kernel: Int, stride: Int
    private var argmax: [Int32] = []

    init(name: String, inShape: [Int], kernel: Int, stride: Int) {
        self.kernel = kernel; self.stride = stride
        super.init(name: name, inShape: inShape)
    }

    override var outShape: [Int] {
        [inShape[0], (inShape[1] - kernel) / stride + 1, (inShape[2] - kernel) / stride + 1]
    }

    override func forward(_ x: [T], batch: Int, training: Bool, _ c: Compute) -> [T] {
        let (C, H, W) = (inShape[0], inShape[1], inShape[2])
        let (OH, OW) = (outShape[1], outShape[2])
        var y = [T](repeating: 0, count: batch * C * OH * OW)
        var am = [Int32](repeating: 0, count: y.count)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in am.withUnsafeMutableBufferPointer { ap in
            let X = UnsafeSendable(xp), Y = UnsafeSendable(yp), A = UnsafeSendable(ap)
            c.parallel(batch * C) { plane in
                let xb = plane * H * W, yb = plane * OH * OW
                for oy in 0..<OH {
                    for ox in 0..<OW {
                        var best = xb + oy * stride * W + ox * stride
                        for ky in 0..<kernel {
                            for kx in 0..<kernel {
                                let i = xb + (oy * stride + ky) * W + ox * stride + kx
                                if X.p[i] > X.p[best] { best = i }
                            }
                        }
                        Y.p[yb + oy * OW + ox] = X.p[best]
                        A.p[yb + oy * OW + ox] = Int32(best)
                    }
                }
            }
        } } }
        if training { argmax = am }
        return y
    }

    override func backward(_ dy: [T], batch: Int, _ c: Compute) -> [T] {
        let (C, H, W) = (inShape[0], inShape[1], inShape[2])
        let per = outShape[1] * outShape[2]
        var dx = [T](repeating: 0, count: batch * C * H * W)
        dx.withUnsafeMutableBufferPointer { dp in
            let D = UnsafeSendable(dp)
            // Windows overlap only inside a plane, so planes are independent.
            c.parallel(batch * C) { plane in
                for o in plane * per..<(plane + 1) * per { D.p[Int(argmax[o])] += dy[o] }
            }
        }
        return dx
    }
}
