// SGD with momentum, L2 weight decay, optional L1 on Winograd-domain weights, and frozen zeros.

/// Stochastic gradient descent with momentum.
struct SGD {
    var momentum: Double = 0.9
    var weightDecay: Double = 5e-4
    /// L1 strength on Winograd-domain weights (native pruning's first phase), 0 when off.
    var l1: Double = 0

    /// v = momentum v + (g + decay w + l1 sign w); w -= lr v; entries pinned at zero stay zero.
    func step<T: TrainScalar>(_ params: [Param<T>], lr: Double) {
        let mu = T(momentum), eta = T(lr)
        for p in params {
            let wd = p.decays ? T(weightDecay) : 0
            let l1 = p.winograd != nil ? T(self.l1) : 0
            p.value.withUnsafeMutableBufferPointer { w in
                p.velocity.withUnsafeMutableBufferPointer { v in
                    p.grad.withUnsafeBufferPointer { g in
                        for i in 0..<w.count {
                            let wi = w[i]
                            let sign: T = wi > 0 ? 1 : (wi < 0 ? -1 : 0)
                            v[i] = mu * v[i] + g[i] + wd * wi + l1 * sign
                            w[i] = wi - eta * v[i]
                        }
                    }
                }
            }
            if let mask = p.frozenZero {
                for i in mask.indices where mask[i] { p.value[i] = 0; p.velocity[i] = 0 }
            }
        }
    }
}
