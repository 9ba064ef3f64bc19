// Turns a validated graph into a list of layer steps over activation slots.
// Flatten and Dropout produce no step: their output shares the input's slot
// (per-sample data is already laid out flat). A Relu whose input is produced
// by a Conv, WinogradConv, FullyConnected or Add read by nothing else is
// fused into that producer; so is a MaxPool into an LRN read by nothing else.
import WinoFormat
import WinoKernels

/// One step of execution.
struct Step {
    let layer: any Layer
    let inputs: [Int]
    let output: Int
}

/// The executable plan of a model.
struct Plan {
    /// Steps in execution order.
    var steps: [Step] = []
    /// Per-sample element count of each slot.
    var slotSizes: [Int] = []
    /// Slot of the model input and output.
    var inputSlot = 0, outputSlot = 0
    /// Per-sample output shape.
    var outputShape: [Int] = []

    init(graph g: ModelGraph, shapes: ShapeMap, planner: ConvPlanner = .auto, threads: Int = 1) throws {
        var slotOf = [String: Int]()
        func newSlot(_ name: String) -> Int {
            slotSizes.append(shapes[name]!.reduce(1, *))
            slotOf[name] = slotSizes.count - 1
            return slotSizes.count - 1
        }
        inputSlot = newSlot(g.input)
        var readers = [String: Int]()
        for n in g.nodes { for i in n.inputs { readers[i, default: 0] += 1 } }
        let tensors = Dictionary(g.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let byInput = Dictionary(grouping: g.nodes, by: { $0.inputs.first ?? "" })
        var fused = Set<String>()   // names of Relu and MaxPool nodes folded into their producer
        // A MaxPool node reading an activation of `input`'s per-sample shape.
        func maxPool(_ node: Node, input: [Int]) throws -> MaxPoolLayer {
            let params = try PoolParams(node: node, inputH: input[1], inputW: input[2])
            return MaxPoolLayer(node: node, params: params, input: input, output: shapes[node.output]!)
        }

        for n in g.nodes {
            if fused.contains(n.name) { continue }
            let inShapes = n.inputs.map { shapes[$0]! }
            let inSlots = n.inputs.map { slotOf[$0]! }
            let w = n.weights.map { tensors[$0]! }
            // A following Relu that can be fused into this node.
            var fuseRelu: Node? = nil
            if [.conv, .winogradConv, .fullyConnected, .add].contains(n.op), readers[n.output] == 1,
               n.output != g.output, let next = byInput[n.output]?.first, next.op == .relu {
                fuseRelu = next
            }
            let layer: any Layer
            switch n.op {
            case .flatten, .dropout:
                slotOf[n.output] = inSlots[0]
                continue
            case .conv, .winogradConv:
                var params = try ConvParams(node: n, weight: w[0], bias: w.count > 1 ? w[1] : nil)
                if fuseRelu != nil { params.relu = true }
                let bias = w.count > 1 ? w[1] : nil
                if n.op == .winogradConv {
                    layer = WinogradConvLayer(node: n, params: params, input: inShapes[0], weight: w[0], bias: bias, threads: threads)
                } else {
                    switch ConvPlanner.choose(params, input: inShapes[0], weight: w[0], planner: planner) {
                    case .direct(let why):
                        layer = ConvLayer(node: n, params: params, input: inShapes[0], weight: w[0], bias: bias, note: why)
                    case .winograd(let tile, let why):
                        var wp = params
                        wp.winograd = tile
                        let u = WinogradWeights.fromSpatial(w[0].denseValues(), k: params.outChannels,
                                                            c: params.inChannels / params.groups,
                                                            tile: WinogradTile(rawValue: Int(tile.rawValue))!)
                        let t = Tensor(name: w[0].name, shape: [tile.alpha, tile.alpha, params.outChannels, params.inChannels / params.groups],
                                       winograd: tile, data: .dense(u))
                        layer = WinogradConvLayer(node: n, params: wp, input: inShapes[0], weight: t, bias: bias, threads: threads, note: why)
                    case .stridedWinograd(let why):
                        layer = StridedWinogradConvLayer(node: n, params: params, input: inShapes[0],
                                                         spatial: w[0].denseValues(), bias: bias, threads: threads, note: why)
                    }
                }
            case .fullyConnected:
                let relu = try AttributeReader(n).flag("relu") || fuseRelu != nil
                layer = FullyConnectedLayer(node: n, weight: w[0], bias: w.count > 1 ? w[1] : nil, relu: relu)
            case .add:
                let relu = try AttributeReader(n).flag("relu") || fuseRelu != nil
                layer = AddLayer(node: n, shape: inShapes[0], relu: relu)
            case .relu:
                layer = ReluLayer(node: n, shape: inShapes[0])
            case .clip:
                layer = ClipLayer(node: n, params: try ClipParams(node: n), shape: inShapes[0])
            case .prelu:
                layer = PReluLayer(node: n, slope: w[0], shape: inShapes[0])
            case .maxPool:
                layer = try maxPool(n, input: inShapes[0])
            case .avgPool:
                let params = try PoolParams(node: n, inputH: inShapes[0][1], inputW: inShapes[0][2])
                layer = AvgPoolLayer(node: n, params: params, input: inShapes[0], output: shapes[n.output]!)
            case .lrn:
                if readers[n.output] == 1, n.output != g.output, let next = byInput[n.output]?.first, next.op == .maxPool {
                    // LRN + MaxPool: the LRN output never goes to memory.
                    let pool = try maxPool(next, input: inShapes[0])
                    fused.insert(next.name)
                    steps.append(Step(layer: LRNMaxPoolLayer(node: n, params: try LRNParams(node: n), input: inShapes[0], pool: pool),
                                      inputs: inSlots, output: newSlot(next.output)))
                    continue
                }
                layer = LRNLayer(node: n, params: try LRNParams(node: n), input: inShapes[0])
            case .softmax:
                layer = SoftmaxLayer(node: n, shape: inShapes[0])
            case .concat:
                layer = ConcatLayer(node: n, inputs: inShapes)
            }
            let out = newSlot(n.output)
            if let r = fuseRelu {
                fused.insert(r.name)
                slotOf[r.output] = out
            }
            steps.append(Step(layer: layer, inputs: inSlots, output: out))
        }
        outputSlot = slotOf[g.output]!
        outputShape = shapes[g.output]!
    }

    /// An upper bound on the workspace bytes of one sample: every activation slot plus the
    /// largest scratch need (per-thread scratch counted for `threads` threads).
    func workspaceBytesPerSample(threads: Int) -> Int {
        var floats = slotSizes.reduce(0, +)
        var scratch = 0
        for s in steps {
            let need = s.layer.scratch(batch: 1)
            scratch = max(scratch, need.perThread * threads + need.shared)
        }
        floats += scratch
        return floats * MemoryLayout<Float>.size
    }
}
