// Native pruning (RESEARCH.md §1, after the authors' code) and the one-shot baselines.
//
// After every update a Winograd-domain weight w is zeroed when
//     |w| <= th,  th = th0 / ((|dL/dw| + 1/f) * n_xi),
// i.e. when its score |w| * n_xi * (|dL/dw| + 1/f) <= th0: a large gradient protects a weight, and
// n_xi, the L2 norm of row xi of (A kron A), makes positions that feed more outputs harder to prune.
// The authors fix th0 and tune the L1 strength by hand until the sparsity they want appears. Here th0
// is set per layer every few steps to the score quantile of a sparsity schedule that rises from the
// layer's current sparsity to the target (cubic ramp), so `--target-sparsity` is all a user gives.
import WinoKernels

/// Per-layer state of native pruning.
struct NativePruner {
    /// 1/f in the threshold formula (f = 10 as in the authors' code).
    static let inverseF = 0.1
    /// Steps between recomputations of th0 from the schedule.
    var interval = 20
    /// Sparsity each Winograd layer must reach, in layer order.
    var target: [Double]
    /// Steps over which the sparsity ramps up.
    var rampSteps: Int
    /// Sparsity of each layer when pruning began.
    var start: [Double]
    /// Current th0 of each layer.
    var th0: [Double]

    init<T>(params: [Param<T>], target: [Double], rampSteps: Int) {
        self.target = target; self.rampSteps = max(1, rampSteps)
        start = params.map(\.sparsity)
        th0 = [Double](repeating: 0, count: params.count)
    }

    /// The scheduled sparsity of layer `i` after `step` pruning steps.
    func scheduled(_ i: Int, step: Int) -> Double {
        let t = min(1, Double(step) / Double(rampSteps))
        let s0 = min(start[i], target[i])
        return target[i] + (s0 - target[i]) * (1 - t) * (1 - t) * (1 - t)
    }

    /// n_xi for every weight position of an alpha^2 x K x C tensor of `tile`.
    static func positionNorms(alpha a: Int, tile: WinogradTile) -> [Double] {
        let at = WinogradMatrices.at(tile), m = tile.m
        let col = (0..<a).map { i in (0..<m).reduce(0.0) { $0 + at[$1 * a + i] * at[$1 * a + i] } }
        return (0..<(a * a)).map { xi in (col[xi / a] * col[xi % a]).squareRoot() }
    }

    /// Scores |w| n_xi (|g| + 1/f) of every weight.
    static func scores<T: TrainScalar>(_ p: Param<T>, norms: [Double]) -> [Double] {
        let per = p.winograd!.k * p.winograd!.c
        return p.value.indices.map { i in
            Double(abs(p.value[i])) * norms[i / per] * (Double(abs(p.grad[i])) + inverseF)
        }
    }

    /// After an update: every `interval` steps during the ramp, and every step once the target is
    /// reached, sets th0 to the scheduled quantile; then zeroes
    /// every weight whose score is at most th0.
    mutating func apply<T: TrainScalar>(_ params: [Param<T>], norms: [[Double]], step: Int) {
        for (i, p) in params.enumerated() {
            let s = NativePruner.scores(p, norms: norms[i])
            if step % interval == 0 || step >= rampSteps {
                // Rounded up, so that the target is a floor: 90% means at least 90% zeros.
                let keepZero = Int((scheduled(i, step: step) * Double(s.count) - 1e-9).rounded(.up))
                th0[i] = keepZero == 0 ? -1 : s.sorted()[keepZero - 1]
            }
            for j in s.indices where s[j] <= th0[i] { p.value[j] = 0; p.velocity[j] = 0 }
        }
    }
}

/// One-shot pruning of a trained dense network, without retraining (the baselines).
enum OneShotPruning {
    /// Zeroes the smallest-magnitude entries of `values` so that at most `density` of them
    /// remain (ties broken by index).
    static func magnitude(_ values: inout [Float], density: Double) {
        let keep = Int((Double(values.count) * density + 1e-9).rounded(.down))
        let order = values.indices.sorted { abs(values[$0]) > abs(values[$1]) || (abs(values[$0]) == abs(values[$1]) && $0 < $1) }
        for i in order[keep...] { values[i] = 0 }
    }

    /// Winograd-domain density of the transforms G g G^T of spatial filters `g` (K x C x r x r).
    static func winogradDensity(_ g: [Float], k: Int, c: Int, tile: WinogradTile) -> Double {
        let u = WinogradWeights.fromSpatial(g, k: k, c: c, tile: tile)
        return Double(u.lazy.filter { $0 != 0 }.count) / Double(u.count)
    }

    /// Spatial magnitude pruning with the largest spatial density whose transform has at most
    /// `density` nonzeros in the Winograd domain (bisection), then the transform: the naive route.
    /// Returns the Winograd-domain weights and the spatial density used.
    static func spatialThenTransform(_ g: [Float], k: Int, c: Int, tile: WinogradTile, density: Double)
        -> (winograd: [Float], spatialDensity: Double) {
        var lo = 0.0, hi = 1.0
        var best = g.map { _ in Float(0) }
        for _ in 0..<30 {
            let mid = (lo + hi) / 2
            var s = g
            magnitude(&s, density: mid)
            if winogradDensity(s, k: k, c: c, tile: tile) <= density + 1e-9 { lo = mid; best = s } else { hi = mid }
        }
        return (WinogradWeights.fromSpatial(best, k: k, c: c, tile: tile), lo)
    }
}
