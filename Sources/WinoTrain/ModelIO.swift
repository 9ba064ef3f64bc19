// Networks to and from model graphs (.swz): export folds ReLUs into the preceding node and stores
// sparse Winograd-domain weights as CSR; import accepts the ops training supports.
import WinoFormat
import WinoKernels

enum ModelIO {
    /// The model graph of a trained network: conv / winogradConv / maxPool / flatten / fullyConnected
    /// nodes with ReLU folded in, then softmax. Tensors with at least 40% zeros are stored as CSR.
    static func export(_ net: Network<Float>, metadata: ModelMetadata) -> ModelGraph {
        var nodes = [Node](), tensors = [Tensor]()
        var current = "input"
        func weightTensor(_ p: Param<Float>, winograd: WinogradVariant?) -> Tensor {
            if p.shape.count >= 2, p.sparsity >= 0.4 {
                let cols = p.shape.last!
                return Tensor(name: p.name, shape: p.shape, winograd: winograd,
                              data: .csr(CSRMatrix(dense: p.value, rows: p.value.count / cols, cols: cols)))
            }
            return Tensor(name: p.name, shape: p.shape, winograd: winograd, data: .dense(p.value))
        }
        let layers = net.layers
        var i = 0
        while i < layers.count {
            let l = layers[i]
            let relu = i + 1 < layers.count && layers[i + 1] is ReLUTrain<Float>
            var attrs: [String: AttributeValue] = [:]
            if relu { attrs["relu"] = .int(1) }
            let out = l.name
            switch l {
            case let c as DirectConvTrain<Float>:
                attrs["pads"] = .ints(c.pads.map { Int64($0) })
                attrs["strides"] = .ints([Int64(c.stride), Int64(c.stride)])
                tensors += [weightTensor(c.weight, winograd: nil), Tensor(name: c.bias.name, shape: c.bias.shape, data: .dense(c.bias.value))]
                nodes.append(Node(name: l.name, op: .conv, inputs: [current], output: out, weights: [c.weight.name, c.bias.name], attributes: attrs))
            case let c as WinogradConvTrain<Float>:
                attrs["pads"] = .ints(c.pads.map { Int64($0) })
                let v = WinogradVariant(rawValue: UInt8(c.tile.rawValue))!
                tensors += [weightTensor(c.weight, winograd: v), Tensor(name: c.bias.name, shape: c.bias.shape, data: .dense(c.bias.value))]
                nodes.append(Node(name: l.name, op: .winogradConv, inputs: [current], output: out, weights: [c.weight.name, c.bias.name], attributes: attrs))
            case let p as MaxPoolTrain<Float>:
                nodes.append(Node(name: l.name, op: .maxPool, inputs: [current], output: out,
                                  attributes: ["kernel": .ints([Int64(p.kernel), Int64(p.kernel)]), "strides": .ints([Int64(p.stride), Int64(p.stride)])]))
            case is FlattenTrain<Float>:
                nodes.append(Node(name: l.name, op: .flatten, inputs: [current], output: out))
            case let d as DenseTrain<Float>:
                tensors += [weightTensor(d.weight, winograd: nil), Tensor(name: d.bias.name, shape: d.bias.shape, data: .dense(d.bias.value))]
                nodes.append(Node(name: l.name, op: .fullyConnected, inputs: [current], output: out, weights: [d.weight.name, d.bias.name], attributes: attrs))
            case is ReLUTrain<Float>:
                nodes.append(Node(name: l.name, op: .relu, inputs: [current], output: out))
            default:
                preconditionFailure("unknown layer \(l.name)")
            }
            current = out
            i += relu ? 2 : 1
        }
        nodes.append(Node(name: "prob", op: .softmax, inputs: [current], output: "prob"))
        return ModelGraph(metadata: metadata, input: "input", output: "prob", nodes: nodes, tensors: tensors)
    }

    /// Which direct convolutions `--winograd` turns into Winograd-domain layers.
    enum WinogradChoice: Equatable {
        /// None: layers stay as stored.
        case none
        /// Every 3x3 (or 5x5) stride-1, groups-1 convolution with more than 3 input channels.
        case auto
        /// The named nodes (each must be such a convolution).
        case named(Set<String>)
    }

    /// A trainable network from a model graph. Direct convolutions chosen by `winograd` become
    /// Winograd-domain layers initialised with W = G g G^T (`tile3x3` for 3x3, F(4x4,5x5) for 5x5),
    /// which compute the same function.
    static func importGraph(_ g: ModelGraph, winograd: WinogradChoice, tile3x3: WinogradTile = .f4x4_3x3) throws -> Network<Float> {
        let shapes = try GraphValidator.validate(g)
        let tensors = Dictionary(g.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var layers = [TrainLayer<Float>]()
        var current = g.input
        var shape = g.metadata.inputShape
        var used = Set<String>()
        func fail(_ n: Node, _ why: String) -> TrainError { TrainError("node '\(n.name)' (\(n.op)): \(why)") }
        for (idx, n) in g.nodes.enumerated() {
            guard n.inputs == [current] else {
                throw fail(n, "wino-train trains sequential networks only; this node reads \(n.inputs), not the previous output '\(current)'")
            }
            let w = n.weights.map { tensors[$0]! }
            let relu: Bool = { if case .int(let v)? = n.attributes["relu"] { return v != 0 }; return false }()
            func ints(_ key: String) -> [Int]? { if case .ints(let v)? = n.attributes[key] { return v.map { Int($0) } }; return nil }
            func int(_ key: String) -> Int? { if case .int(let v)? = n.attributes[key] { return Int(v) }; return nil }
            switch n.op {
            case .conv, .winogradConv:
                let p = try ConvParams(node: n, weight: w[0], bias: w.count > 1 ? w[1] : nil)
                guard p.groups == 1 else { throw fail(n, "grouped convolutions (group \(p.groups)) cannot be trained yet") }
                let win = p.window, k = p.outChannels
                guard win.kernelH == win.kernelW else { throw fail(n, "non-square kernels cannot be trained") }
                let pads = [win.padTop, win.padLeft, win.padBottom, win.padRight]
                let bias = w.count > 1 ? w[1].denseValues() : [Float](repeating: 0, count: k)
                let values = w[0].denseValues()
                if n.op == .winogradConv {
                    let tile = WinogradTile(rawValue: Int(p.winograd!.rawValue))!
                    layers.append(WinogradConvTrain(name: n.name, inShape: shape, k: k, tile: tile, pads: pads, weight: values, bias: bias))
                } else {
                    let eligible = (win.kernelH == 3 || win.kernelH == 5) && win.strideH == 1 && win.strideW == 1
                    let chosen: Bool
                    switch winograd {
                    case .none: chosen = false
                    case .auto: chosen = eligible && shape[0] > 3
                    case .named(let names):
                        chosen = names.contains(n.name)
                        if chosen && !eligible { throw fail(n, "--winograd names it, but only 3x3 and 5x5 stride-1 convolutions have a Winograd form") }
                    }
                    if chosen {
                        used.insert(n.name)
                        let tile: WinogradTile = win.kernelH == 3 ? tile3x3 : .f4x4_5x5
                        let u = WinogradWeights.fromSpatial(values, k: k, c: shape[0], tile: tile)
                        layers.append(WinogradConvTrain(name: n.name, inShape: shape, k: k, tile: tile, pads: pads, weight: u, bias: bias))
                    } else {
                        guard win.strideH == win.strideW else { throw fail(n, "unequal strides cannot be trained") }
                        layers.append(DirectConvTrain(name: n.name, inShape: shape, k: k, r: win.kernelH, stride: win.strideH,
                                                      pads: pads, weight: values, bias: bias))
                    }
                }
            case .maxPool:
                guard let k = ints("kernel"), k.count == 2, k[0] == k[1], int("global") ?? 0 == 0 else { throw fail(n, "only square, non-global max pooling can be trained") }
                let s = ints("strides") ?? [1, 1]
                guard s[0] == s[1], (ints("pads") ?? [0, 0, 0, 0]).allSatisfy({ $0 == 0 }) else { throw fail(n, "only unpadded max pooling with equal strides can be trained") }
                let l = MaxPoolTrain<Float>(name: n.name, inShape: shape, kernel: k[0], stride: s[0])
                guard let outShape = shapes[n.output], outShape == l.outShape else {
                    throw fail(n, "ceil-mode pooling (output \(shapes[n.output] ?? []) instead of \(l.outShape)) cannot be trained")
                }
                layers.append(l)
            case .flatten:
                layers.append(FlattenTrain(name: n.name, inShape: shape))
            case .dropout:
                current = n.output
                continue
            case .relu:
                layers.append(ReLUTrain(name: n.name, inShape: shape))
            case .fullyConnected:
                let bias = w.count > 1 ? w[1].denseValues() : [Float](repeating: 0, count: w[0].shape[0])
                layers.append(DenseTrain(name: n.name, inShape: shape, outputs: w[0].shape[0], weight: w[0].denseValues(), bias: bias))
            case .softmax:
                guard idx == g.nodes.count - 1 else { throw fail(n, "softmax is only supported as the last node") }
                current = n.output
                continue
            default:
                throw fail(n, "wino-train cannot train this op (supported: conv, winogradConv, relu, maxPool, flatten, dropout, fullyConnected, softmax)")
            }
            if relu && (n.op == .conv || n.op == .winogradConv || n.op == .fullyConnected) {
                layers.append(ReLUTrain(name: n.name + ".relu", inShape: layers.last!.outShape))
            }
            shape = layers.last!.outShape
            current = n.output
        }
        if case .named(let names) = winograd, let missing = names.subtracting(used).first {
            throw TrainError("--winograd names '\(missing)', which is not a direct convolution of the model")
        }
        guard let last = layers.last, last is DenseTrain<Float> || last is DirectConvTrain<Float> || last is WinogradConvTrain<Float> else {
            throw TrainError("the model must end with a layer giving class logits (fullyConnected or conv), optionally followed by softmax")
        }
        return Network(inputShape: g.metadata.inputShape, layers: layers)
    }
}
