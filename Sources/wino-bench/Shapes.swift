// The benchmark layers and their random, Winograd-pruned weights.
import WinoFormat
import WinoKernels

/// A convolution layer shape from a known network.
struct ConvShape {
    var name: String
    var c: Int, k: Int, h: Int, w: Int, r: Int, pad: Int, groups: Int

    /// Dense direct-convolution FLOPs per image: 2 K (C/G) OH OW R S (stride 1, "same" output).
    var flopsPerImage: Double { 2 * Double(k) * Double(c / groups) * Double(h * w) * Double(r * r) }

    static let all: [ConvShape] = [
        ConvShape(name: "alexnet.conv2", c: 96, k: 256, h: 27, w: 27, r: 5, pad: 2, groups: 2),
        ConvShape(name: "alexnet.conv3", c: 256, k: 384, h: 13, w: 13, r: 3, pad: 1, groups: 1),
        ConvShape(name: "alexnet.conv4", c: 384, k: 384, h: 13, w: 13, r: 3, pad: 1, groups: 2),
        ConvShape(name: "alexnet.conv5", c: 384, k: 256, h: 13, w: 13, r: 3, pad: 1, groups: 2),
        ConvShape(name: "vgg16.conv1_2", c: 64, k: 64, h: 224, w: 224, r: 3, pad: 1, groups: 1),
        ConvShape(name: "vgg16.conv2_1", c: 64, k: 128, h: 112, w: 112, r: 3, pad: 1, groups: 1),
        ConvShape(name: "vgg16.conv3_1", c: 128, k: 256, h: 56, w: 56, r: 3, pad: 1, groups: 1),
        ConvShape(name: "vgg16.conv4_1", c: 256, k: 512, h: 28, w: 28, r: 3, pad: 1, groups: 1),
        ConvShape(name: "vgg16.conv5_1", c: 512, k: 512, h: 14, w: 14, r: 3, pad: 1, groups: 1),
    ]
}

/// SplitMix64, for reproducible weights.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random spatial filters (He-scaled), transformed to the Winograd domain in Double and
/// magnitude-pruned to `density` over the whole layer: the sparsity pattern of
/// Winograd-domain pruning (positions with larger transform gain keep more entries).
func prunedWinogradWeights(_ s: ConvShape, tile: WinogradVariant, density: Double, seed: UInt64)
    -> (spatial: [Float], winograd: [Float]) {
    var rng = SplitMix(state: seed)
    let cg = s.c / s.groups
    let scale = Float((2.0 / Double(cg * s.r * s.r)).squareRoot())
    let spatial = (0..<(s.k * cg * s.r * s.r)).map { _ in Float.random(in: -1...1, using: &rng) * scale }
    var u = WinogradWeights.fromSpatial(spatial, k: s.k, c: cg, tile: WinogradTile(rawValue: Int(tile.rawValue))!)
    if density < 1 {
        let keep = Int((Double(u.count) * density).rounded())
        let threshold: Float = keep == 0 ? .infinity : u.map { abs($0) }.sorted(by: >)[keep - 1]
        var kept = 0
        for i in u.indices {
            if abs(u[i]) >= threshold && kept < keep { kept += 1 } else { u[i] = 0 }
        }
    }
    return (spatial, u)
}

/// A one-layer model running `s` as a Winograd convolution (CSR when density < 1) or as a
/// direct convolution of the spatial filters.
func layerGraph(_ s: ConvShape, tile: WinogradVariant, weights: (spatial: [Float], winograd: [Float]),
                density: Double, direct: Bool) -> ModelGraph {
    let cg = s.c / s.groups, a = tile.alpha
    let w: Tensor
    if direct {
        w = Tensor(name: "w", shape: [s.k, cg, s.r, s.r], data: .dense(weights.spatial))
    } else if density < 1 {
        w = Tensor(name: "w", shape: [a, a, s.k, cg], winograd: tile,
                   data: .csr(CSRMatrix(dense: weights.winograd, rows: a * a * s.k, cols: cg)))
    } else {
        w = Tensor(name: "w", shape: [a, a, s.k, cg], winograd: tile, data: .dense(weights.winograd))
    }
    let b = Tensor(name: "b", shape: [s.k], data: .dense([Float](repeating: 0.01, count: s.k)))
    let p = Int64(s.pad)
    let node = Node(name: s.name, op: direct ? .conv : .winogradConv, inputs: ["x"], output: "y", weights: ["w", "b"],
                    attributes: ["pads": .ints([p, p, p, p]), "group": .int(Int64(s.groups)), "relu": .int(1)])
    let meta = ModelMetadata(name: s.name, inputShape: [s.c, s.h, s.w], channelOrder: .tensor)
    return ModelGraph(metadata: meta, input: "x", output: "y", nodes: [node], tensors: [w, b])
}
