// Building networks: from an architecture string (fresh weights) or from a model file (--init).
import Foundation
import WinoFormat
import WinoKernels

/// Why a network could not be built.
public struct TrainError: Error, CustomStringConvertible {
    /// What is wrong, naming the file, layer or option.
    public let description: String
    init(_ d: String) { description = d }
}

/// SplitMix64: the seeded generator of initial weights and shuffles.
public struct SplitMix64: RandomNumberGenerator {
    /// State; the whole generator is this one number (checkpoints store it).
    public var state: UInt64
    /// Starts from a seed.
    public init(seed: UInt64) { state = seed }
    /// Next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A standard normal sample (Box-Muller).
    mutating func normal() -> Double {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(next() >> 11) / Double(1 << 53)
        return (-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

enum Architecture {
    /// The grammar of `--arch`, for help texts.
    static let help = """
        comma-separated layers: convK (direct 3x3 conv, K outputs, pad 1, ReLU), wconvK (Winograd-domain \
        F(2x2,3x3) conv, pad 1, ReLU; wconvKf4 for F(4x4,3x3), which needs a far lower rate, wconvKk5 for \
        F(4x4,5x5) pad 2), pool (2x2 max pool, stride 2), fcN (fully connected, ReLU except on the last \
        layer, whose N is the class count)
        """

    /// Builds a freshly initialised network: He-normal spatial filters (Winograd layers start from
    /// their transform G g G^T, so every layer starts equivalent to a spatial convolution), zero biases.
    static func build<T: TrainScalar>(_ spec: String, inputShape: [Int], seed: UInt64) throws -> Network<T> {
        var rng = SplitMix64(seed: seed)
        var shape = inputShape
        var layers = [TrainLayer<T>]()
        let tokens = spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard !tokens.isEmpty else { throw TrainError("--arch is empty; expected \(help)") }
        var counts = [String: Int]()
        func name(_ kind: String) -> String { counts[kind, default: 0] += 1; return "\(kind)\(counts[kind]!)" }
        func he(_ n: Int, fanIn: Int) -> [Float] {
            let s = (2.0 / Double(fanIn)).squareRoot()
            return (0..<n).map { _ in Float(rng.normal() * s) }
        }
        for (i, tok) in tokens.enumerated() {
            let last = i == tokens.count - 1
            func number(after prefix: String, _ rest: Substring) throws -> (Int, Substring) {
                let digits = rest.prefix { $0.isNumber }
                guard let n = Int(digits), n > 0, n <= 65536 else { throw TrainError("--arch layer '\(tok)': expected a positive count after '\(prefix)'") }
                return (n, rest.dropFirst(digits.count))
            }
            if tok == "pool" {
                guard shape.count == 3, shape[1] >= 2, shape[2] >= 2 else { throw TrainError("--arch layer \(i + 1) 'pool': input \(shape) is too small") }
                let l = MaxPoolTrain<T>(name: name("pool"), inShape: shape, kernel: 2, stride: 2)
                layers.append(l); shape = l.outShape
            } else if tok.hasPrefix("wconv") || tok.hasPrefix("conv") {
                let winograd = tok.hasPrefix("wconv")
                let (k, suffix) = try number(after: winograd ? "wconv" : "conv", tok.dropFirst(winograd ? 5 : 4))
                guard shape.count == 3 else { throw TrainError("--arch layer \(i + 1) '\(tok)': a convolution needs a (C, H, W) input, got \(shape)") }
                var tile = WinogradTile.f2x2_3x3
                switch suffix {
                case "", "f2": break
                case "f4": tile = .f4x4_3x3
                case "k5": tile = .f4x4_5x5
                default: throw TrainError("--arch layer '\(tok)': unknown suffix '\(suffix)' (f2, f4 or k5)")
                }
                let r = tile.r, pad = r / 2, c = shape[0]
                let g = he(k * c * r * r, fanIn: c * r * r)
                let nm = name(winograd ? "wconv" : "conv")
                let layer: TrainLayer<T>
                if winograd {
                    let u = WinogradWeights.fromSpatial(g, k: k, c: c, tile: tile).map { T($0) }
                    layer = WinogradConvTrain<T>(name: nm, inShape: shape, k: k, tile: tile, pads: [pad, pad, pad, pad],
                                                 weight: u, bias: [T](repeating: 0, count: k))
                } else {
                    guard suffix.isEmpty || suffix == "k5" else { throw TrainError("--arch layer '\(tok)': \(suffix) applies to wconv only") }
                    layer = DirectConvTrain<T>(name: nm, inShape: shape, k: k, r: r, stride: 1, pads: [pad, pad, pad, pad],
                                               weight: g.map { T($0) }, bias: [T](repeating: 0, count: k))
                }
                layers.append(layer); shape = layer.outShape
                let relu = ReLUTrain<T>(name: nm + ".relu", inShape: shape)
                layers.append(relu)
            } else if tok.hasPrefix("fc") {
                let (n, rest) = try number(after: "fc", tok.dropFirst(2))
                guard rest.isEmpty else { throw TrainError("--arch layer '\(tok)': unexpected '\(rest)'") }
                let fanIn = shape.reduce(1, *)
                let nm = name("fc")
                let l = DenseTrain<T>(name: nm, inShape: shape, outputs: n, weight: he(n * fanIn, fanIn: fanIn).map { T($0) },
                                      bias: [T](repeating: 0, count: n))
                layers.append(l); shape = l.outShape
                if !last { layers.append(ReLUTrain<T>(name: nm + ".relu", inShape: shape)) }
            } else {
                throw TrainError("--arch layer \(i + 1) '\(tok)' is not known; expected \(help)")
            }
        }
        guard layers.last is DenseTrain<T> else { throw TrainError("--arch must end with an fc layer giving the class logits") }
        return Network(inputShape: inputShape, layers: layers)
    }
}
