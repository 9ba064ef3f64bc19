// One handler per supported ONNX op, mapping it onto engine nodes (see
// ONNXImporter.swift for the naming and shape conventions).
import WinoFormat

extension GraphBuilder {
    /// The ONNX ops the importer maps.
    static let supportedOps = ["Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv", "Dropout",
                               "Flatten", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Identity", "LRN", "MatMul",
                               "MaxPool", "PRelu", "Relu", "Reshape", "Softmax"]

    func attrs(_ n: Onnx_NodeProto, _ allowed: Set<String>) throws -> ONNXAttributes {
        try ONNXAttributes(n, label: label(n), allowed: allowed)
    }

    /// Fails when an optional extra output (a mask, indices, running statistics) is read.
    func onlyFirstOutput(_ n: Onnx_NodeProto) throws {
        for o in n.output.dropFirst() where !o.isEmpty && (readers[o] ?? 0) > 0 {
            throw fail(n, "output '\(o)' is used, but only the first output is supported")
        }
    }

    /// Makes ONNX output 0 of `n` another name for engine activation `a`.
    func same(_ n: Onnx_NodeProto, _ a: String) {
        alias[n.output[0]] = a
    }

    func importNode(_ n: Onnx_NodeProto) throws {
        guard !n.output.isEmpty, !n.output[0].isEmpty else { throw fail(n, "has no output") }
        switch n.opType {
        case "Constant": try constantNode(n)
        case "Conv": try conv(n)
        case "BatchNormalization": try batchNorm(n)
        case "Relu":
            _ = try attrs(n, [])
            let x = try activation(n, 0)
            try emit(n, .relu, inputs: [x], out: n.output[0], rank: ranks[x]!)
        case "Clip": try clip(n)
        case "PRelu": try prelu(n)
        case "MaxPool", "AveragePool": try pool(n)
        case "GlobalAveragePool", "GlobalMaxPool":
            _ = try attrs(n, [])
            let x = try activation(n, 0)
            guard ranks[x] == 4 else { throw fail(n, "input must be [N, C, H, W]") }
            try emit(n, n.opType == "GlobalMaxPool" ? .maxPool : .avgPool, inputs: [x], out: n.output[0], rank: 4,
                     attributes: ["global": .int(1)])
        case "LRN":
            let a = try attrs(n, ["size", "alpha", "beta", "bias"])
            let x = try activation(n, 0)
            guard ranks[x] == 4 else { throw fail(n, "input must be [N, C, H, W]") }
            guard a.has("size") else { throw fail(n, "attribute 'size' is required") }
            try emit(n, .lrn, inputs: [x], out: n.output[0], rank: 4, attributes: [
                "size": .int(Int64(try a.int("size", 0))), "alpha": .float(try a.float("alpha", 1e-4)),
                "beta": .float(try a.float("beta", 0.75)), "bias": .float(try a.float("bias", 1))])
        case "Gemm": try gemm(n)
        case "MatMul": try matMul(n)
        case "Add": try add(n)
        case "Concat":
            let a = try attrs(n, ["axis"])
            guard !n.input.isEmpty else { throw fail(n, "has no inputs") }
            let xs = try n.input.indices.map { try activation(n, $0) }
            let r = ranks[xs[0]]!
            guard xs.allSatisfy({ ranks[$0] == r }) else { throw fail(n, "inputs differ in rank") }
            let axis = try a.int("axis", 1)
            guard axis == 1 || axis + r == 1 else { throw a.fail("axis", "= \(axis) is not supported (only the channel axis 1)") }
            try emit(n, .concat, inputs: xs, out: n.output[0], rank: r)
        case "Flatten":
            let a = try attrs(n, ["axis"])
            let x = try activation(n, 0)
            let r = ranks[x]!, axis = try a.int("axis", 1)
            guard axis == 1 || axis + r == 1 else {
                throw a.fail("axis", "= \(axis) is not supported: only axis 1 (keeping the batch axis) is")
            }
            try flatten(n, x)
        case "Reshape": try reshape(n)
        case "Softmax": try softmax(n)
        case "Dropout":
            let a = try attrs(n, ["ratio", "seed", "is_test"])
            _ = a
            if let t = try constant(n, 2, required: false), (t.ints.first ?? 0) != 0 || (t.floats.first ?? 0) != 0 {
                throw fail(n, "training_mode is true; only inference is supported")
            }
            try onlyFirstOutput(n)
            try passThrough(n, try activation(n, 0))
        case "Identity":
            _ = try attrs(n, [])
            try passThrough(n, try activation(n, 0))
        default:
            throw ConvertError("node '\(label(n))' uses op '\(n.opType)', which is not supported (supported ops: \(Self.supportedOps.joined(separator: ", ")))")
        }
    }

    /// Identity and inference-time Dropout: an alias, or an engine Dropout (free at run
    /// time) when the value is the model input, so that the graph computes something.
    func passThrough(_ n: Onnx_NodeProto, _ x: String) throws {
        if x != inputName { same(n, x); return }
        try emit(n, .dropout, inputs: [x], out: n.output[0], rank: ranks[x]!)
    }

    func constantNode(_ n: Onnx_NodeProto) throws {
        let a = try attrs(n, ["value", "value_float", "value_floats", "value_int", "value_ints"])
        let name = n.output[0]
        var t: ONNXTensor
        if let v = a.byName["value"] {
            t = try ONNXTensor(proto: v.t)
        } else if let v = a.byName["value_float"] {
            t = ONNXTensor(name: name, dims: [], floats: [v.f], ints: [])
        } else if let v = a.byName["value_floats"] {
            t = ONNXTensor(name: name, dims: [v.floats.count], floats: v.floats, ints: [])
        } else if let v = a.byName["value_int"] {
            t = ONNXTensor(name: name, dims: [], floats: [], ints: [v.i])
        } else if let v = a.byName["value_ints"] {
            t = ONNXTensor(name: name, dims: [v.ints.count], floats: [], ints: v.ints)
        } else {
            throw fail(n, "has no value")
        }
        t.name = name
        consts[name] = t
    }

    /// Padding (top, left, bottom, right) from `pads` or `auto_pad` for a window over h x w.
    func padding(_ n: Onnx_NodeProto, _ a: ONNXAttributes, kernel k: [Int], strides s: [Int], h: Int, w: Int) throws -> [Int] {
        let mode = try a.string("auto_pad", "NOTSET")
        switch mode {
        case "NOTSET", "":
            guard let p = try a.ints("pads") else { return [0, 0, 0, 0] }
            guard p.count == 4, p.allSatisfy({ $0 >= 0 }) else { throw a.fail("pads", "= \(p) must hold 4 non-negative values") }
            return [p[0], p[1], p[2], p[3]]
        case "VALID":
            return [0, 0, 0, 0]
        case "SAME_UPPER", "SAME_LOWER":
            var p = [0, 0, 0, 0]
            for (i, size) in [h, w].enumerated() {
                let out = (size + s[i] - 1) / s[i]
                let total = max(0, (out - 1) * s[i] + k[i] - size)
                let small = total / 2
                p[i] = mode == "SAME_UPPER" ? small : total - small
                p[i + 2] = total - p[i]
            }
            return p
        default:
            throw a.fail("auto_pad", "= '\(mode)' is not supported")
        }
    }

    func ones(_ a: ONNXAttributes, _ name: String) throws {
        if let d = try a.ints(name), d.contains(where: { $0 != 1 }) {
            throw a.fail(name, "= \(d) is not supported (only 1)")
        }
    }

    func conv(_ n: Onnx_NodeProto) throws {
        let a = try attrs(n, ["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"])
        let x = try activation(n, 0)
        guard ranks[x] == 4 else { throw fail(n, "input must be [N, C, H, W] (only 2-D convolution is supported)") }
        let w = try constant(n, 1)!
        guard w.dims.count == 4, w.isFloat else { throw fail(n, "weight '\(w.name)' has shape \(w.dims), expected [K, C/group, kH, kW] floats") }
        let k = [w.dims[2], w.dims[3]]
        if let ks = try a.ints("kernel_shape"), ks != k { throw a.fail("kernel_shape", "= \(ks) disagrees with the weight shape \(w.dims)") }
        try ones(a, "dilations")
        let s = try a.ints("strides") ?? [1, 1]
        guard s.count == 2, s.allSatisfy({ $0 >= 1 }) else { throw a.fail("strides", "= \(s) must hold 2 positive values") }
        let sh = shapes[x]!
        let p = try padding(n, a, kernel: k, strides: s, h: sh[1], w: sh[2])
        let group = try a.int("group", 1)
        let wn = addTensor("\(label(n)).weight", shape: w.dims, values: w.floats)
        var weights = [wn]
        if let b = try constant(n, 2, required: false) {
            guard b.isFloat, b.count == w.dims[0] else { throw fail(n, "bias '\(b.name)' has shape \(b.dims), expected [\(w.dims[0])]") }
            weights.append(addTensor("\(label(n)).bias", shape: [b.count], values: b.floats))
        }
        try emit(n, .conv, inputs: [x], out: n.output[0], rank: 4, weights: weights, attributes: [
            "strides": .ints(s.map(Int64.init)), "pads": .ints(p.map(Int64.init)), "group": .int(Int64(group))])
    }

    func batchNorm(_ n: Onnx_NodeProto) throws {
        let a = try attrs(n, ["epsilon", "momentum", "spatial", "training_mode", "is_test", "consumed_inputs"])
        _ = try a.require("training_mode", in: [0], default: 0)
        _ = try a.require("spatial", in: [1], default: 1)
        try onlyFirstOutput(n)
        let eps = Double(try a.float("epsilon", 1e-5))
        let x = try activation(n, 0)
        let p = try (1...4).map { try constant(n, $0)! }
        let c = shapes[x]![0]
        guard ranks[x]! >= 3, p.allSatisfy({ $0.count == c && $0.isFloat }) else {
            throw fail(n, "needs [N, C, ...] input and scale, bias, mean, variance of \(c) values each")
        }
        guard p[3].floats.allSatisfy({ Double($0) + eps > 0 }) else { throw fail(n, "variance + epsilon is not positive") }
        // y = (x - mean) * mul + B with mul = scale / sqrt(var + eps)
        let mul = (0..<c).map { Double(p[0].floats[$0]) / (Double(p[3].floats[$0]) + eps).squareRoot() }
        let add = (0..<c).map { Double(p[1].floats[$0]) - Double(p[2].floats[$0]) * mul[$0] }
        if let i = producer[x], nodes[i].op == .conv, singleUse(n.input[0]) {
            // Fold into the convolution: W'[k] = W[k] * mul[k], b'[k] = b[k] * mul[k] + add[k].
            let wn = nodes[i].weights[0], wt = tensors[tensorIndex[wn]!]
            let per = wt.count / c
            let w = tensorValues(wn).enumerated().map { Float(Double($0.element) * mul[$0.offset / per]) }
            setTensor(wn, shape: wt.shape, values: w)
            let b0 = nodes[i].weights.count > 1 ? tensorValues(nodes[i].weights[1]) : [Float](repeating: 0, count: c)
            let b = (0..<c).map { Float(Double(b0[$0]) * mul[$0] + add[$0]) }
            if nodes[i].weights.count > 1 { setTensor(nodes[i].weights[1], shape: [c], values: b) } else {
                nodes[i].weights.append(addTensor("\(nodes[i].name).bias", shape: [c], values: b))
            }
            same(n, x)
            return
        }
        // Standalone: a depthwise 1x1 convolution.
        guard ranks[x] == 4 else { throw fail(n, "a BatchNormalization not after a Conv needs [N, C, H, W] input") }
        let wn = addTensor("\(label(n)).weight", shape: [c, 1, 1, 1], values: mul.map { Float($0) })
        let bn = addTensor("\(label(n)).bias", shape: [c], values: add.map { Float($0) })
        try emit(n, .conv, inputs: [x], out: n.output[0], rank: 4, weights: [wn, bn], attributes: ["group": .int(Int64(c))])
    }

    func clip(_ n: Onnx_NodeProto) throws {
        let a = try attrs(n, ["min", "max"])
        let x = try activation(n, 0)
        var at = [String: AttributeValue]()
        if opset < 11 {
            if a.has("min") { at["min"] = .float(try a.float("min", 0)) }
            if a.has("max") { at["max"] = .float(try a.float("max", 0)) }
        } else {
            for (i, key) in [(1, "min"), (2, "max")] {
                guard let t = try constant(n, i, required: false) else { continue }
                guard t.count == 1, t.isFloat else { throw fail(n, "\(key) '\(t.name)' must be one float") }
                at[key] = .float(t.floats[0])
            }
        }
        try emit(n, .clip, inputs: [x], out: n.output[0], rank: ranks[x]!, attributes: at)
    }

    func prelu(_ n: Onnx_NodeProto) throws {
        _ = try attrs(n, [])
        let x = try activation(n, 0)
        let s = try constant(n, 1)!
        guard s.isFloat else { throw fail(n, "slope '\(s.name)' must be float") }
        let d = dims(x)
        guard var values = broadcast(s, to: d) else {
            throw fail(n, "slope '\(s.name)' of shape \(s.dims) does not broadcast to the input's per-sample shape \(d)")
        }
        // Store 1 value or one per channel when the broadcast slope is that regular.
        let inner = values.count / d[0]
        if s.count == 1 {
            values = [values[0]]
        } else if (0..<values.count).allSatisfy({ values[$0] == values[$0 - $0 % inner] }) {
            values = stride(from: 0, to: values.count, by: inner).map { values[$0] }
        }
        let t = addTensor("\(label(n)).slope", shape: [values.count], values: values)
        try emit(n, .prelu, inputs: [x], out: n.output[0], rank: ranks[x]!, weights: [t])
    }

    /// Expands `t` (numpy broadcasting, right-aligned; a leading batch axis of 1 allowed) to `shape`.
    func broadcast(_ t: ONNXTensor, to shape: [Int]) -> [Float]? {
        var sd = t.dims
        while sd.count > shape.count, sd.first == 1 { sd.removeFirst() }
        guard sd.count <= shape.count else { return nil }
        sd = [Int](repeating: 1, count: shape.count - sd.count) + sd
        guard zip(sd, shape).allSatisfy({ $0 == $1 || $0 == 1 }) else { return nil }
        let total = shape.reduce(1, *)
        var out = [Float](repeating: 0, count: total)
        for i in 0..<total {
            var rem = i, src = 0, step = 1
            for ax in (0..<shape.count).reversed() {
                let coord = rem % shape[ax]; rem /= shape[ax]
                if sd[ax] != 1 { src += coord * step }
                step *= sd[ax]
            }
            out[i] = t.floats[src]
        }
        return out
    }
}
