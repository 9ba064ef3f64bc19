// The natively pruned model shipped in Models/: its accuracy on the 10,000 Fashion-MNIST test
// images equals the documented figure, its Winograd layers are at least 90% sparse, and the
// engine's output on the sample images matches the Double reference executor.
import Foundation
import WinoEngine
import WinoFormat
import WinoReference
import XCTest

final class ShippedModelTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var path: String { root.appendingPathComponent("Models/fmnist/fmnist.swz").path }

    func testWinogradLayersAreNativelyPrunedToAtLeast90Percent() throws {
        let g = try SWZReader.read(path: path)
        let convs = g.nodes.filter { $0.op == .winogradConv }
        XCTAssertGreaterThanOrEqual(convs.count, 2)
        for c in convs {
            let w = try XCTUnwrap(g.tensor(named: c.weights[0]))
            XCTAssertNotNil(w.winograd)
            guard case .csr(let m) = w.data else { return XCTFail("\(w.name) is not CSR") }
            XCTAssertLessThanOrEqual(Double(m.nnz) / Double(w.count), 0.10, "\(w.name) is \(m.nnz) of \(w.count) nonzero")
        }
        XCTAssertEqual(g.metadata.labels.count, 10)
        XCTAssertEqual(g.metadata.channelOrder, .gray)
    }

    /// The samples: correct class, and the engine equals the Double reference executor.
    func testSamplesMatchReferenceAndLabels() throws {
        let g = try SWZReader.read(path: path)
        let model = try Model(graph: g)
        let reference = try ReferenceExecutor(graph: g)
        let files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Models/fmnist/samples").path).sorted()
        XCTAssertGreaterThanOrEqual(files.count, 9)
        for f in files {
            let image = try PPMDecoder.read(path: root.appendingPathComponent("Models/fmnist/samples/" + f).path)
            let input = try Preprocess.tensor(from: image, metadata: model.metadata)
            let got = try model.predict(input), want = try reference.run(input, batch: 1)
            for (a, b) in zip(got, want) { XCTAssertEqual(Double(a), b, accuracy: 1e-5, f) }
            let top = try model.classify(image: image, top: 1)[0]
            let expected = f.replacingOccurrences(of: "-ascii", with: "").replacingOccurrences(of: ".pgm", with: "")
            XCTAssertEqual(top.label.lowercased().replacingOccurrences(of: "/", with: "-").replacingOccurrences(of: " ", with: "-"), expected, f)
        }
    }

    /// Accuracy on all 10,000 test images equals the figure stored in the model and in Models/README.md.
    func testTestSetAccuracyEqualsDocumentedFigure() throws {
        #if DEBUG
        throw XCTSkip("10,000 images take minutes with unoptimised kernels; the release test run checks this")
        #else
        let dir = "/usr/share/datasets/fashion-mnist"
        guard FileManager.default.fileExists(atPath: dir) else { throw XCTSkip("Fashion-MNIST not installed (make deps)") }
        let g = try SWZReader.read(path: path)
        let documented = try XCTUnwrap(g.metadata.properties["test_accuracy"].flatMap(Double.init))
        let (images, labels) = try readTestSet(dir)
        let model = try Model(graph: g, options: .init(threads: 2))
        let meta = g.metadata
        var correct = 0
        for start in stride(from: 0, to: labels.count, by: 500) {
            let n = min(500, labels.count - start)
            let x = (start * 784..<(start + n) * 784).map { (Float(images[$0]) / 255 * meta.pixelRange - meta.mean[0]) * meta.scale[0] }
            let y = try model.predict(x, batch: n)
            for j in 0..<n {
                let row = y[(j * 10)..<(j * 10 + 10)]
                if row.firstIndex(of: row.max()!)! - j * 10 == Int(labels[start + j]) { correct += 1 }
            }
        }
        XCTAssertEqual(labels.count, 10000)
        XCTAssertEqual(Double(correct) / 10000, documented, accuracy: 0.00005)
        let readme = try String(contentsOf: root.appendingPathComponent("Models/README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains(String(format: "%.2f%%", documented * 100)), "Models/README.md should state \(documented * 100)%")
        #endif
    }

    /// The test split, read with gzip through the system tool (independent of wino-train's reader).
    func readTestSet(_ dir: String) throws -> ([UInt8], [UInt8]) {
        func gunzip(_ file: String) throws -> [UInt8] {
            let p = Process(), out = Pipe()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-dc", dir + "/" + file]
            p.standardOutput = out
            try p.run()
            let d = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return [UInt8](d)
        }
        let im = try gunzip("t10k-images-idx3-ubyte.gz"), lb = try gunzip("t10k-labels-idx1-ubyte.gz")
        return (Array(im[16...]), Array(lb[8...]))
    }
}
