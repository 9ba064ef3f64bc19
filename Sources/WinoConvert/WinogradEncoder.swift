// Turns an imported graph into the stored form: every eligible convolution
// (stride 1, 3x3 or 5x5, see `WinogradEncoder.variant`) becomes a Winograd
// layer with weights U = G g G^T computed in Double (WinogradWeights), then
// weights are pruned by magnitude and pruned tensors stored as CSR.
// Pruning score of a weight w: |w|, or with position normalisation (RESEARCH.md
// section 1) |w| * ||A row i|| * ||A row j|| for Winograd position xi = (i, j),
// i.e. the threshold divided by the L2 norm of row xi of (A (x) A): positions
// that feed more outputs are pruned more carefully.
import WinoFormat
import WinoKernels

/// How to encode and prune.
public struct EncodeOptions: Sendable {
    /// Winograd variant for 3x3 convolutions (5x5 ones always use F(4x4,5x5)).
    public var tile3x3: WinogradVariant = .f4x4_3x3
    /// Convert eligible convolutions to Winograd (false keeps every convolution direct).
    public var winograd = true
    /// Fraction of weights zeroed in each Winograd layer (0 = dense).
    public var sparsity = 0.0
    /// Instead of `sparsity`: zero Winograd weights whose score is below this.
    public var threshold: Double?
    /// Per-layer sparsity by node name (Winograd, direct conv or fully-connected layers).
    public var layerSparsity: [String: Double] = [:]
    /// Fraction of weights zeroed in each fully-connected layer.
    public var fcSparsity = 0.0
    /// Scale Winograd scores by the per-position norm of (A (x) A).
    public var normalizePositions = false
    /// Store the weights of convolutions and fully-connected layers as f16 (lossy: each value
    /// rounded to the nearest binary16; biases stay f32). Halves the value bytes.
    public var halfPrecisionWeights = false

    /// Creates default options: Winograd F(4x4,3x3), no pruning.
    public init() {}
}

/// What was done to one weighted layer.
public struct LayerReport: Sendable, Equatable {
    /// Node name.
    public var name: String
    /// Resulting op.
    public var op: OpKind
    /// Winograd variant, if any.
    public var winograd: WinogradVariant?
    /// Stored nonzeros and logical element count of the weight.
    public var nnz: Int, count: Int

    /// nnz / count.
    public var density: Double { count == 0 ? 0 : Double(nnz) / Double(count) }
}

/// Winograd encoding and magnitude pruning of a graph.
public enum WinogradEncoder {
    /// The Winograd variant an ONNX-style direct conv node can use, or nil when it must stay direct.
    public static func variant(of node: Node, weight: Tensor, tile3x3: WinogradVariant) -> WinogradVariant? {
        guard node.op == .conv, weight.shape.count == 4, weight.winograd == nil else { return nil }
        if let s = node.attributes["strides"], s != .ints([1, 1]) { return nil }
        switch (weight.shape[2], weight.shape[3]) {
        case (3, 3): return tile3x3
        case (5, 5): return .f4x4_5x5
        default: return nil
        }
    }

    /// Encodes and prunes; `progress(done, total, layer)` is called before each weighted layer.
    public static func encode(_ graph: ModelGraph, options o: EncodeOptions,
                              progress: ((Int, Int, String) -> Void)? = nil) throws -> (ModelGraph, [LayerReport]) {
        for (k, v) in o.layerSparsity {
            guard graph.nodes.contains(where: { $0.name == k && [.conv, .fullyConnected].contains($0.op) }) else {
                throw ConvertError("--layer-sparsity names '\(k)', which is not a convolution or fully-connected layer; layers: \(graph.nodes.filter { [.conv, .fullyConnected].contains($0.op) }.map { $0.name }.joined(separator: ", "))")
            }
            guard (0...1).contains(v) else { throw ConvertError("sparsity \(v) for layer '\(k)' is outside 0...1") }
        }
        guard (0...1).contains(o.sparsity), (0...1).contains(o.fcSparsity) else { throw ConvertError("sparsities must be within 0...1") }
        var g = graph
        var index = Dictionary(uniqueKeysWithValues: g.tensors.enumerated().map { ($0.element.name, $0.offset) })
        var reports = [LayerReport]()
        let work = g.nodes.indices.filter { [.conv, .fullyConnected].contains(g.nodes[$0].op) }
        for (step, i) in work.enumerated() {
            var node = g.nodes[i]
            progress?(step, work.count, node.name)
            let ti = index[node.weights[0]]!
            var t = g.tensors[ti]
            var values = t.denseValues()
            var scale: [Double]? = nil   // per-position score multiplier
            var sparsity = o.layerSparsity[node.name]
            var threshold: Double? = nil
            if o.winograd, let v = variant(of: node, weight: t, tile3x3: o.tile3x3) {
                let tile = WinogradTile(rawValue: Int(v.rawValue))!
                let (k, cg) = (t.shape[0], t.shape[1])
                values = WinogradWeights.fromSpatial(values, k: k, c: cg, tile: tile)
                t = Tensor(name: t.name, shape: [v.alpha, v.alpha, k, cg], winograd: v, data: .dense(values))
                node.op = .winogradConv
                node.attributes["strides"] = nil
                if o.normalizePositions { scale = positionNorms(tile) }
                if sparsity == nil {
                    if let th = o.threshold { threshold = th } else { sparsity = o.sparsity }
                }
            } else if node.op == .fullyConnected, sparsity == nil {
                sparsity = o.fcSparsity
            }
            let per = values.count / (scale?.count ?? 1)
            var zeroed = 0
            if threshold != nil || (sparsity ?? 0) > 0 {
                let scores = values.indices.map { e in Double(abs(values[e])) * (scale.map { $0[e / per] } ?? 1) }
                if let th = threshold {
                    for e in values.indices where values[e] != 0 && scores[e] < th { values[e] = 0; zeroed += 1 }
                } else if let s = sparsity {
                    zeroed = prune(&values, fraction: s, scores: scores)
                }
            }
            let rows = values.count / t.shape.last!, cols = t.shape.last!
            if zeroed > 0 || threshold != nil || (sparsity ?? 0) > 0 {
                t.data = .csr(CSRMatrix(dense: values, rows: rows, cols: cols))
            } else {
                t.data = .dense(values)
            }
            reports.append(LayerReport(name: node.name, op: node.op, winograd: t.winograd, nnz: t.storedCount, count: values.count))
            g.tensors[ti] = t
            g.nodes[i] = node
            index[t.name] = ti
        }
        progress?(work.count, work.count, "")
        do {
            try GraphValidator.validate(g)
        } catch let e as FormatError {
            throw ConvertError("the encoded graph is invalid: \(e.message)")
        }
        return (g, reports)
    }

    /// Zeroes the round(fraction * count) entries of smallest score (ties: lower index first). Returns how many.
    static func prune(_ values: inout [Float], fraction: Double, scores: [Double]) -> Int {
        let k = Int((fraction * Double(values.count)).rounded())
        guard k > 0 else { return 0 }
        if k >= values.count {
            values = [Float](repeating: 0, count: values.count)
            return k
        }
        let cut = scores.sorted()[k - 1]   // the k-th smallest score
        var below = scores.filter { $0 < cut }.count
        for e in values.indices {
            if scores[e] < cut { values[e] = 0 } else if scores[e] == cut && below < k { values[e] = 0; below += 1 }
        }
        return k
    }

    /// ||A row i|| * ||A row j|| for each position xi = i * alpha + j (A = (A^T)^T, alpha x m).
    static func positionNorms(_ tile: WinogradTile) -> [Double] {
        let a = tile.alpha, m = tile.m, at = WinogradMatrices.at(tile)
        let row = (0..<a).map { i in (0..<m).reduce(0.0) { $0 + at[$1 * a + i] * at[$1 * a + i] }.squareRoot() }
        return (0..<(a * a)).map { row[$0 / a] * row[$0 % a] }
    }
}
