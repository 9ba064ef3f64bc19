// SGD with momentum, L2 weight decay, optional L1 on Winograd-domain weights, an optional
// per-position preconditioner of Winograd-domain weights, and frozen zeros.
import WinoKernels

/// Stochastic gradient descent with momentum.
struct SGD {
    var momentum: Double = 0.9
    var weightDecay: Double = 5e-4
    /// L1 strength on Winograd-domain weights (native pruning's first phase), 0 when off.
    var l1: Double = 0

    /// Per-position step scales of Winograd-domain weights (see `positionScales`), by parameter
    /// name; parameters not listed take the plain step.
    var positionScale: [String: [Double]] = [:]

    /// Diagonal preconditioner of Winograd-domain weights: the loss curvature along position
    /// xi = (i, j) grows like (a_i a_j b_i b_j)^2, with b_i the norm of row i of B^T (gain of the
    /// input transform) and a_i that of row i of A (gain of the output transform). F(4x4,3x3)
    /// spans a factor of about 400 between positions, so one learning rate either diverges on
    /// the steep positions or barely moves the flat ones. Scales are min(c) / c_xi (at most 1).
    static func positionScales(_ tile: WinogradTile) -> [Double] {
        let a = tile.alpha, m = tile.m
        let bt = WinogradMatrices.bt(tile), at = WinogradMatrices.at(tile)
        let b = (0..<a).map { i in (0..<a).reduce(0.0) { $0 + bt[i * a + $1] * bt[i * a + $1] }.squareRoot() }
        let g = (0..<a).map { i in (0..<m).reduce(0.0) { $0 + at[$1 * a + i] * at[$1 * a + i] }.squareRoot() }
        let c = (0..<(a * a)).map { xi -> Double in
            let (i, j) = (xi / a, xi % a)
            let s = b[i] * b[j] * g[i] * g[j]
            return s * s
        }
        let lo = c.min()!
        return c.map { lo / $0 }
    }

    /// v = momentum v + s (g + decay w + l1 sign w); w -= lr v (s: the position scale, else 1);
    /// entries pinned at zero stay zero.
    func step<T: TrainScalar>(_ params: [Param<T>], lr: Double) {
        let mu = T(momentum), eta = T(lr)
        for p in params {
            let wd = p.decays ? T(weightDecay) : 0
            let l1 = p.winograd != nil ? T(self.l1) : 0
            let scales = positionScale[p.name].map { s in s.map { T($0) } }
            let per = p.winograd.map { $0.k * $0.c } ?? 1
            p.value.withUnsafeMutableBufferPointer { w in
                p.velocity.withUnsafeMutableBufferPointer { v in
                    p.grad.withUnsafeBufferPointer { g in
                        for i in 0..<w.count {
                            let wi = w[i]
                            let sign: T = wi > 0 ? 1 : (wi < 0 ? -1 : 0)
                            let u = g[i] + wd * wi + l1 * sign
                            v[i] = mu * v[i] + (scales.map { $0[i / per] * u } ?? u)
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
