// The load-time choice of how a direct (spatial) convolution runs.
import WinoFormat

/// How direct convolutions are planned (see `Model.Options.planner`).
public enum ConvPlanner: Sendable {
    /// Eligible convolutions run as dense Winograd F(4x4) convolutions, the rest directly.
    case auto
    /// Every node runs as its op says (direct convolutions stay direct).
    case asStored

    /// A planning decision with the reason `--explain` prints.
    enum Choice {
        case direct(String)
        case winograd(WinogradVariant, String)
        /// Space-to-depth, then a stride-1 Winograd F(4x4,3x3) convolution.
        case stridedWinograd(String)
    }

    /// Smallest channels per group for which the transforms pay off: below it the input and
    /// output transforms (about alpha^2 * (alpha + m) operations per tile and channel) cost
    /// more than the 4x (3x3) or 6.25x (5x5) fewer multiplications save.
    static let minChannels = 8

    /// Why sparse spatial weights stay direct (nil when at least half the weights are nonzero).
    static func sparseReason(_ weight: Tensor) -> String? {
        guard case .csr(let m) = weight.data, Double(m.nnz) < 0.5 * Double(weight.count) else { return nil }
        return "planner: spatial weights are \(Int((100 * Double(m.nnz) / Double(weight.count)).rounded()))% dense; the transform would fill the zeros in"
    }

    /// Chooses for a direct convolution with `params` on an input of `input` (C, H, W).
    static func choose(_ p: ConvParams, input: [Int], weight: Tensor, planner: ConvPlanner) -> Choice {
        let w = p.window
        let cg = p.inChannels / p.groups, kg = p.outChannels / p.groups
        let o = w.outputSize(h: input[1], w: input[2])
        guard planner == .auto else { return .direct("planner off") }
        let s = w.strideH, r = w.kernelH
        if w.kernelH == w.kernelW, s == w.strideW, StridedWinogradConvLayer.eligible(kernel: r, stride: s) {
            // Multiply-adds per output and channel: R^2 direct against (36 / 16) s^2 as Winograd;
            // ceil(R / s) = 3 means R >= 2 s + 1, so the gain is always above 1.7x.
            let gain = Double(r * r) / (2.25 * Double(s * s))
            if let why = sparseReason(weight) { return .direct(why) }
            guard cg * s * s >= minChannels, kg >= minChannels, o.h >= 4, o.w >= 4 else {
                return .direct("planner: too few channels or too small an output for space-to-depth Winograd")
            }
            return .stridedWinograd("planned from a direct \(r)x\(r) stride-\(s) conv: \(String(format1: gain))x fewer multiplications as a 3x3 Winograd conv on \(cg * s * s) space-to-depth channels")
        }
        guard w.kernelH == w.kernelW, w.kernelH == 3 || w.kernelH == 5, w.strideH == 1, w.strideW == 1 else {
            return .direct("planner: no Winograd form for \(w.kernelH)x\(w.kernelW) stride \(w.strideH)")
        }
        if let why = sparseReason(weight) { return .direct(why) }
        guard cg >= minChannels, kg >= minChannels else {
            return .direct("planner: \(cg) in / \(kg) out channels per group < \(minChannels), transforms would dominate")
        }
        guard o.h >= 4, o.w >= 4 else { return .direct("planner: output \(o.h)x\(o.w) is smaller than one 4x4 tile") }
        let tile: WinogradVariant = w.kernelH == 3 ? .f4x4_3x3 : .f4x4_5x5
        return .winograd(tile, "planned from a direct \(w.kernelH)x\(w.kernelW) conv: \(w.kernelH == 3 ? 4 : 6.25)x fewer multiplications, weights G g G^T computed at load")
    }
}
