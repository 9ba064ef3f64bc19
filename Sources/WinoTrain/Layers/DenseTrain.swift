// Fully connected: y[b] = W x[b] + bias, W stored [out, in] as in the model file.

/// A fully connected layer.
final class DenseTrain<T: TrainScalar>: TrainLayer<T> {
    let weight: Param<T>, bias: Param<T>
    let outputs: Int
    private var x: [T] = []

    init(name: String, inShape: [Int], outputs: Int, weight: [T], bias: [T]) {
        self.outputs = outputs
        let n = inShape.reduce(1, *)
        self.weight = Param(name: name + ".w", shape: [outputs, n], value: weight, decays: true)
        self.bias = Param(name: name + ".b", shape: [outputs], value: bias, decays: false)
        super.init(name: name, inShape: inShape)
    }

    override var outShape: [Int] { [outputs] }
    override var params: [Param<T>] { [weight, bias] }

    override func forward(_ x: [T], batch: Int, training: Bool, _ c: Compute) -> [T] {
        let n = inShape.reduce(1, *)
        var wt = [T](repeating: 0, count: n * outputs)
        weight.value.withUnsafeBufferPointer { w in wt.withUnsafeMutableBufferPointer { transpose(w.baseAddress!, rows: outputs, cols: n, into: $0.baseAddress!) } }
        var y = [T](repeating: 0, count: batch * outputs)
        x.withUnsafeBufferPointer { xp in wt.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
            c.matmul(xp.baseAddress!, wp.baseAddress!, yp.baseAddress!, m: batch, n: outputs, depth: n)
        } } }
        for b in 0..<batch { for o in 0..<outputs { y[b * outputs + o] += bias.value[o] } }
        if training { self.x = x }
        return y
    }

    override func backward(_ dy: [T], batch: Int, _ c: Compute) -> [T] {
        let n = inShape.reduce(1, *)
        var dyt = [T](repeating: 0, count: batch * outputs)
        dy.withUnsafeBufferPointer { d in dyt.withUnsafeMutableBufferPointer { transpose(d.baseAddress!, rows: batch, cols: outputs, into: $0.baseAddress!) } }
        var dx = [T](repeating: 0, count: batch * n)
        dyt.withUnsafeBufferPointer { dt in x.withUnsafeBufferPointer { xp in weight.grad.withUnsafeMutableBufferPointer { g in
            c.matmul(dt.baseAddress!, xp.baseAddress!, g.baseAddress!, m: outputs, n: n, depth: batch)
        } } }
        dy.withUnsafeBufferPointer { d in weight.value.withUnsafeBufferPointer { w in dx.withUnsafeMutableBufferPointer { xp in
            c.matmul(d.baseAddress!, w.baseAddress!, xp.baseAddress!, m: batch, n: n, depth: outputs)
        } } }
        for o in 0..<outputs {
            var s: T = 0
            for b in 0..<batch { s += dy[b * outputs + o] }
            bias.grad[o] = s
        }
        return dx
    }
}
