// The path of a user with a pretrained dense model: ONNX -> wino-convert (direct convolutions)
// -> wino-train --init with --winograd auto. The imported network computes what onnxruntime does.
import Foundation
@testable import WinoConvert
import WinoEngine
import WinoFormat
@testable import WinoTrain
import XCTest

final class TrainFromConvertedTests: XCTestCase {
    func testConvertedMNISTImportsForTrainingFaithfully() throws {
        let onnx = try fixture("mnist/mnist.onnx", script: "mnist.py")
        let dir = (try fixture("mnist/output.f32", script: "mnist.py") as NSString).deletingLastPathComponent
        let x = try readFloats("\(dir)/digits.f32"), want = try readFloats("\(dir)/output.f32")
        let n = x.count / 784
        var enc = EncodeOptions()
        enc.winograd = false
        let (g, _, _) = try Converter.convert(onnx: onnx, encode: enc)
        for (winograd, tile) in [("none", "f4"), ("auto", "f2"), ("auto", "f4")] {
            let t = try Trainer(model: g, winograd: winograd, tile: tile, threads: 1)
            XCTAssertEqual(t.layerSummary.map { $0.winogradSparsity != nil }, winograd == "auto"
                           ? [false, true, true, false, false] : [false, false, false, false, false])
            let got = t.net.forward(x, batch: n, training: false, Compute(pool: nil))
            XCTAssertLessThanOrEqual(relativeError(got, want), 1e-4, "\(winograd) \(tile)")
            XCTAssertEqual(argmaxRows(got, rows: n), argmaxRows(want, rows: n))
            // and the exported model (softmax added) runs in the engine
            let probs = try Model(graph: t.export()).predict(x, batch: n)
            XCTAssertEqual(argmaxRows(probs, rows: n), argmaxRows(want, rows: n))
        }
    }
}

final class HalfPrecisionConversionTests: XCTestCase {
    /// --f16 stores conv and FC weights as binary16: the file shrinks and the MNIST CNN still
    /// classifies the real digits as onnxruntime does, within f16 rounding of the weights.
    func testF16WeightsKeepMNISTPredictions() throws {
        let onnx = try fixture("mnist/mnist.onnx", script: "mnist.py")
        let dir = (try fixture("mnist/output.f32", script: "mnist.py") as NSString).deletingLastPathComponent
        let x = try readFloats("\(dir)/digits.f32")
        let n = x.count / 784
        var enc = EncodeOptions()
        enc.sparsity = 0.5; enc.fcSparsity = 0.5
        let (full, _, _) = try Converter.convert(onnx: onnx, encode: enc)
        enc.halfPrecisionWeights = true
        let (half, _, _) = try Converter.convert(onnx: onnx, encode: enc)
        for t in half.tensors { XCTAssertEqual(t.storage, t.shape.count > 1 ? .f16 : .f32, t.name) }
        let a = try SWZWriter.encode(full), b = try SWZWriter.encode(half)
        XCTAssertLessThan(Double(b.count), 0.75 * Double(a.count), "f16 file \(b.count) vs f32 \(a.count) bytes")
        XCTAssertEqual(try SWZReader.decode(b), half)
        let gotFull = try Model(graph: full).predict(x, batch: n), gotHalf = try Model(graph: half).predict(x, batch: n)
        XCTAssertLessThanOrEqual(relativeError(gotHalf, gotFull), 2e-3)
        XCTAssertEqual(argmaxRows(gotHalf, rows: n), argmaxRows(gotFull, rows: n))
    }
}
