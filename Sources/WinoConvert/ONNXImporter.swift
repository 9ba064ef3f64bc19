// ONNX -> ModelGraph import. Walks the ONNX graph in dependency order and
// emits engine nodes with spatial (direct) convolutions and dense weights;
// WinogradEncoder then turns eligible convolutions into Winograd layers and
// prunes. Activations keep their ONNX names; Identity, Dropout and folded
// nodes (BatchNormalization into Conv, Add of a constant into the bias of
// Conv/Gemm/MatMul) become aliases. Per-sample shapes are the engine's:
// an ONNX input [N, C, H, W] is [C, H, W]; [N, F] is [F, 1, 1]; the ONNX rank
// of each activation is tracked beside it for axis and reshape checks.
import Foundation
import SwiftProtobuf
import WinoFormat

/// What the import needs besides the ONNX bytes.
public struct ImportOptions: Sendable {
    /// Per-sample input size [C, H, W] (or [F] for a 2-D input; [F, 1, 1] too), used where the
    /// ONNX input shape leaves dimensions symbolic; must agree with dimensions it fixes and give
    /// every per-sample dimension.
    public var inputSize: [Int]?
    /// Graph inputs bound to constant values (ONNX test data feeding weights as inputs).
    public var constants: [String: ONNXTensor]

    /// Creates options.
    public init(inputSize: [Int]? = nil, constants: [String: ONNXTensor] = [:]) {
        self.inputSize = inputSize
        self.constants = constants
    }
}

/// The result of importing an ONNX model: a graph with direct convolutions and
/// dense weights, plus what is needed to run the ONNX model on the same input.
public struct ImportedModel: Sendable {
    /// The engine graph (validated; metadata holds placeholder image settings).
    public var graph: ModelGraph
    /// Name of the ONNX input.
    public var onnxInput: String
    /// Rank of the ONNX input (2, 3 or 4), batch included.
    public var onnxInputRank: Int
    /// Name of the ONNX output.
    public var onnxOutput: String
    /// The default-domain opset version.
    public var opset: Int
    /// ONNX producer name and version, if present.
    public var producer: String
}

/// Imports ONNX models.
public enum ONNXImporter {
    /// Supported opsets of the default domain (older ones too: every op handler
    /// checks all attributes of a node, so older semantics cannot slip through).
    public static let opsets = 1...21
    /// Largest ONNX file accepted.
    public static let maxFileBytes = 4 << 30

    /// Reads and imports an ONNX file.
    public static func importModel(path: String, options: ImportOptions = ImportOptions()) throws -> ImportedModel {
        return try importModel(bytes: readModelFile(path), name: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent,
                               options: options)
    }

    /// The bytes of the ONNX file at `path`: a regular file within `maxFileBytes` whose bytes
    /// and decoded message (about as large again) fit the memory left, read once.
    static func readModelFile(_ path: String) throws -> [UInt8] {
        do {
            return try InputFile.read(path, maxBytes: maxFileBytes, what: "an ONNX file", holding: 2)
        } catch let e as InputFileError {
            throw ConvertError(e.message)
        }
    }

    /// Imports a serialized ONNX ModelProto.
    public static func importModel(bytes: [UInt8], name: String = "model", options: ImportOptions = ImportOptions()) throws -> ImportedModel {
        let model: Onnx_ModelProto
        do {
            var opts = BinaryDecodingOptions()
            opts.messageDepthLimit = 64
            model = try Onnx_ModelProto(serializedBytes: bytes, options: opts)
        } catch {
            throw ConvertError("not a valid ONNX model (protobuf decoding failed: \(error)); the file may be truncated or not ONNX")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else { throw ConvertError("the ONNX model has no graph or no nodes") }
        guard let opset = model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" })?.version else {
            throw ConvertError("the ONNX model imports no default-domain opset")
        }
        guard opsets.contains(Int(opset)) else {
            throw ConvertError("the ONNX model uses opset \(opset); supported opsets are \(opsets.lowerBound) to \(opsets.upperBound)")
        }
        let b = try GraphBuilder(graph: model.graph, opset: Int(opset), name: model.graph.name.isEmpty ? name : model.graph.name,
                                 options: options)
        try b.run()
        return try b.finish(producer: [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " "))
    }
}

/// Mutable state of one import.
final class GraphBuilder {
    let g: Onnx_GraphProto
    let opset: Int
    let name: String
    var consts: [String: ONNXTensor] = [:]
    /// ONNX activation name -> engine activation name.
    var alias: [String: String] = [:]
    /// Engine per-sample shapes and ONNX ranks (batch included) of engine activations.
    var shapes: ShapeMap = [:]
    var ranks: [String: Int] = [:]
    var nodes: [Node] = []
    var tensors: [Tensor] = []
    var tensorIndex: [String: Int] = [:]
    /// Engine activation -> index of the node producing it.
    var producer: [String: Int] = [:]
    /// Number of ONNX readers of each ONNX activation (graph outputs count as readers).
    var readers: [String: Int] = [:]
    var nodeNames = Set<String>()
    let inputName: String
    let inputRank: Int
    /// The declared batch size of the input, when static.
    let staticBatch: Int?

    init(graph: Onnx_GraphProto, opset: Int, name: String, options: ImportOptions) throws {
        g = graph
        self.opset = opset
        self.name = name
        for t in graph.initializer {
            guard !t.name.isEmpty else { throw ConvertError("an initializer has no name") }
            consts[t.name] = try ONNXTensor(proto: t)
        }
        if let s = graph.sparseInitializer.first {
            throw ConvertError("sparse initializer '\(s.values.name)' is not supported")
        }
        for (k, v) in options.constants { consts[k] = v }
        let known = consts
        let inputs = graph.input.filter { known[$0.name] == nil }
        guard inputs.count == 1, let input = inputs.first else {
            throw ConvertError("the model has \(inputs.count) non-constant inputs (\(inputs.map { "'\($0.name)'" }.joined(separator: ", "))); exactly one is supported")
        }
        inputName = input.name
        let tt = input.type.tensorType
        guard case .tensorType? = input.type.value, tt.elemType == 1 else {
            throw ConvertError("input '\(input.name)' is not a float32 tensor")
        }
        let dims = tt.shape.dim
        guard (2...4).contains(dims.count) else {
            throw ConvertError("input '\(input.name)' has rank \(dims.count); supported are [N, C, H, W], [N, C, L] and [N, F]")
        }
        inputRank = dims.count
        // Per-sample dims, or the engine's [C, H, W] form of them (trailing 1s: `Model.inputShape`).
        if let given = options.inputSize,
           given.count < dims.count - 1 || given.count > 3 || !given.dropFirst(dims.count - 1).allSatisfy({ $0 == 1 }) {
            throw ConvertError("input size \(given) has \(given.count) values; the ONNX input '\(input.name)' has \(dims.count - 1) per-sample dimensions")
        }
        if case .dimValue(let v)? = dims[0].value, v > 0 { staticBatch = Int(v) } else { staticBatch = nil }
        var perSample = [Int]()
        for (i, d) in dims.dropFirst().enumerated() {
            var known: Int? = nil
            if case .dimValue(let v)? = d.value, v > 0 { known = Int(v) }
            if let given = options.inputSize, given.count > i {
                if let k = known, k != given[i] {
                    throw ConvertError("input size \(given) disagrees with the ONNX input '\(input.name)' dimension \(i + 1) = \(k)")
                }
                known = given[i]
            }
            guard let k = known, k >= 1, k <= 1 << 16 else {
                throw ConvertError("input '\(input.name)' dimension \(i + 1) is unknown or out of range; give it with --input-size")
            }
            perSample.append(k)
        }
        let engineShape = perSample + [Int](repeating: 1, count: 3 - perSample.count)
        shapes[inputName] = engineShape
        ranks[inputName] = inputRank
        alias[inputName] = inputName
        for n in graph.node { for i in n.input where !i.isEmpty { readers[i, default: 0] += 1 } }
        for o in graph.output { readers[o.name, default: 0] += 1 }
    }

    /// Imports every node in dependency order.
    func run() throws {
        var pending = Array(g.node.indices)
        var available = Set(consts.keys).union([inputName])
        while !pending.isEmpty {
            guard let k = pending.firstIndex(where: { i in g.node[i].input.allSatisfy { $0.isEmpty || available.contains($0) } }) else {
                let produced = Dictionary(pending.flatMap { i in g.node[i].output.map { ($0, i) } }, uniquingKeysWith: { a, _ in a })
                for i in pending {
                    let n = g.node[i]
                    for x in n.input where !x.isEmpty && !available.contains(x) && produced[x] == nil {
                        throw ConvertError("node '\(label(n))' (\(n.opType)) reads '\(x)', which is neither an input, an initializer nor a node output (missing initializer?)")
                    }
                }
                let n = g.node[pending[0]]
                throw ConvertError("the graph has a cycle: node '\(label(n))' (\(n.opType)) depends on its own output")
            }
            let n = g.node[pending.remove(at: k)]
            guard n.domain.isEmpty || n.domain == "ai.onnx" else {
                throw ConvertError("node '\(label(n))' uses op '\(n.opType)' of domain '\(n.domain)', which is not supported")
            }
            try importNode(n)
            for o in n.output where !o.isEmpty {
                guard !available.contains(o) else { throw ConvertError("node '\(label(n))' (\(n.opType)) writes '\(o)', which already exists") }
                available.insert(o)
            }
        }
    }

    func finish(producer: String) throws -> ImportedModel {
        guard g.output.count == 1, let out = g.output.first else {
            throw ConvertError("the model has \(g.output.count) outputs (\(g.output.map { "'\($0.name)'" }.joined(separator: ", "))); exactly one is supported")
        }
        guard let a = alias[out.name], a != inputName else {
            throw ConvertError("the model output '\(out.name)' is not computed from the input by any supported node")
        }
        let meta = ModelMetadata(name: name, inputShape: shapes[inputName]!, channelOrder: .tensor)
        let graph = ModelGraph(metadata: meta, input: inputName, output: a, nodes: nodes, tensors: tensors)
        do {
            try GraphValidator.validate(graph)
        } catch let e as FormatError {
            throw ConvertError("the imported graph is invalid: \(e.message)")
        }
        return ImportedModel(graph: graph, onnxInput: inputName, onnxInputRank: inputRank, onnxOutput: out.name,
                             opset: opset, producer: producer)
    }

    // MARK: helpers shared by the op handlers

    func label(_ n: Onnx_NodeProto) -> String {
        n.name.isEmpty ? (n.output.first ?? n.opType) : n.name
    }

    /// The engine activation an ONNX input refers to.
    func activation(_ n: Onnx_NodeProto, _ i: Int) throws -> String {
        guard i < n.input.count, !n.input[i].isEmpty else { throw fail(n, "input \(i) is missing") }
        let x = n.input[i]
        if let a = alias[x] { return a }
        if consts[x] != nil { throw fail(n, "input '\(x)' is a constant; only activations are supported there") }
        throw fail(n, "reads '\(x)', which no supported node produced")
    }

    /// A constant input, or nil when the optional input is absent.
    func constant(_ n: Onnx_NodeProto, _ i: Int, required: Bool = true) throws -> ONNXTensor? {
        guard i < n.input.count, !n.input[i].isEmpty else {
            if required { throw fail(n, "input \(i) is missing") }
            return nil
        }
        guard let c = consts[n.input[i]] else {
            throw fail(n, "input '\(n.input[i])' must be an initializer (constant); computed weights are not supported")
        }
        return c
    }

    func fail(_ n: Onnx_NodeProto, _ what: String) -> ConvertError {
        ConvertError("node '\(label(n))' (\(n.opType)): \(what)")
    }

    /// ONNX per-sample dims of an engine activation.
    func dims(_ a: String) -> [Int] {
        let s = shapes[a]! + [1, 1, 1]
        return Array(s.prefix(ranks[a]! - 1))
    }

    /// Whether the ONNX activation is read exactly once and is not the model output.
    func singleUse(_ onnxName: String) -> Bool {
        readers[onnxName] == 1 && !g.output.contains { $0.name == onnxName }
    }

    func addTensor(_ base: String, shape: [Int], values: [Float]) -> String {
        var name = base, k = 1
        while tensorIndex[name] != nil { k += 1; name = "\(base).\(k)" }
        tensorIndex[name] = tensors.count
        tensors.append(Tensor(name: name, shape: shape, data: .dense(values)))
        return name
    }

    func tensorValues(_ name: String) -> [Float] { tensors[tensorIndex[name]!].denseValues() }

    func setTensor(_ name: String, shape: [Int], values: [Float]) {
        tensors[tensorIndex[name]!] = Tensor(name: name, shape: shape, data: .dense(values))
    }

    /// Appends an engine node writing ONNX output `out` with ONNX rank `rank`.
    @discardableResult
    func emit(_ n: Onnx_NodeProto, _ op: OpKind, inputs: [String], out: String, rank: Int,
              weights: [String] = [], attributes: [String: AttributeValue] = [:]) throws -> Node {
        var nodeName = label(n), k = 1
        while nodeNames.contains(nodeName) { k += 1; nodeName = "\(label(n))_\(k)" }
        let node = Node(name: nodeName, op: op, inputs: inputs, output: out, weights: weights, attributes: attributes)
        let shape: [Int]
        do {
            shape = try GraphValidator.inferShape(node, inputs: inputs.map { shapes[$0]! },
                                                  weights: weights.map { tensors[tensorIndex[$0]!] })
        } catch let e as FormatError {
            // The validator names the node too ("node 'x' (conv): ..."): name it once.
            var what = Substring(e.message)
            if what.hasPrefix("node '\(nodeName)' "), let colon = what.range(of: "): ") { what = what[colon.upperBound...] }
            throw fail(n, String(what))
        }
        guard shapes[out] == nil else { throw fail(n, "output '\(out)' is written twice") }
        nodeNames.insert(nodeName)
        shapes[out] = shape
        ranks[out] = rank
        alias[out] = out
        producer[out] = nodes.count
        nodes.append(node)
        return node
    }
}
