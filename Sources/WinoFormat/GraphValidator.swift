// Structural and shape validation of a model graph. Run at load time by the
// reader and by the engine; after it passes, every node's attributes, weights
// and activation shapes are known to be consistent.

/// Per-sample activation shapes ([C, H, W] or [F]) by activation name.
public typealias ShapeMap = [String: [Int]]

/// Checks a `ModelGraph` and infers activation shapes.
public enum GraphValidator {
    /// Longest name accepted for nodes, tensors and activations (bytes of UTF-8).
    public static let maxNameLength = 255

    /// Validates names, references, acyclicity, attributes, weight shapes, finite values,
    /// metadata and inferred shapes. Returns the per-sample shape of every activation.
    /// Nodes must be in topological order; a node reading an activation produced later
    /// (or by itself) is reported as a cycle when that is what it is, else as missing.
    @discardableResult
    public static func validate(_ g: ModelGraph) throws -> ShapeMap {
        try validateMetadata(g.metadata)
        var tensors = [String: Tensor]()
        for t in g.tensors {
            try checkName(t.name, what: "tensor")
            guard tensors[t.name] == nil else { throw FormatError(.duplicateName, "tensor name '\(t.name)' appears twice") }
            try validateTensor(t)
            tensors[t.name] = t
        }
        try checkName(g.input, what: "input")
        var producers = [String: Int]()
        var nodeNames = Set<String>()
        for (i, n) in g.nodes.enumerated() {
            try checkName(n.name, what: "node")
            try checkName(n.output, what: "activation")
            guard nodeNames.insert(n.name).inserted else { throw FormatError(.duplicateName, "node name '\(n.name)' appears twice") }
            guard n.output != g.input, producers[n.output] == nil else {
                throw FormatError(.duplicateName, "activation '\(n.output)' of node '\(n.name)' is produced twice")
            }
            producers[n.output] = i
        }
        var shapes: ShapeMap = [g.input: g.metadata.inputShape]
        for (i, n) in g.nodes.enumerated() {
            let ic = OpSchema.inputCount(n.op), wc = OpSchema.weightCount(n.op)
            guard n.inputs.count >= ic.min && n.inputs.count <= ic.max else {
                throw FormatError(.badAttribute, "node '\(n.name)' (\(n.op)) has \(n.inputs.count) inputs, expected \(ic.min)...\(ic.max)")
            }
            guard n.weights.count >= wc.min && n.weights.count <= wc.max else {
                throw FormatError(.badAttribute, "node '\(n.name)' (\(n.op)) has \(n.weights.count) weights, expected \(wc.min)...\(wc.max)")
            }
            var inShapes = [[Int]]()
            for name in n.inputs {
                if let s = shapes[name] { inShapes.append(s); continue }
                if let p = producers[name], p >= i {
                    throw FormatError(.cycle, "node '\(n.name)' reads '\(name)', produced by node '\(g.nodes[p].name)' which does not come earlier: the graph has a cycle or is not in topological order")
                }
                throw FormatError(.missingName, "node '\(n.name)' reads activation '\(name)', which no node produces")
            }
            let w = try n.weights.map { name -> Tensor in
                guard let t = tensors[name] else {
                    throw FormatError(.missingName, "node '\(n.name)' uses tensor '\(name)', which the model does not contain")
                }
                return t
            }
            let allowed = OpSchema.allowedAttributes(n.op)
            for key in n.attributes.keys.sorted() where allowed[key] == nil {
                throw FormatError(.unknownAttribute, "node '\(n.name)' (\(n.op)) has unknown attribute '\(key)'")
            }
            let out = try inferShape(n, inputs: inShapes, weights: w)
            guard out.allSatisfy({ $0 >= 1 && $0 <= maxActivationDim }),
                  out.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) <= maxActivationElements else {
                throw FormatError(.shapeMismatch, "node '\(n.name)' (\(n.op)) would produce shape \(out), which is empty or too large")
            }
            shapes[n.output] = out
        }
        guard let outShape = shapes[g.output] else {
            throw FormatError(.missingName, "model output '\(g.output)' is not produced by any node")
        }
        if !g.metadata.labels.isEmpty {
            let classes = outShape.reduce(1, *)
            guard g.metadata.labels.count == classes else {
                throw FormatError(.badMetadata, "model has \(g.metadata.labels.count) labels but its output '\(g.output)' has \(classes) values")
            }
        }
        return shapes
    }

    static func checkName(_ s: String, what: String) throws {
        guard !s.isEmpty, s.utf8.count <= maxNameLength else {
            throw FormatError(.badString, "\(what) name '\(s.prefix(40))' is empty or longer than \(maxNameLength) bytes")
        }
        try checkText(s, what: "\(what) name '\(s)'")
    }

    /// Rejects control characters (U+0000-U+001F, U+007F), which would reach a terminal or
    /// break a line wherever the text is printed; `lineBreaks` allows TAB, LF and CR (the
    /// free text of property values).
    static func checkText(_ s: String, what: String, lineBreaks: Bool = false) throws {
        let allowed: Set<UInt32> = lineBreaks ? [0x09, 0x0A, 0x0D] : []
        if let bad = s.unicodeScalars.first(where: { ($0.value < 0x20 || $0.value == 0x7F) && !allowed.contains($0.value) }) {
            let hex = String(bad.value, radix: 16, uppercase: true)
            throw FormatError(.badString, "\(what) holds the control character U+\(String(repeating: "0", count: 4 - hex.count) + hex)")
        }
    }

    static func validateMetadata(_ m: ModelMetadata) throws {
        try checkText(m.name, what: "model name")
        for (i, label) in m.labels.enumerated() { try checkText(label, what: "label \(i)") }
        for (key, value) in m.properties.sorted(by: { $0.key < $1.key }) {
            try checkText(key, what: "property key '\(key)'")
            try checkText(value, what: "property '\(key)'", lineBreaks: true)
        }
        guard m.inputShape.count == 3, m.inputShape.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
            throw FormatError(.badMetadata, "input shape \(m.inputShape) must be [C, H, W] with 1 <= C, H, W <= 65536")
        }
        let c = m.inputShape[0]
        guard m.mean.count == c, m.scale.count == c else {
            throw FormatError(.badMetadata, "mean (\(m.mean.count)) and scale (\(m.scale.count)) must have one value per input channel (\(c))")
        }
        guard (m.mean + m.scale + [m.pixelRange]).allSatisfy({ $0.isFinite }), m.pixelRange > 0 else {
            throw FormatError(.badMetadata, "mean, scale and pixel range must be finite, pixel range positive")
        }
        guard m.resizeShorterSide >= 0 && m.resizeShorterSide <= 1 << 16 else {
            throw FormatError(.badMetadata, "resize size \(m.resizeShorterSide) out of range")
        }
        switch m.channelOrder {
        case .gray: guard c == 1 else { throw FormatError(.badMetadata, "gray channel order needs 1 input channel, not \(c)") }
        case .rgb, .bgr: guard c == 3 else { throw FormatError(.badMetadata, "\(m.channelOrder) channel order needs 3 input channels, not \(c)") }
        case .tensor: break
        }
    }

    static func validateTensor(_ t: Tensor) throws {
        guard !t.shape.isEmpty, t.shape.count <= 8, t.shape.allSatisfy({ $0 >= 1 && $0 <= 1 << 30 }) else {
            throw FormatError(.shapeMismatch, "tensor '\(t.name)' has shape \(t.shape): rank must be 1...8, dimensions 1...2^30")
        }
        var count = 1
        for d in t.shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o, p <= 1 << 32 else { throw FormatError(.limitExceeded, "tensor '\(t.name)' has more than 2^32 elements") }
            count = p
        }
        switch t.data {
        case .dense(let v):
            guard v.count == count else {
                throw FormatError(.shapeMismatch, "tensor '\(t.name)' holds \(v.count) values for shape \(t.shape)")
            }
            if let i = v.firstIndex(where: { !$0.isFinite }) {
                throw FormatError(.nonFinite, "tensor '\(t.name)' value \(i) is \(v[i])")
            }
        case .csr(let m):
            let cols = t.shape.last!
            guard m.cols == cols, m.rows == count / cols else {
                throw FormatError(.shapeMismatch, "tensor '\(t.name)': CSR is \(m.rows)x\(m.cols), shape \(t.shape) needs \(count / cols)x\(cols)")
            }
            if let why = m.invariantViolation() { throw FormatError(.badCSR, "tensor '\(t.name)': \(why)") }
            if let i = m.values.firstIndex(where: { !$0.isFinite }) {
                throw FormatError(.nonFinite, "tensor '\(t.name)' stored value \(i) is \(m.values[i])")
            }
        }
        if t.storage == .f16 {
            let values: [Float]
            switch t.data { case .dense(let v): values = v; case .csr(let m): values = m.values }
            if let i = values.firstIndex(where: { Float(Float16($0)) != $0 }) {
                throw FormatError(.nonFinite, "tensor '\(t.name)' is stored as f16 but value \(i) (\(values[i])) "
                                  + (abs(values[i]) > 65504 ? "exceeds the f16 range" : "is not an f16 value (round it first)"))
            }
        }
        if let v = t.winograd {
            guard t.shape.count == 4, t.shape[0] == v.alpha, t.shape[1] == v.alpha else {
                throw FormatError(.shapeMismatch, "Winograd tensor '\(t.name)' has shape \(t.shape), expected [\(v.alpha), \(v.alpha), K, C/groups] for \(v)")
            }
        }
    }

    /// Infers the per-sample output shape of one node (inputs already validated).
    public static func inferShape(_ n: Node, inputs: [[Int]], weights: [Tensor]) throws -> [Int] {
        func mismatch(_ s: String) -> FormatError {
            FormatError(.shapeMismatch, "node '\(n.name)' (\(n.op)): \(s)")
        }
        let x = inputs[0]
        func spatial() throws -> (c: Int, h: Int, w: Int) {
            guard x.count == 3 else { throw mismatch("input '\(n.inputs[0])' has shape \(x), expected [C, H, W]") }
            return (x[0], x[1], x[2])
        }
        switch n.op {
        case .conv, .winogradConv:
            let (c, h, w) = try spatial()
            let p = try ConvParams(node: n, weight: weights[0], bias: weights.count > 1 ? weights[1] : nil)
            guard p.inChannels == c else {
                throw mismatch("weight '\(weights[0].name)' expects \(p.inChannels) input channels (group \(p.groups)), input '\(n.inputs[0])' has \(c)")
            }
            let o = p.window.outputSize(h: h, w: w)
            guard o.h >= 1 && o.w >= 1 else { throw mismatch("kernel larger than the padded input \(h)x\(w)") }
            return [p.outChannels, o.h, o.w]
        case .maxPool, .avgPool:
            let (c, h, w) = try spatial()
            let p = try PoolParams(node: n, inputH: h, inputW: w)
            let o = p.window.outputSize(h: h, w: w, ceilMode: p.ceilMode)
            guard o.h >= 1 && o.w >= 1 else { throw mismatch("pooling window larger than the padded input \(h)x\(w)") }
            return [c, o.h, o.w]
        case .lrn:
            _ = try spatial()
            _ = try LRNParams(node: n)
            return x
        case .relu, .dropout:
            if n.op == .dropout { _ = try AttributeReader(n).float("ratio", default: 0.5, in: 0...1) }
            return x
        case .softmax:
            return x
        case .clip:
            _ = try ClipParams(node: n)
            return x
        case .prelu:
            let s = weights[0], count = x.reduce(1, *)
            guard s.winograd == nil, [1, x[0], count].contains(s.count) else {
                throw mismatch("slope '\(s.name)' has shape \(s.shape); expected 1, \(x[0]) (per channel) or \(count) (per element) values")
            }
            return x
        case .flatten:
            return [x.reduce(1, *)]
        case .fullyConnected:
            _ = try AttributeReader(n).flag("relu")
            let wt = weights[0]
            let features = x.reduce(1, *)
            guard wt.shape.count == 2, wt.winograd == nil else {
                throw mismatch("weight '\(wt.name)' has shape \(wt.shape), expected [outFeatures, inFeatures]")
            }
            guard wt.shape[1] == features else {
                throw mismatch("weight '\(wt.name)' expects \(wt.shape[1]) input features, input '\(n.inputs[0])' has \(features)")
            }
            if weights.count > 1, weights[1].shape != [wt.shape[0]] {
                throw mismatch("bias '\(weights[1].name)' has shape \(weights[1].shape), expected [\(wt.shape[0])]")
            }
            return [wt.shape[0]]
        case .concat:
            guard inputs.allSatisfy({ $0.count == x.count && Array($0.dropFirst()) == Array(x.dropFirst()) }) else {
                throw mismatch("inputs \(inputs) differ in rank or in dimensions other than the channel axis")
            }
            return [inputs.reduce(0) { $0 + $1[0] }] + Array(x.dropFirst())
        case .add:
            _ = try AttributeReader(n).flag("relu")
            guard inputs[1] == x else { throw mismatch("inputs have different shapes \(x) and \(inputs[1])") }
            return x
        }
    }
}
