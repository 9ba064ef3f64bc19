// Folds the converter performs, checked against the unfolded arithmetic:
// BatchNormalization into the preceding Conv, Add of a constant into the bias of
// MatMul, and command-line metadata.
import Foundation
@testable import WinoConvert
import WinoEngine
import WinoFormat
import XCTest

func floatTensor(_ name: String, _ dims: [Int64], _ values: [Float]) -> Onnx_TensorProto {
    var t = Onnx_TensorProto()
    t.name = name; t.dims = dims; t.dataType = 1; t.floatData = values
    return t
}

func onnxNode(_ name: String, _ op: String, _ inputs: [String], _ outputs: [String], ints: [String: [Int64]] = [:]) -> Onnx_NodeProto {
    var n = Onnx_NodeProto()
    n.name = name; n.opType = op; n.input = inputs; n.output = outputs
    n.attribute = ints.sorted { $0.key < $1.key }.map { var a = Onnx_AttributeProto(); a.name = $0.key; a.type = .ints; a.ints = $0.value; return a }
    return n
}

/// A graph input or output: a float tensor of `dims`, or untyped when `dims` is nil.
func onnxValueInfo(_ name: String, _ dims: [Int64]?) -> Onnx_ValueInfoProto {
    var v = Onnx_ValueInfoProto()
    v.name = name
    if let dims = dims {
        var t = Onnx_TypeProto.Tensor()
        t.elemType = 1
        t.shape.dim = dims.map { var d = Onnx_TensorShapeProto.Dimension(); d.dimValue = $0; return d }
        v.type.tensorType = t
    }
    return v
}

/// An IR 8 model of `graph` importing the default domain at `opset`.
func onnxModelProto(_ graph: Onnx_GraphProto, opset: Int64) -> Onnx_ModelProto {
    var m = Onnx_ModelProto()
    m.irVersion = 8
    var op = Onnx_OperatorSetIdProto()
    op.version = opset
    m.opsetImport = [op]
    m.graph = graph
    return m
}

func onnxModel(_ nodes: [Onnx_NodeProto], _ inits: [Onnx_TensorProto], input: [Int64], output: String, opset: Int64 = 13) -> [UInt8] {
    var g = Onnx_GraphProto()
    g.name = "folding"; g.node = nodes; g.initializer = inits
    g.input = [onnxValueInfo("x", input)]; g.output = [onnxValueInfo(output, nil)]
    return try! onnxModelProto(g, opset: opset).serializedBytes()
}

final class FoldingTests: XCTestCase {
    func testBatchNormFoldsIntoConv() throws {
        let (k, c) = (4, 3)
        let w = (0..<(k * c * 9)).map { Float(sin(Double($0))) }
        let b = (0..<k).map { Float($0) * 0.1 - 0.2 }
        let scale: [Float] = [1.5, -0.5, 2, 0.25], bias: [Float] = [0.1, 0.2, -0.3, 0.4]
        let mean: [Float] = [0.3, -0.1, 0.2, 0], variance: [Float] = [0.5, 2, 1, 0.1]
        let conv = onnxNode("conv", "Conv", ["x", "W", "B"], ["c"], ints: ["pads": [1, 1, 1, 1]])
        let inits = [floatTensor("W", [Int64(k), Int64(c), 3, 3], w), floatTensor("B", [Int64(k)], b)]
        let plain = try ONNXImporter.importModel(bytes: onnxModel([conv], inits, input: [2, 3, 6, 7], output: "c"))
        let bn = onnxNode("bn", "BatchNormalization", ["c", "s", "bb", "m", "v"], ["y"])
        let folded = try ONNXImporter.importModel(bytes: onnxModel([conv, bn], inits + [
            floatTensor("s", [4], scale), floatTensor("bb", [4], bias), floatTensor("m", [4], mean), floatTensor("v", [4], variance)],
            input: [2, 3, 6, 7], output: "y"))
        XCTAssertEqual(folded.graph.nodes.map { $0.op }, [.conv], "BatchNormalization was not folded")
        let x = (0..<(2 * 3 * 6 * 7)).map { Float(cos(Double($0) * 0.7)) }
        let y0 = try Model(graph: plain.graph).predict(x, batch: 2)
        let y1 = try Model(graph: folded.graph).predict(x, batch: 2)
        let want = y0.indices.map { i -> Float in
            let ch = (i / 42) % k
            return (y0[i] - mean[ch]) / (variance[ch] + 1e-5).squareRoot() * scale[ch] + bias[ch]
        }
        XCTAssertLessThanOrEqual(relativeError(y1, want), 1e-5)
    }

    func testMatMulPlusAddBecomesFullyConnectedWithBias() throws {
        let (f, o) = (5, 3)
        let bm = (0..<(f * o)).map { Float($0 % 7) - 3 }, add: [Float] = [1, -2, 0.5]
        let nodes = [onnxNode("mm", "MatMul", ["x", "B"], ["p"]), onnxNode("add", "Add", ["p", "bias"], ["y"])]
        let imp = try ONNXImporter.importModel(bytes: onnxModel(nodes, [floatTensor("B", [Int64(f), Int64(o)], bm),
                                                                       floatTensor("bias", [1, Int64(o)], add)],
                                                              input: [2, Int64(f)], output: "y"))
        XCTAssertEqual(imp.graph.nodes.map { $0.op }, [.fullyConnected])
        let x: [Float] = [1, 2, 3, 4, 5, -1, 0, 1, 0, 2]
        let got = try Model(graph: imp.graph).predict(x, batch: 2)
        var want = [Float]()
        for r in 0..<2 { for j in 0..<o { want.append(add[j] + (0..<f).reduce(Float(0)) { $0 + x[r * f + $1] * bm[$1 * o + j] }) } }
        XCTAssertEqual(got, want)
    }

    func testMetadataFlags() throws {
        let base = ModelMetadata(name: "m", inputShape: [3, 8, 8], channelOrder: .tensor)
        var o = MetadataOptions()
        o.mean = [0.5]
        o.scale = [1, 2, 3]
        o.channelOrder = .bgr
        o.pixelRange = 255
        let m = try Converter.makeMetadata(base: base, options: o)
        XCTAssertEqual(m.mean, [0.5, 0.5, 0.5])
        XCTAssertEqual(m.scale, [1, 2, 3])
        XCTAssertEqual(m.channelOrder, .bgr)
        XCTAssertEqual(m.pixelRange, 255)
        XCTAssertEqual(try Converter.makeMetadata(base: base, options: MetadataOptions()).channelOrder, .rgb)
        o.mean = [1, 2]
        XCTAssertThrowsError(try Converter.makeMetadata(base: base, options: o)) { XCTAssertTrue("\($0)".contains("--mean")) }
    }

    func testSoftmaxBeforeOpset13CoversTheWholeSample() throws {
        // Opset < 13: Softmax(axis 1) of [N, C, H, W] normalises over C*H*W; from 13 over C only.
        let x = (0..<(2 * 2 * 3 * 3)).map { Float($0 % 5) * 0.3 }
        for opset: Int64 in [11, 13] {
            var sm = onnxNode("sm", "Softmax", ["x"], ["y"])
            var axis = Onnx_AttributeProto()
            axis.name = "axis"; axis.type = .int; axis.i = 1
            sm.attribute = [axis]
            let imp = try ONNXImporter.importModel(bytes: onnxModel([sm], [],
                                                                   input: [2, 2, 3, 3], output: "y", opset: opset))
            let y = try Model(graph: imp.graph).predict(x, batch: 2)
            if opset == 11 {
                XCTAssertEqual(y[0..<18].reduce(0, +), 1, accuracy: 1e-5)
                XCTAssertEqual(y[18...].reduce(0, +), 1, accuracy: 1e-5)
            } else {
                XCTAssertEqual(y[0] + y[9], 1, accuracy: 1e-5)   // channels 0 and 1 at position 0
            }
        }
    }
}
