// ONNX op handlers, continued: pooling, fully connected (Gemm, MatMul, bias
// Add), elementwise Add, Flatten/Reshape and Softmax.
import WinoFormat

extension GraphBuilder {
    func pool(_ n: Onnx_NodeProto) throws {
        let isMax = n.opType == "MaxPool"
        let a = try attrs(n, isMax ? ["kernel_shape", "strides", "pads", "auto_pad", "ceil_mode", "dilations", "storage_order"]
                                   : ["kernel_shape", "strides", "pads", "auto_pad", "ceil_mode", "count_include_pad", "dilations"])
        let x = try activation(n, 0)
        guard ranks[x] == 4 else { throw fail(n, "input must be [N, C, H, W] (only 2-D pooling is supported)") }
        try onlyFirstOutput(n)
        try ones(a, "dilations")
        _ = try a.require("storage_order", in: [0], default: 0)
        guard let k = try a.ints("kernel_shape"), k.count == 2, k.allSatisfy({ $0 >= 1 }) else {
            throw a.fail("kernel_shape", "is required and must hold 2 positive values")
        }
        let s = try a.ints("strides") ?? [1, 1]
        guard s.count == 2, s.allSatisfy({ $0 >= 1 }) else { throw a.fail("strides", "= \(s) must hold 2 positive values") }
        let sh = shapes[x]!
        let p = try padding(n, a, kernel: k, strides: s, h: sh[1], w: sh[2])
        let autoPad = try a.string("auto_pad", "NOTSET")
        var at: [String: AttributeValue] = ["kernel": .ints(k.map(Int64.init)), "strides": .ints(s.map(Int64.init)),
                                            "pads": .ints(p.map(Int64.init))]
        let ceil = try a.require("ceil_mode", in: [0, 1], default: 0)
        if ceil == 1 && !autoPad.hasPrefix("SAME") { at["ceil_mode"] = .int(1) }
        if !isMax {
            // SAME padding never counts the padding (onnxruntime and the ONNX reference agree).
            let cip = try a.require("count_include_pad", in: [0, 1], default: 0)
            if cip == 1 { at["count_include_pad"] = .int(1) }
        }
        try emit(n, isMax ? .maxPool : .avgPool, inputs: [x], out: n.output[0], rank: 4, attributes: at)
    }

    /// Number of input features of a flat (ONNX rank 2) activation.
    func features(_ n: Onnx_NodeProto, _ x: String) throws -> Int {
        guard ranks[x] == 2 else { throw fail(n, "input must be a 2-D [N, features] tensor (Flatten first)") }
        return shapes[x]!.reduce(1, *)
    }

    /// Emits a fully-connected node from W [out, in] and an optional bias.
    func fullyConnected(_ n: Onnx_NodeProto, _ x: String, w: [Float], out: Int, bias: [Double]?) throws {
        let f = w.count / out
        var weights = [addTensor("\(label(n)).weight", shape: [out, f], values: w)]
        if let b = bias { weights.append(addTensor("\(label(n)).bias", shape: [out], values: b.map { Float($0) })) }
        try emit(n, .fullyConnected, inputs: [x], out: n.output[0], rank: 2, weights: weights)
    }

    func gemm(_ n: Onnx_NodeProto) throws {
        let a = try attrs(n, ["alpha", "beta", "transA", "transB", "broadcast"])
        _ = try a.require("transA", in: [0], default: 0)
        let transB = try a.require("transB", in: [0, 1], default: 0) == 1
        let alpha = Double(try a.float("alpha", 1)), beta = Double(try a.float("beta", 1))
        let x = try activation(n, 0)
        let f = try features(n, x)
        let b = try constant(n, 1)!
        guard b.isFloat, b.dims.count == 2, b.count > 0 else { throw fail(n, "B '\(b.name)' must be a non-empty 2-D float initializer") }
        let (bin, bout) = transB ? (b.dims[1], b.dims[0]) : (b.dims[0], b.dims[1])
        guard bin == f else { throw fail(n, "B '\(b.name)' of shape \(b.dims) expects \(bin) input features, the input has \(f)") }
        var w = transB ? b.floats : transpose(b.floats, rows: f, cols: bout)
        if alpha != 1 { w = w.map { Float(alpha * Double($0)) } }
        var bias: [Double]? = nil
        if let c = try constant(n, 2, required: false) {
            guard c.isFloat, let v = vectorBias(c, count: bout) else {
                throw fail(n, "C '\(c.name)' of shape \(c.dims) must broadcast to [\(bout)] (a bias that varies per batch row is not supported)")
            }
            bias = v.map { beta * Double($0) }
        }
        try fullyConnected(n, x, w: w, out: bout, bias: bias)
    }

    /// `t` as `count` values when it is a scalar, [count], [1, count] (any leading ones) or [1...].
    func vectorBias(_ t: ONNXTensor, count: Int) -> [Float]? {
        if t.count == 1 { return [Float](repeating: t.floats[0], count: count) }
        guard t.count == count, t.dims.last == count else { return nil }
        return t.floats
    }

    /// The transpose of a row-major rows x cols matrix.
    func transpose(_ m: [Float], rows: Int, cols: Int) -> [Float] {
        var t = [Float](repeating: 0, count: m.count)
        m.withUnsafeBufferPointer { src in
            t.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows { for c in 0..<cols { dst[c * rows + r] = src[r * cols + c] } }
            }
        }
        return t
    }

    func matMul(_ n: Onnx_NodeProto) throws {
        _ = try attrs(n, [])
        let x = try activation(n, 0)
        let f = try features(n, x)
        let b = try constant(n, 1)!
        guard b.isFloat, b.dims.count == 2, b.dims[0] == f, b.dims[1] > 0 else {
            throw fail(n, "B '\(b.name)' has shape \(b.dims), expected a [\(f), out] float initializer")
        }
        let out = b.dims[1]
        try fullyConnected(n, x, w: transpose(b.floats, rows: f, cols: out), out: out, bias: nil)
    }

    func add(_ n: Onnx_NodeProto) throws {
        _ = try attrs(n, ["broadcast", "axis"])
        guard n.input.count == 2 else { throw fail(n, "needs 2 inputs") }
        let constIndex = (0..<2).first { consts[n.input[$0]] != nil }
        guard let ci = constIndex else {
            let x = try activation(n, 0), y = try activation(n, 1)
            guard shapes[x] == shapes[y], ranks[x] == ranks[y] else {
                throw fail(n, "inputs have shapes \(dims(x)) and \(dims(y)); broadcasting Add of two activations is not supported")
            }
            try emit(n, .add, inputs: [x, y], out: n.output[0], rank: ranks[x]!)
            return
        }
        // activation + constant: fold into the bias of the producing Conv / fully-connected node.
        let x = try activation(n, 1 - ci), c = consts[n.input[ci]]!
        guard let i = producer[x], [.conv, .fullyConnected].contains(nodes[i].op), singleUse(n.input[1 - ci]), c.isFloat else {
            throw fail(n, "adding constant '\(c.name)' is only supported as the bias of a directly preceding Conv, Gemm or MatMul")
        }
        let outCount = shapes[x]![0]
        let v: [Float]?
        if nodes[i].op == .fullyConnected {
            v = vectorBias(c, count: outCount)
        } else {
            v = c.count == 1 ? [Float](repeating: c.floats[0], count: outCount)
                : (c.count == outCount && c.dims.reversed().prefix(2) == [1, 1] ? c.floats : nil)
        }
        guard let add = v else {
            throw fail(n, "constant '\(c.name)' of shape \(c.dims) is not a per-channel bias for \(outCount) channels")
        }
        let old = nodes[i].weights.count > 1 ? tensorValues(nodes[i].weights[1]) : [Float](repeating: 0, count: outCount)
        let b = (0..<outCount).map { Float(Double(old[$0]) + Double(add[$0])) }
        if nodes[i].weights.count > 1 { setTensor(nodes[i].weights[1], shape: [outCount], values: b) } else {
            nodes[i].weights.append(addTensor("\(nodes[i].name).bias", shape: [outCount], values: b))
        }
        same(n, x)
    }

    func flatten(_ n: Onnx_NodeProto, _ x: String) throws {
        if ranks[x] == 2 { same(n, x); return }
        try emit(n, .flatten, inputs: [x], out: n.output[0], rank: 2)
    }

    func reshape(_ n: Onnx_NodeProto) throws {
        let a = try attrs(n, ["allowzero"])
        let allowZero = try a.require("allowzero", in: [0, 1], default: 0) == 1
        let x = try activation(n, 0)
        guard let t = try constant(n, 1), !t.ints.isEmpty || t.count == 0 else { throw fail(n, "shape must be a constant int64 tensor") }
        let target = t.ints.map { Int($0) }, d = dims(x), f = d.reduce(1, *)
        let batchOK = { (v: Int) in (v == 0 && !allowZero) || v == -1 || v == self.staticBatch }
        if target.count == d.count + 1, batchOK(target[0]),
           zip(target.dropFirst(), d).allSatisfy({ $0 == $1 || ($0 == 0 && !allowZero) }) {
            same(n, x)   // no change
            return
        }
        if target.count == 2, batchOK(target[0]), target[1] == f || (target[1] == -1 && target[0] != -1) {
            try flatten(n, x)
            return
        }
        throw fail(n, "reshape of per-sample shape \(d) to \(target) is not supported (only to [N, \(f)])")
    }

    func softmax(_ n: Onnx_NodeProto) throws {
        let a = try attrs(n, ["axis"])
        let x = try activation(n, 0)
        let r = ranks[x]!
        var axis = try a.int("axis", opset < 13 ? 1 : -1)
        if axis < 0 { axis += r }
        guard axis == 1 else { throw a.fail("axis", "= \(axis) is not supported (only the axis after the batch axis)") }
        if opset < 13 && r > 2 {
            // Before opset 13 Softmax works on the input flattened to [N, rest].
            var flat = n
            flat.output = [n.output[0] + ".flat"]
            flat.name = label(n) + ".flatten"
            try emit(flat, .flatten, inputs: [x], out: flat.output[0], rank: 2)
            try emit(n, .softmax, inputs: [flat.output[0]], out: n.output[0], rank: 2)
            return
        }
        try emit(n, .softmax, inputs: [x], out: n.output[0], rank: r)
    }
}
