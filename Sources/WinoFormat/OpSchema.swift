// Attribute schemas of the operators and their typed, validated parameters.
// Every attribute a node carries must be listed here for its op; values are
// range-checked so that later code can trust them.

/// Geometry of a 2-D window operator (convolution or pooling).
public struct Window2D: Equatable, Sendable {
    /// Kernel height and width.
    public var kernelH: Int, kernelW: Int
    /// Strides.
    public var strideH: Int, strideW: Int
    /// Zero padding: top, left, bottom, right.
    public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    /// Creates a window.
    public init(kernelH: Int, kernelW: Int, strideH: Int = 1, strideW: Int = 1,
                padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0) {
        self.kernelH = kernelH; self.kernelW = kernelW
        self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft; self.padBottom = padBottom; self.padRight = padRight
    }

    /// Output size for an input of `h` x `w`; `ceilMode` rounds partial windows up
    /// (Caffe pooling), dropping a last window that would start inside the bottom/right padding.
    public func outputSize(h: Int, w: Int, ceilMode: Bool = false) -> (h: Int, w: Int) {
        func one(_ n: Int, _ k: Int, _ s: Int, _ p0: Int, _ p1: Int) -> Int {
            let span = n + p0 + p1 - k
            if span < 0 { return 0 }
            var o = (ceilMode ? (span + s - 1) / s : span / s) + 1
            if ceilMode && (o - 1) * s >= n + p0 { o -= 1 }
            return o
        }
        return (one(h, kernelH, strideH, padTop, padBottom), one(w, kernelW, strideW, padLeft, padRight))
    }
}

/// The attribute names each op accepts, with their types.
public enum OpSchema {
    /// Allowed attributes per op: name -> expected value kind ("int", "ints", "float", "string").
    public static func allowedAttributes(_ op: OpKind) -> [String: String] {
        switch op {
        case .conv: return ["strides": "ints", "pads": "ints", "group": "int", "relu": "int"]
        case .winogradConv: return ["pads": "ints", "group": "int", "relu": "int"]
        case .maxPool: return ["kernel": "ints", "strides": "ints", "pads": "ints", "ceil_mode": "int", "global": "int"]
        case .avgPool: return ["kernel": "ints", "strides": "ints", "pads": "ints", "ceil_mode": "int",
                               "global": "int", "count_include_pad": "int"]
        case .lrn: return ["size": "int", "alpha": "float", "beta": "float", "bias": "float"]
        case .fullyConnected, .add: return ["relu": "int"]
        case .dropout: return ["ratio": "float"]
        case .clip: return ["min": "float", "max": "float"]
        case .relu, .softmax, .flatten, .concat, .prelu: return [:]
        }
    }

    /// Number of weight tensors the op takes: (required, maximum).
    public static func weightCount(_ op: OpKind) -> (min: Int, max: Int) {
        switch op {
        case .conv, .winogradConv, .fullyConnected: return (1, 2)
        case .prelu: return (1, 1)
        default: return (0, 0)
        }
    }

    /// Number of activation inputs the op takes: (minimum, maximum).
    public static func inputCount(_ op: OpKind) -> (min: Int, max: Int) {
        switch op {
        case .concat: return (1, 64)
        case .add: return (2, 2)
        default: return (1, 1)
        }
    }
}

/// Typed accessors that validate attribute values; errors name the node.
public struct AttributeReader {
    let node: Node

    /// Wraps a node.
    public init(_ node: Node) { self.node = node }

    func fail(_ what: String) -> FormatError {
        FormatError(.badAttribute, "node '\(node.name)' (\(node.op)): \(what)")
    }

    /// An integer attribute within `range`, or `defaultValue` when absent (nil = required).
    public func int(_ name: String, default defaultValue: Int?, in range: ClosedRange<Int>) throws -> Int {
        guard let v = node.attributes[name] else {
            if let d = defaultValue { return d }
            throw fail("required attribute '\(name)' is missing")
        }
        guard case .int(let i) = v else { throw fail("attribute '\(name)' must be an int") }
        guard i >= Int64(range.lowerBound) && i <= Int64(range.upperBound) else {
            throw fail("attribute '\(name)' = \(i) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(i)
    }

    /// A list of `count` integers each within `range`, or `defaultValue` when absent (nil = required).
    public func ints(_ name: String, count: Int, default defaultValue: [Int]?, in range: ClosedRange<Int>) throws -> [Int] {
        guard let v = node.attributes[name] else {
            if let d = defaultValue { return d }
            throw fail("required attribute '\(name)' is missing")
        }
        guard case .ints(let a) = v else { throw fail("attribute '\(name)' must be a list of ints") }
        guard a.count == count else { throw fail("attribute '\(name)' has \(a.count) values, expected \(count)") }
        for i in a where i < Int64(range.lowerBound) || i > Int64(range.upperBound) {
            throw fail("attribute '\(name)' value \(i) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return a.map { Int($0) }
    }

    /// A finite float attribute within `range`, or `defaultValue` when absent.
    public func float(_ name: String, default defaultValue: Float, in range: ClosedRange<Float>) throws -> Float {
        guard let v = node.attributes[name] else { return defaultValue }
        guard case .float(let f) = v else { throw fail("attribute '\(name)' must be a float") }
        guard f.isFinite && range.contains(f) else {
            throw fail("attribute '\(name)' = \(f) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return f
    }

    /// A boolean stored as int 0/1.
    public func flag(_ name: String) throws -> Bool {
        try int(name, default: 0, in: 0...1) == 1
    }
}

/// Largest kernel, stride or padding accepted (keeps arithmetic far from overflow).
public let maxWindowParameter = 1 << 12
/// Largest size of any activation dimension accepted.
public let maxActivationDim = 1 << 20
/// Largest number of elements of one activation per sample.
public let maxActivationElements = 1 << 28

/// Parameters of a convolution node (direct or Winograd).
public struct ConvParams: Equatable, Sendable {
    /// Window geometry (kernel from the weights).
    public var window: Window2D
    /// Number of groups.
    public var groups: Int
    /// Output channels K and input channels C (total, not per group).
    public var outChannels: Int, inChannels: Int
    /// Whether a ReLU is fused after the bias.
    public var relu: Bool
    /// The Winograd variant of the weights, for Winograd convolutions.
    public var winograd: WinogradVariant?

    /// Reads and checks a conv or winogradConv node against its weight (and bias) tensors.
    public init(node: Node, weight: Tensor, bias: Tensor?) throws {
        let r = AttributeReader(node)
        let P = maxWindowParameter
        let pads = try r.ints("pads", count: 4, default: [0, 0, 0, 0], in: 0...P)
        groups = try r.int("group", default: 1, in: 1...P)
        relu = try r.flag("relu")
        func shapeFail(_ s: String) -> FormatError {
            FormatError(.shapeMismatch, "node '\(node.name)' (\(node.op)): weight '\(weight.name)' \(s)")
        }
        guard weight.shape.count == 4, weight.shape.allSatisfy({ $0 >= 1 }) else {
            throw shapeFail("has shape \(weight.shape), expected 4 positive dimensions")
        }
        if node.op == .conv {
            guard weight.winograd == nil else { throw shapeFail("is Winograd-domain but the node is a direct Conv") }
            let strides = try r.ints("strides", count: 2, default: [1, 1], in: 1...P)
            outChannels = weight.shape[0]
            inChannels = weight.shape[1] * groups
            guard weight.shape[2] <= P, weight.shape[3] <= P else { throw shapeFail("kernel is larger than \(P)") }
            window = Window2D(kernelH: weight.shape[2], kernelW: weight.shape[3], strideH: strides[0], strideW: strides[1],
                              padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3])
            winograd = nil
        } else {
            guard let v = weight.winograd else { throw shapeFail("is not Winograd-domain but the node is a WinogradConv") }
            guard weight.shape[0] == v.alpha, weight.shape[1] == v.alpha else {
                throw shapeFail("has shape \(weight.shape), expected [\(v.alpha), \(v.alpha), K, C/groups] for \(v)")
            }
            outChannels = weight.shape[2]
            inChannels = weight.shape[3] * groups
            window = Window2D(kernelH: v.r, kernelW: v.r, padTop: pads[0], padLeft: pads[1],
                              padBottom: pads[2], padRight: pads[3])
            winograd = v
        }
        guard outChannels % groups == 0 else {
            throw shapeFail("has \(outChannels) output channels, not divisible by group \(groups)")
        }
        if let b = bias, b.shape != [outChannels] {
            throw FormatError(.shapeMismatch, "node '\(node.name)' (\(node.op)): bias '\(b.name)' has shape \(b.shape), expected [\(outChannels)]")
        }
    }
}

/// Parameters of a pooling node.
public struct PoolParams: Equatable, Sendable {
    /// Window geometry; for global pooling, the whole input.
    public var window: Window2D
    /// Caffe-style ceil rounding of the output size.
    public var ceilMode: Bool
    /// Global pooling over the whole spatial extent.
    public var global: Bool
    /// Average pooling divides by the window clipped to the padded input (true) or to the valid input (false).
    public var countIncludePad: Bool

    /// Reads and checks a pooling node for an input of spatial size h x w.
    public init(node: Node, inputH: Int, inputW: Int) throws {
        let r = AttributeReader(node)
        let P = maxWindowParameter
        global = try r.flag("global")
        ceilMode = try r.flag("ceil_mode")
        countIncludePad = node.op == .avgPool ? try r.flag("count_include_pad") : false
        if global {
            for name in ["kernel", "strides", "pads"] where node.attributes[name] != nil {
                throw r.fail("attribute '\(name)' cannot be combined with global=1")
            }
            window = Window2D(kernelH: inputH, kernelW: inputW)
        } else {
            let k = try r.ints("kernel", count: 2, default: nil, in: 1...P)
            let s = try r.ints("strides", count: 2, default: [1, 1], in: 1...P)
            let p = try r.ints("pads", count: 4, default: [0, 0, 0, 0], in: 0...P)
            guard p[0] < k[0], p[2] < k[0], p[1] < k[1], p[3] < k[1] else {
                throw r.fail("pads \(p) must be smaller than the kernel \(k)")
            }
            window = Window2D(kernelH: k[0], kernelW: k[1], strideH: s[0], strideW: s[1],
                              padTop: p[0], padLeft: p[1], padBottom: p[2], padRight: p[3])
        }
    }
}

/// Parameters of a local response normalisation node:
/// y = x / (bias + alpha / size * sum over `size` neighbouring channels of x^2)^beta.
public struct LRNParams: Equatable, Sendable {
    /// Number of channels in the window (odd).
    public var size: Int
    /// Scale, exponent and additive constant.
    public var alpha: Float, beta: Float, bias: Float

    /// Reads and checks an LRN node.
    public init(node: Node) throws {
        let r = AttributeReader(node)
        size = try r.int("size", default: nil, in: 1...4096)
        alpha = try r.float("alpha", default: 1e-4, in: 0...1e6)
        beta = try r.float("beta", default: 0.75, in: 0...16)
        bias = try r.float("bias", default: 1, in: 1e-6...1e6)
    }
}

/// Parameters of a clip node: y = min(max(x, min), max). A missing bound is unbounded.
public struct ClipParams: Equatable, Sendable {
    /// Lower and upper bound.
    public var min: Float, max: Float

    /// Reads and checks a clip node.
    public init(node: Node) throws {
        let r = AttributeReader(node)
        let big = Float.greatestFiniteMagnitude
        min = try r.float("min", default: -big, in: -big...big)
        max = try r.float("max", default: big, in: -big...big)
    }
}
