// Typed access to ONNX node attributes; every attribute a node carries must be
// one the op handler knows, so that nothing is silently ignored.

/// The attributes of one ONNX node.
struct ONNXAttributes {
    let node: Onnx_NodeProto
    let label: String
    let byName: [String: Onnx_AttributeProto]

    /// Wraps `node`; fails on an attribute outside `allowed`.
    init(_ node: Onnx_NodeProto, label: String, allowed: Set<String>) throws {
        self.node = node
        self.label = label
        var m = [String: Onnx_AttributeProto]()
        for a in node.attribute {
            guard allowed.contains(a.name) else {
                throw ConvertError("node '\(label)' (\(node.opType)): attribute '\(a.name)' is not supported")
            }
            m[a.name] = a
        }
        byName = m
    }

    func fail(_ attr: String, _ what: String) -> ConvertError {
        ConvertError("node '\(label)' (\(node.opType)): attribute '\(attr)' \(what)")
    }

    func has(_ name: String) -> Bool { byName[name] != nil }

    func int(_ name: String, _ def: Int) throws -> Int {
        guard let a = byName[name] else { return def }
        guard a.type == .int || (a.type == .undefined && a.hasI) else { throw fail(name, "must be an int") }
        guard abs(a.i) <= 1 << 30 else { throw fail(name, "= \(a.i) is out of range") }
        return Int(a.i)
    }

    func ints(_ name: String) throws -> [Int]? {
        guard let a = byName[name] else { return nil }
        guard a.type == .ints || a.type == .undefined else { throw fail(name, "must be a list of ints") }
        guard a.ints.count <= 16, a.ints.allSatisfy({ abs($0) <= 1 << 30 }) else { throw fail(name, "= \(a.ints) is out of range") }
        return a.ints.map { Int($0) }
    }

    func float(_ name: String, _ def: Float) throws -> Float {
        guard let a = byName[name] else { return def }
        guard a.type == .float || (a.type == .undefined && a.hasF) else { throw fail(name, "must be a float") }
        guard a.f.isFinite else { throw fail(name, "= \(a.f) is not finite") }
        return a.f
    }

    func string(_ name: String, _ def: String) throws -> String {
        guard let a = byName[name] else { return def }
        guard a.type == .string || (a.type == .undefined && a.hasS) else { throw fail(name, "must be a string") }
        return String(decoding: a.s, as: UTF8.self)
    }

    /// Requires an int attribute to have one of `values` when present.
    func require(_ name: String, in values: Set<Int>, default def: Int) throws -> Int {
        let v = try int(name, def)
        guard values.contains(v) else { throw fail(name, "= \(v) is not supported (supported: \(values.sorted()))") }
        return v
    }
}
