// wino-convert verify MODEL.swz --onnx IN.onnx [--image X.ppm]: the .swz and
// onnxruntime (or, without it, the Double reference executor on the directly
// imported ONNX graph) on the same input; errors and top-1 agreement.
import ArgumentParser
import Foundation
import WinoConvert
import WinoEngine
import WinoFormat
import WinoReference

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare a .swz model with the ONNX model it came from, on an image or seeded random input.",
        discussion: "Exit status 1 when the relative error (max |a - b| / max |b|) exceeds --tolerance.")

    @Argument(help: "Model file (.swz).") var model: String
    @Option(help: "The ONNX model.") var onnx: String
    @Option(help: "Image (PPM/PGM) preprocessed with the .swz metadata; default: seeded random input in [-1, 1].") var image: String?
    @Option(help: "Batch of random samples.") var batch: Int = 1
    @Option(help: "Seed of the random input.") var seed: UInt64 = 1
    @Option(help: "Largest accepted relative error.") var tolerance: Double = 1e-4
    @Option(help: "Python interpreter with onnxruntime.") var python: String = "python3"
    @Flag(help: "Use the Double reference executor on the imported ONNX graph instead of onnxruntime.") var reference = false

    func validate() throws {
        guard (1...256).contains(batch) else { throw ValidationError("--batch must be within 1...256") }
        guard tolerance >= 0 else { throw ValidationError("--tolerance must not be negative") }
    }

    func run() throws {
        let net = try Model(contentsOf: model)
        var x: [Float]
        var n = batch
        if let path = image {
            x = try Preprocess.tensor(from: try PPMDecoder.read(path: path), metadata: net.metadata)
            n = 1
        } else {
            var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
            x = (0..<(net.inputShape.reduce(1, *) * n)).map { _ in
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
            }
        }
        let got = try net.predict(x, batch: n)
        var want: [Float]
        var source = "onnxruntime"
        do {
            if reference { throw ONNXRuntimeRunner.Failure.missing("--reference given") }
            want = try ONNXRuntimeRunner.run(onnx: onnx, input: x, perSample: net.inputShape, batch: n, python: python)
        } catch ONNXRuntimeRunner.Failure.missing(let why) {
            if !reference { FileHandle.standardError.write(Data("note: \(why); using the reference executor instead\n".utf8)) }
            let imported = try ONNXImporter.importModel(path: onnx, options: ImportOptions(inputSize: net.inputShape))
            want = try ReferenceExecutor(graph: imported.graph).run(x, batch: n).map { Float($0) }
            source = "reference executor"
        } catch ONNXRuntimeRunner.Failure.failed(let why) {
            throw ToolError(why)
        }
        guard want.count == got.count else {
            throw ToolError("\(source) returned \(want.count) values, the .swz model \(got.count) (output shapes differ)")
        }
        var maxAbs = 0.0, maxRef = 0.0
        for i in got.indices {
            maxAbs = max(maxAbs, abs(Double(got[i]) - Double(want[i])))
            maxRef = max(maxRef, abs(Double(want[i])))
        }
        let rel = maxRef > 0 ? maxAbs / maxRef : maxAbs
        let per = got.count / n
        var agree = 0
        for b in 0..<n {
            let a = got[(b * per)..<((b + 1) * per)], w = want[(b * per)..<((b + 1) * per)]
            if a.indices.max(by: { a[$0] < a[$1] }) == w.indices.max(by: { w[$0] < w[$1] }) { agree += 1 }
        }
        print("compared with \(source): output \(net.outputShape) x \(n)")
        print(String(format: "max abs error %.3e, max |reference| %.3e, relative error %.3e (tolerance %.1e)", maxAbs, maxRef, rel, tolerance))
        print("top-1 agreement: \(agree)/\(n)")
        guard rel <= tolerance else {
            throw ToolError(String(format: "relative error %.3e exceeds the tolerance %.1e", rel, tolerance))
        }
    }
}
