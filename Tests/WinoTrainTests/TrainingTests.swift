// Training end to end on real Fashion-MNIST: the loss falls, exported models run identically in the
// engine, checkpoints resume to the same bits, native pruning reaches its target.
import Foundation
import WinoEngine
import WinoFormat
import XCTest
@testable import WinoTrain

let fashionDir = "/usr/share/datasets/fashion-mnist"

final class TrainingTests: XCTestCase {
    static var data: (train: Dataset, test: Dataset)?

    func splits() throws -> (train: Dataset, test: Dataset) {
        if let d = Self.data { return d }
        guard FileManager.default.fileExists(atPath: fashionDir) else {
            throw XCTSkip("Fashion-MNIST not installed (make deps installs dataset-fashion-mnist)")
        }
        let d = try IDX.loadSplits(dir: fashionDir)
        XCTAssertEqual(d.train.count, 60000); XCTAssertEqual(d.test.count, 10000)
        Self.data = (d.train.prefix(2048), d.test.prefix(500))
        return Self.data!
    }

    func meta() -> ModelMetadata {
        ModelMetadata(name: "t", inputShape: [1, 28, 28], channelOrder: .gray, pixelRange: 1, mean: [0.2860], scale: [1 / 0.3530])
    }

    /// A few hundred steps of a small network: the loss of the last steps is far below the first.
    func testSmokeTrainingLossFalls() throws {
        let (train, test) = try splits()
        let t = try Trainer(architecture: "conv4,pool,wconv8f2,pool,fc10", metadata: meta(), seed: 1, threads: 2)
        var config = TrainConfig()
        config.epochs = 10; config.batchSize = 16; config.maxSteps = 300; config.learningRate = 0.02
        var losses = [Double]()
        try t.fit(train: train, test: nil, config: config, progress: { p in if p.testAccuracy == nil { losses.append(p.loss) } })
        XCTAssertEqual(losses.count, 300)
        // progress reports the running mean of the epoch; compare the first step with the last epoch's mean
        XCTAssertLessThan(losses.last!, 0.7 * losses.first!, "loss \(losses.first!) -> \(losses.last!)")
        XCTAssertGreaterThan(t.accuracy(test), 0.5)
    }

    /// The exported model, run by the engine, gives the trainer's own outputs (dense and CSR weights).
    func testExportedModelMatchesTrainerForward() throws {
        let t = try Trainer(architecture: "conv4,pool,wconv6f4,wconv5,pool,fc12,fc10", metadata: meta(), seed: 2, threads: 1)
        for l in t.net.layers { if let w = l as? WinogradConvTrain<Float> { OneShotPruning.magnitude(&w.weight.value, density: 0.3) } }
        let g = t.export()
        XCTAssertTrue(g.tensors.contains { if case .csr = $0.data { return $0.winograd != nil }; return false })
        let m = try Model(graph: g)
        var rng = SplitMix64(seed: 4)
        let x = (0..<(3 * 784)).map { _ in Float.random(in: -1...1, using: &rng) }
        let logits = t.net.forward(x, batch: 3, training: false, Compute(pool: nil))
        let probs = try m.predict(x, batch: 3)
        for b in 0..<3 {
            let row = logits[(b * 10)..<(b * 10 + 10)].map { Double($0) }
            let mx = row.max()!
            let e = row.map { Foundation.exp($0 - mx) }, s = e.reduce(0, +)
            for j in 0..<10 { XCTAssertEqual(Double(probs[b * 10 + j]), e[j] / s, accuracy: 1e-5) }
        }
        // and the model file round trip keeps it
        let path = NSTemporaryDirectory() + "wino-export-\(getpid()).swz"
        try SWZWriter.write(g, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try Model(contentsOf: path).predict(x, batch: 3), probs)
    }

    /// Two epochs in one go equal one epoch, a checkpoint, and a resumed second epoch, bit for bit.
    func testCheckpointResumeIsExact() throws {
        let (train, _) = try splits()
        let small = train.prefix(256)
        var config = TrainConfig()
        config.epochs = 2; config.batchSize = 32; config.targetSparsity = 0.5; config.pruneEpochs = 1
        let dir = NSTemporaryDirectory() + "wino-ckpt-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try Trainer(architecture: "conv4,pool,wconv6f2,pool,fc10", metadata: meta(), seed: 3, threads: 2)
        try a.fit(train: small, test: nil, config: config, progress: { _ in })
        let b = try Trainer(architecture: "conv4,pool,wconv6f2,pool,fc10", metadata: meta(), seed: 3, threads: 1)
        struct Interrupted: Error {}
        XCTAssertThrowsError(try b.fit(train: small, test: nil, config: config, progress: { _ in }, endOfEpoch: { _ in
            try b.saveCheckpoint(dir)
            throw Interrupted()  // the run dies after its first checkpoint
        }))
        let c = try Trainer.resume(dir, threads: 2)
        XCTAssertEqual(c.epochsDone, 1)
        try c.fit(train: small, test: nil, config: config, progress: { _ in })
        XCTAssertTrue(a.net.params.flatMap(\.value).map(\.bitPattern) == c.net.params.flatMap(\.value).map(\.bitPattern),
                      "resumed training differs from uninterrupted training")
        XCTAssertGreaterThanOrEqual(c.layerSummary.compactMap(\.winogradSparsity).min()!, 0.5 - 0.01)
    }

    /// Native pruning reaches the target in every Winograd layer and keeps it while fine-tuning.
    func testNativePruningReachesTarget() throws {
        let (train, _) = try splits()
        let t = try Trainer(architecture: "conv4,pool,wconv8f2,wconv8f2,pool,fc10", metadata: meta(), seed: 5, threads: 2)
        var config = TrainConfig()
        config.epochs = 2; config.batchSize = 32; config.targetSparsity = 0.9; config.pruneEpochs = 1; config.learningRate = 0.01
        config.layerSparsity = ["wconv2": 0.95]
        var phases = Set<String>()
        try t.fit(train: train.prefix(512), test: nil, config: config, progress: { phases.insert($0.phase) })
        XCTAssertEqual(phases, ["prune", "fine-tune"])
        let s = t.layerSummary.compactMap(\.winogradSparsity)
        XCTAssertEqual(s.count, 2)
        XCTAssertEqual(s[0], 0.9, accuracy: 0.005)
        XCTAssertEqual(s[1], 0.95, accuracy: 0.005)
        XCTAssertGreaterThanOrEqual(s[0], 0.9, "the target is a floor")
        XCTAssertGreaterThanOrEqual(s[1], 0.95, "the target is a floor")
        config.layerSparsity = ["fc1": 0.5]
        let u = try Trainer(architecture: "conv4,pool,wconv8f2,pool,fc10", metadata: meta(), seed: 5, threads: 1)
        XCTAssertThrowsError(try u.fit(train: train.prefix(64), test: nil, config: config, progress: { _ in })) {
            XCTAssertTrue("\($0)".contains("'fc1', which is not a Winograd-domain layer"), "\($0)")
        }
    }

    /// A checkpoint's state is checked before it is used: epochs done, the pruner's per-layer
    /// arrays and counters (each of these trapped in the trainer), parameter names quoted
    /// printably; resuming with no epochs left is an error, not a trap.
    func testHostileCheckpointStatesAreRefused() throws {
        let dir = NSTemporaryDirectory() + "wino-bad-ckpt-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try Trainer(architecture: "conv4,pool,wconv6f2,pool,fc10", metadata: meta(), seed: 3, threads: 1)
        try t.saveCheckpoint(dir)
        let path = dir + "/state.json"
        let good = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        func resume(_ edit: (inout [String: Any]) -> Void) throws -> Trainer {
            var state = good
            edit(&state)
            try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: path))
            return try Trainer.resume(dir, threads: 1)
        }
        let pruner: [String: Any] = ["target": [0.5], "rampSteps": 10, "start": [0.0], "th0": [-1.0], "step": 3]
        XCTAssertNoThrow(try resume { $0["pruner"] = pruner })
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("epochsDone -5 is outside 0...1000000", { $0["epochsDone"] = -5 }),
            ("has 0 targets, 1 starts and 1 thresholds; the model has 1 Winograd-domain layers",
             { var p = pruner; p["target"] = [Double](); $0["pruner"] = p }),
            ("a target outside [0, 1)", { var p = pruner; p["target"] = [2.0]; $0["pruner"] = p }),
            ("a start outside [0, 1]", { var p = pruner; p["start"] = [-5.0]; $0["pruner"] = p }),
            ("rampSteps 0 or step 3 is out of range", { var p = pruner; p["rampSteps"] = 0; $0["pruner"] = p }),
            ("step 9223372036854775807 is out of range", { var p = pruner; p["step"] = Int.max; $0["pruner"] = p }),
            ("parameter 'a\\u{0}b\\u{A}c' is not in the model", { state in
                var params = state["params"] as! [[String: Any]]
                params[0]["name"] = "a\u{0}b\nc"
                state["params"] = params
            }),
        ]
        for (fragment, edit) in cases {
            XCTAssertThrowsError(try resume(edit)) { XCTAssertTrue("\($0)".contains(fragment), "\($0) lacks \(fragment)") }
        }
        // Five epochs done, two asked for.
        let done = try resume { $0["epochsDone"] = 5 }
        var config = TrainConfig()
        config.epochs = 2; config.batchSize = 2
        let tiny = try Dataset(images: [UInt8](repeating: 7, count: 4 * 784), labels: [0, 1, 2, 3], rows: 28, cols: 28)
        XCTAssertThrowsError(try done.fit(train: tiny, test: nil, config: config, progress: { _ in })) {
            XCTAssertTrue("\($0)".contains("has done 5 epochs already: give --epochs above 5"), "\($0)")
        }
        // A test split of the wrong image size is refused before training, not after an epoch.
        let small = try Dataset(images: [UInt8](repeating: 7, count: 2 * 64), labels: [0, 1], rows: 8, cols: 8)
        config.epochs = 1
        XCTAssertThrowsError(try t.fit(train: tiny, test: small, config: config, progress: { _ in XCTFail("trained") })) {
            XCTAssertTrue("\($0)".contains("test images are 8x8 but the model takes [1, 28, 28]"), "\($0)")
        }
    }

    /// Bad architectures and models that cannot be trained are refused with the reason.
    func testRefusals() throws {
        XCTAssertThrowsError(try Trainer(architecture: "conv8,bogus,fc10", metadata: meta(), seed: 1, threads: 1)) {
            XCTAssertTrue("\($0)".contains("'bogus' is not known"))
        }
        XCTAssertThrowsError(try Trainer(architecture: "conv8,pool", metadata: meta(), seed: 1, threads: 1)) {
            XCTAssertTrue("\($0)".contains("must end with an fc layer"))
        }
        let t = try Trainer(architecture: "conv4,pool,conv6,fc10", metadata: meta(), seed: 1, threads: 1)
        var g = t.export()
        XCTAssertThrowsError(try Trainer(model: g, winograd: "nosuch", threads: 1)) { XCTAssertTrue("\($0)".contains("'nosuch'")) }
        XCTAssertThrowsError(try Trainer(model: g, winograd: "conv1", tile: "f9", threads: 1)) { XCTAssertTrue("\($0)".contains("unknown tile")) }
        XCTAssertThrowsError(try Trainer(model: g, winograd: ",", threads: 1)) { XCTAssertTrue("\($0)".contains("names no convolution")) }
        XCTAssertThrowsError(try Trainer(model: g, winograd: nil, threads: 1).pruneOneShot(method: "winograd", density: 0.1, spatialSource: nil)) {
            XCTAssertTrue("\($0)".contains("no Winograd-domain layer to prune"))
        }
        g.nodes.insert(Node(name: "lrn", op: .lrn, inputs: ["conv1"], output: "lrn", attributes: ["size": .int(3)]), at: 1)
        g.nodes[2].inputs = ["lrn"]
        XCTAssertThrowsError(try Trainer(model: g, winograd: nil, threads: 1)) { XCTAssertTrue("\($0)".contains("cannot train this op")) }
        // Converting both convs: the first has 1 input channel, so auto leaves it direct.
        let auto = try Trainer(model: t.export(), winograd: "auto", threads: 1)
        XCTAssertEqual(auto.layerSummary.map { $0.winogradSparsity != nil }, [false, true, false])
    }
}
