// Runs a whole graph with the Double reference operators.
import WinoFormat

/// Executes a model graph with `Reference` operators (Double accumulation).
public struct ReferenceExecutor {
    /// The graph.
    public let graph: ModelGraph
    let shapes: ShapeMap
    let tensors: [String: Tensor]

    /// Validates the graph.
    public init(graph: ModelGraph) throws {
        self.graph = graph
        shapes = try GraphValidator.validate(graph)
        tensors = Dictionary(graph.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Runs `batch` samples (NCHW) and returns the model output.
    public func run(_ input: [Float], batch n: Int) throws -> [Double] {
        var values: [String: [Double]] = [graph.input: input.map(Double.init)]
        for node in graph.nodes {
            let x = values[node.inputs[0]]!
            let s = shapes[node.inputs[0]]!
            let w = node.weights.map { tensors[$0]! }
            let bias = w.count > 1 ? w[1].denseValues() : nil
            let y: [Double]
            switch node.op {
            case .conv:
                let p = try ConvParams(node: node, weight: w[0], bias: w.count > 1 ? w[1] : nil)
                y = Reference.conv(x, n: n, c: s[0], h: s[1], w: s[2], weight: w[0].denseValues(), bias: bias, p: p)
            case .winogradConv:
                let p = try ConvParams(node: node, weight: w[0], bias: w.count > 1 ? w[1] : nil)
                y = Reference.winogradConv(x, n: n, c: s[0], h: s[1], w: s[2], weight: w[0].denseValues(), bias: bias, p: p)
            case .relu:
                y = x.map { max($0, 0) }
            case .clip:
                let p = try ClipParams(node: node)
                y = x.map { min(max($0, Double(p.min)), Double(p.max)) }
            case .prelu:
                y = Reference.prelu(x, slope: w[0].denseValues(), perSample: s.reduce(1, *))
            case .maxPool, .avgPool:
                let p = try PoolParams(node: node, inputH: s[1], inputW: s[2])
                y = Reference.pool(x, n: n, c: s[0], h: s[1], w: s[2], p: p, isMax: node.op == .maxPool)
            case .lrn:
                y = Reference.lrn(x, n: n, c: s[0], hw: s[1] * s[2], p: try LRNParams(node: node))
            case .fullyConnected:
                y = Reference.fullyConnected(x, n: n, weight: w[0].denseValues(), outFeatures: w[0].shape[0], bias: bias,
                                             relu: try AttributeReader(node).flag("relu"))
            case .softmax:
                y = Reference.softmax(x, n: n, channels: s[0], inner: s.dropFirst().reduce(1, *))
            case .flatten, .dropout:
                y = x
            case .concat:
                let parts = node.inputs.map { (values[$0]!, shapes[$0]!.reduce(1, *)) }
                var out = [Double]()
                for b in 0..<n { for (v, size) in parts { out += v[(b * size)..<((b + 1) * size)] } }
                y = out
            case .add:
                let other = values[node.inputs[1]]!
                let relu = try AttributeReader(node).flag("relu")
                y = zip(x, other).map { relu ? max($0 + $1, 0) : $0 + $1 }
            }
            values[node.output] = y
        }
        return values[graph.output]!
    }
}
