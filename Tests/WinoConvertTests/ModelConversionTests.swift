// Whole models against onnxruntime outputs precomputed by fixture scripts:
// AlexNet with seeded random weights at density 1.0, and the real MNIST CNN of
// pip digit-recognizer-py on real handwritten digits; pruning on both.
import Foundation
@testable import WinoConvert
import WinoEngine
import WinoFormat
import WinoReference
import XCTest

final class ModelConversionTests: XCTestCase {
    func testAlexNetDensityOneMatchesONNXRuntime() throws {
        let onnx = try fixture("alexnet/alexnet.onnx", script: "alexnet.py")
        _ = try fixture("alexnet/output.f32", script: "alexnet.py")
        let dir = (onnx as NSString).deletingLastPathComponent
        let (g, reports, _) = try Converter.convert(onnx: onnx)
        XCTAssertEqual(reports.map { $0.winograd }, [nil, .f4x4_5x5, .f4x4_3x3, .f4x4_3x3, .f4x4_3x3, nil, nil, nil])
        XCTAssertTrue(reports.allSatisfy { $0.density == 1 })
        let model = try Model(graph: g)
        let got = try model.predict(try readFloats("\(dir)/input.f32"))
        let want = try readFloats("\(dir)/output.f32")
        XCTAssertLessThanOrEqual(relativeError(got, want), 1e-4)
        XCTAssertEqual(argmaxRows(got, rows: 1), argmaxRows(want, rows: 1))
        // The .swz round trip keeps the graph.
        XCTAssertEqual(try SWZReader.decode(try SWZWriter.encode(g, compress: false)), g)
    }

    func mnist() throws -> (onnx: String, x: [Float], want: [Float], labels: [Int]) {
        let onnx = try fixture("mnist/mnist.onnx", script: "mnist.py")
        let dir = (try fixture("mnist/output.f32", script: "mnist.py") as NSString).deletingLastPathComponent
        let labels = try String(contentsOfFile: "\(dir)/labels.txt", encoding: .utf8).split(separator: "\n").map { Int($0)! }
        return (onnx, try readFloats("\(dir)/digits.f32"), try readFloats("\(dir)/output.f32"), labels)
    }

    func testMNISTClassifiesLikeONNXRuntime() throws {
        let m = try mnist()
        let n = m.labels.count
        for tile in [WinogradVariant.f4x4_3x3, .f2x2_3x3] {
            var enc = EncodeOptions()
            enc.tile3x3 = tile
            var meta = MetadataOptions()
            meta.mean = [0.1307]; meta.scale = [1 / 0.3081]
            meta.labels = (0...9).map(String.init)
            let (g, reports, _) = try Converter.convert(onnx: m.onnx, metadata: meta, encode: enc)
            XCTAssertEqual(reports.filter { $0.winograd == tile }.count, 3)
            XCTAssertEqual(g.metadata.inputShape, [1, 28, 28])
            XCTAssertEqual(g.metadata.channelOrder, .gray)
            let got = try Model(graph: g).predict(m.x, batch: n)
            XCTAssertLessThanOrEqual(relativeError(got, m.want), 1e-4, "\(tile)")
            XCTAssertEqual(argmaxRows(got, rows: n), argmaxRows(m.want, rows: n), "\(tile)")
        }
    }

    func testPruningHitsTheRequestedDensity() throws {
        let m = try mnist()
        let n = m.labels.count
        var enc = EncodeOptions()
        enc.sparsity = 0.6
        enc.fcSparsity = 0.5
        enc.layerSparsity = ["conv1": 0.25]
        let (g, reports, _) = try Converter.convert(onnx: m.onnx, encode: enc)
        let byName = Dictionary(uniqueKeysWithValues: reports.map { ($0.name, $0) })
        XCTAssertEqual(byName["conv1"]!.density, 0.75, accuracy: 1e-3)
        XCTAssertEqual(byName["conv2"]!.density, 0.4, accuracy: 1e-3)
        XCTAssertEqual(byName["conv3"]!.density, 0.4, accuracy: 1e-3)
        XCTAssertEqual(byName["fc1"]!.density, 0.5, accuracy: 1e-3)
        for t in g.tensors where t.name.hasSuffix(".weight") {
            guard case .csr = t.data else { return XCTFail("\(t.name) is not stored CSR") }
        }
        // The pruned (CSR) model computes what its weights say: engine = Double reference.
        let got = try Model(graph: g).predict(m.x, batch: n)
        let ref = try ReferenceExecutor(graph: g).run(m.x, batch: n).map { Float($0) }
        XCTAssertLessThanOrEqual(relativeError(got, ref), 1e-4)
        XCTAssertGreaterThan(relativeError(got, m.want), 1e-3, "pruning changed nothing")
        // Lightly pruned (Winograd-domain pruning without retraining is destructive), it
        // still classifies like the dense model.
        enc = EncodeOptions()
        enc.sparsity = 0.1
        enc.fcSparsity = 0.3
        let (light, _, _) = try Converter.convert(onnx: m.onnx, encode: enc)
        let lg = try Model(graph: light).predict(m.x, batch: n)
        let same = zip(argmaxRows(lg, rows: n), argmaxRows(m.want, rows: n)).filter { $0 == $1 }.count
        XCTAssertGreaterThanOrEqual(same, n * 3 / 4)

        // Position normalisation and thresholds change which weights survive.
        enc = EncodeOptions()
        enc.sparsity = 0.6
        enc.normalizePositions = true
        let (g2, _, _) = try Converter.convert(onnx: m.onnx, encode: enc)
        XCTAssertNotEqual(g2.tensor(named: "conv2.weight"), g.tensor(named: "conv2.weight"))
        enc = EncodeOptions()
        enc.threshold = 1e9
        let (_, r3, _) = try Converter.convert(onnx: m.onnx, encode: enc)
        XCTAssertTrue(r3.filter { $0.winograd != nil }.allSatisfy { $0.nnz == 0 })
        enc.layerSparsity = ["nope": 0.5]
        XCTAssertThrowsError(try Converter.convert(onnx: m.onnx, encode: enc)) { XCTAssertTrue("\($0)".contains("'nope'")) }
    }

    func testPositionNormsMatchTheTransform() {
        // F(2x2,3x3): A^T = [1,1,1,0; 0,1,-1,-1] -> column norms 1, sqrt 2, sqrt 2, 1.
        let n = WinogradEncoder.positionNorms(.f2x2_3x3)
        XCTAssertEqual(n[0], 1, accuracy: 1e-12)
        XCTAssertEqual(n[1 * 4 + 1], 2, accuracy: 1e-12)
        XCTAssertEqual(n[1 * 4 + 3], 2.0.squareRoot(), accuracy: 1e-12)
    }
}
