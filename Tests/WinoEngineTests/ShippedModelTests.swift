// The model shipped in Models/ against the independent numpy implementation that
// trained it (Models/fmnist/expected.json, float64 math on the same float32 weights).
import Foundation
import WinoEngine
import WinoFormat
import XCTest

final class ShippedModelTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Expected: Decodable {
        struct Sample: Decodable { var file: String; var label: Int; var predicted: Int; var probabilities: [Double] }
        var samples: [Sample]
    }

    func testSamplesMatchNumpyProbabilitiesAndLabels() throws {
        let model = try Model(contentsOf: root.appendingPathComponent("Models/fmnist/fmnist.swz").path)
        let data = try Data(contentsOf: root.appendingPathComponent("Models/fmnist/expected.json"))
        let expected = try JSONDecoder().decode(Expected.self, from: data)
        XCTAssertGreaterThanOrEqual(expected.samples.count, 9)
        for s in expected.samples {
            let image = try PPMDecoder.read(path: root.appendingPathComponent("Models/fmnist/samples/" + s.file).path)
            let input = try Preprocess.tensor(from: image, metadata: model.metadata)
            let probs = try model.predict(input)
            XCTAssertEqual(probs.count, 10)
            for (got, want) in zip(probs, s.probabilities) {
                XCTAssertEqual(Double(got), want, accuracy: 1e-4, s.file)
            }
            let top = try model.classify(image: image, top: 1)[0]
            XCTAssertEqual(top.index, s.label, "\(s.file): classified as \(top.label)")
            XCTAssertEqual(top.label, model.metadata.labels[s.label])
        }
    }

    func testShippedModelStoresSparseWinogradConvolutions() throws {
        let g = try SWZReader.read(path: root.appendingPathComponent("Models/fmnist/fmnist.swz").path)
        let convs = g.nodes.filter { $0.op == .winogradConv }
        XCTAssertEqual(convs.count, 2)
        for c in convs {
            let w = try XCTUnwrap(g.tensor(named: c.weights[0]))
            XCTAssertNotNil(w.winograd)
            guard case .csr(let m) = w.data else { return XCTFail("\(w.name) is not CSR") }
            XCTAssertLessThan(m.nnz, w.count, "\(w.name) has no zeros")
        }
        XCTAssertEqual(g.metadata.labels.count, 10)
        XCTAssertEqual(g.metadata.channelOrder, .gray)
    }
}
