// Hostile and unsupported ONNX input: every case is a ConvertError naming what
// and where, never a crash.
import Foundation
@testable import WinoConvert
import XCTest

final class MalformedTests: XCTestCase {
    /// x [1, 1, 5, 5] -> Conv(W [2, 1, 3, 3], pads 1) -> Relu -> y.
    func tinyModel(opset: Int64 = 13) -> Onnx_ModelProto {
        var w = Onnx_TensorProto()
        w.name = "W"
        w.dims = [2, 1, 3, 3]
        w.dataType = 1
        w.floatData = (0..<18).map { Float($0) / 18 - 0.5 }
        var conv = Onnx_NodeProto()
        conv.name = "conv"; conv.opType = "Conv"; conv.input = ["x", "W"]; conv.output = ["c"]
        var pads = Onnx_AttributeProto()
        pads.name = "pads"; pads.type = .ints; pads.ints = [1, 1, 1, 1]
        conv.attribute = [pads]
        var relu = Onnx_NodeProto()
        relu.name = "relu"; relu.opType = "Relu"; relu.input = ["c"]; relu.output = ["y"]
        var g = Onnx_GraphProto()
        g.name = "tiny"
        g.node = [conv, relu]
        g.initializer = [w]
        g.input = [onnxValueInfo("x", [1, 1, 5, 5])]
        g.output = [onnxValueInfo("y", [1, 2, 5, 5])]
        return onnxModelProto(g, opset: opset)
    }

    func expectError(_ m: Onnx_ModelProto, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try expectError(try m.serializedBytes(), fragments, file: file, line: line)
    }

    func expectError(_ bytes: [UInt8], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertThrowsError(try ONNXImporter.importModel(bytes: bytes), file: file, line: line) { e in
            XCTAssertTrue(e is ConvertError, "\(e)", file: file, line: line)
            for f in fragments { XCTAssertTrue("\(e)".contains(f), "'\(e)' does not mention \(f)", file: file, line: line) }
        }
    }

    func testTinyModelImports() throws {
        let imp = try ONNXImporter.importModel(bytes: try tinyModel().serializedBytes())
        XCTAssertEqual(imp.graph.nodes.map { $0.op }, [.conv, .relu])
        XCTAssertEqual(imp.graph.metadata.inputShape, [1, 5, 5])
    }

    /// Files that are not ONNX files by their kind: each named, nothing read. A device such as
    /// /dev/zero used to be read to the end (it has none) before the size check.
    func testPathsThatAreNotRegularFiles() throws {
        let dir = NSTemporaryDirectory()
        let cases: [(String, String)] = [
            ("/nonexistent/m.onnx", "cannot read '/nonexistent/m.onnx': No such file or directory"),
            (dir, "is a directory, not an ONNX file"),
            ("/dev/zero", "'/dev/zero' is not a regular file (a device, pipe or socket), not an ONNX file"),
        ]
        for (path, fragment) in cases {
            XCTAssertThrowsError(try ONNXImporter.importModel(path: path)) { e in
                XCTAssertTrue("\(e)".contains(fragment), "'\(e)' lacks '\(fragment)'")
            }
        }
        let empty = dir + "wino-empty-\(getpid()).onnx"
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertThrowsError(try ONNXImporter.importModel(path: empty)) { e in
            XCTAssertTrue("\(e)".contains("is empty, not an ONNX file"), "\(e)")
        }
    }

    /// An attribute the engine's shape rules reject names its node once (the importer added the
    /// node's name to the validator's message, which already had it).
    func testShapeRuleErrorNamesTheNodeOnce() throws {
        var m = tinyModel()
        var group = Onnx_AttributeProto()
        group.name = "group"; group.type = .int; group.i = 0
        m.graph.node[0].attribute.append(group)
        XCTAssertThrowsError(try ONNXImporter.importModel(bytes: try m.serializedBytes())) { e in
            let message = "\(e)"
            XCTAssertEqual(message.components(separatedBy: "node 'conv'").count, 2, message)
            XCTAssertTrue(message.contains("group"), message)
        }
    }

    /// An input size must give every per-sample dimension, no more (extra values were ignored).
    func testInputSizeMustMatchTheInputRank() throws {
        let bytes: [UInt8] = try tinyModel().serializedBytes()
        XCTAssertNoThrow(try ONNXImporter.importModel(bytes: bytes, options: ImportOptions(inputSize: [1, 5, 5])))
        for wrong in [[1, 5, 5, 9], [1, 5]] {
            XCTAssertThrowsError(try ONNXImporter.importModel(bytes: bytes, options: ImportOptions(inputSize: wrong))) { e in
                XCTAssertTrue("\(e)".contains("has \(wrong.count) values; the ONNX input 'x' has 3 per-sample dimensions"), "\(e)")
            }
        }
    }

    func testTruncatedProtobuf() throws {
        let bytes: [UInt8] = try tinyModel().serializedBytes()
        for cut in [1, bytes.count / 3, bytes.count / 2, bytes.count - 1] {
            try expectError(Array(bytes.prefix(cut)), [])
        }
        try expectError([0xFF, 0xFF, 0xFF, 0xFF, 0xFF], ["ONNX"])
        try expectError([], ["no graph"])
    }

    func testMissingInitializer() throws {
        var m = tinyModel()
        m.graph.initializer = []
        try expectError(m, ["'conv'", "'W'", "missing initializer"])
    }

    func testCycle() throws {
        var m = tinyModel()
        m.graph.node[0].input = ["x", "W"]
        var a = Onnx_NodeProto(); a.name = "a"; a.opType = "Relu"; a.input = ["q"]; a.output = ["p"]
        var b = Onnx_NodeProto(); b.name = "b"; b.opType = "Relu"; b.input = ["p"]; b.output = ["q"]
        m.graph.node[1].input = ["q"]
        m.graph.node += [a, b]
        try expectError(m, ["cycle"])
    }

    func testWrongWeightShape() throws {
        var m = tinyModel()
        m.graph.initializer[0].dims = [2, 1, 3, 4]
        try expectError(m, ["'W'", "24 elements", "18"])
        m = tinyModel()
        m.graph.initializer[0].dims = [2, 2, 3, 3]
        m.graph.initializer[0].floatData = [Float](repeating: 0.1, count: 36)
        try expectError(m, ["'conv'", "input channels"])
    }

    func testHugeDeclaredDims() throws {
        var m = tinyModel()
        m.graph.initializer[0].dims = [1 << 40, 1 << 40, 3, 3]
        try expectError(m, ["'W'", "declares dimension"])
        m.graph.initializer[0].dims = [1 << 20, 1 << 20, 1 << 10, 1]
        try expectError(m, ["'W'", "2^31"])
        m.graph.initializer[0].dims = [-2, 1, 3, 3]
        try expectError(m, ["'W'", "dimension -2"])
        m = tinyModel()
        m.graph.input[0].type.tensorType.shape.dim[2].dimValue = 1 << 40
        try expectError(m, ["'x'", "out of range"])
    }

    func testUnsupportedOpAndAttribute() throws {
        var m = tinyModel()
        m.graph.node[1].opType = "Tanh"
        try expectError(m, ["'relu'", "'Tanh'", "not supported"])
        m = tinyModel()
        var dil = Onnx_AttributeProto()
        dil.name = "dilations"; dil.type = .ints; dil.ints = [2, 2]
        m.graph.node[0].attribute.append(dil)
        try expectError(m, ["'conv'", "Conv", "'dilations'"])
        m = tinyModel()
        var odd = Onnx_AttributeProto()
        odd.name = "frobnicate"; odd.type = .int; odd.i = 1
        m.graph.node[1].attribute.append(odd)
        try expectError(m, ["'relu'", "'frobnicate'"])
        try expectError(tinyModel(opset: 22), ["opset 22"])
    }

    func testExternalDataRefused() throws {
        var m = tinyModel()
        m.graph.initializer[0].floatData = []
        m.graph.initializer[0].dataLocation = .external
        var loc = Onnx_StringStringEntryProto()
        loc.key = "location"; loc.value = "../../etc/passwd"
        m.graph.initializer[0].externalData = [loc]
        try expectError(m, ["'W'", "external"])
    }

    func testEmptyShapesAndInputs() throws {
        // A zero-sized Gemm weight and a Concat without inputs are errors, not crashes.
        var m = tinyModel()
        var flat = Onnx_NodeProto(); flat.name = "flat"; flat.opType = "Flatten"; flat.input = ["y"]; flat.output = ["f"]
        var gemm = Onnx_NodeProto(); gemm.name = "fc"; gemm.opType = "Gemm"; gemm.input = ["f", "B"]; gemm.output = ["z"]
        var b = Onnx_TensorProto(); b.name = "B"; b.dims = [50, 0]; b.dataType = 1
        m.graph.node += [flat, gemm]
        m.graph.initializer.append(b)
        m.graph.output[0].name = "z"
        try expectError(m, ["'fc'", "'B'"])
        m = tinyModel()
        var cat = Onnx_NodeProto(); cat.name = "cat"; cat.opType = "Concat"; cat.output = ["z"]
        m.graph.node.append(cat)
        m.graph.output[0].name = "z"
        try expectError(m, ["'cat'", "no inputs"])
    }
}
