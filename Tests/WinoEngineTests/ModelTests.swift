// Whole-model behaviour: fusion, determinism across thread counts, concurrent
// predictions, input validation, a small AlexNet-like network vs the reference.
import CLITestSupport
import CWinoKernels
import Foundation
import WinoEngine
import WinoFormat
import WinoKernels
import WinoReference
import XCTest

/// A small network exercising every kind of layer: conv (strided), LRN, pooling,
/// Winograd (dense and sparse, grouped), FC (dense and sparse), dropout, softmax.
func smallNetwork(seed: UInt64) -> ModelGraph {
    var rng = SeededRNG(seed: seed)
    var tensors = [Tensor]()
    func add(_ name: String, _ shape: [Int], winograd: WinogradVariant? = nil, density: Double = 1, scale: Float = 0.5) {
        let n = shape.reduce(1, *)
        let v = rng.sparse(n, density: density).map { $0 * scale }
        let data: TensorData = density < 1 ? .csr(CSRMatrix(dense: v, rows: n / shape.last!, cols: shape.last!)) : .dense(v)
        tensors.append(Tensor(name: name, shape: shape, winograd: winograd, data: data))
    }
    add("c1.w", [8, 3, 5, 5]); add("c1.b", [8])
    add("c2.w", [6, 6, 8, 4], winograd: .f4x4_3x3, density: 0.3, scale: 0.3); add("c2.b", [8])
    add("c3.w", [4, 4, 8, 8], winograd: .f2x2_3x3); add("c3.b", [8])
    add("f1.w", [16, 8 * 3 * 3], density: 0.25); add("f1.b", [16])
    add("f2.w", [5, 16]); add("f2.b", [5])
    let nodes = [
        Node(name: "conv1", op: .conv, inputs: ["x"], output: "c1", weights: ["c1.w", "c1.b"],
             attributes: ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]),
        Node(name: "relu1", op: .relu, inputs: ["c1"], output: "r1"),
        Node(name: "norm1", op: .lrn, inputs: ["r1"], output: "n1", attributes: ["size": .int(5), "alpha": .float(1e-2)]),
        Node(name: "pool1", op: .maxPool, inputs: ["n1"], output: "p1",
             attributes: ["kernel": .ints([3, 3]), "strides": .ints([2, 2]), "ceil_mode": .int(1)]),
        Node(name: "conv2", op: .winogradConv, inputs: ["p1"], output: "c2", weights: ["c2.w", "c2.b"],
             attributes: ["pads": .ints([1, 1, 1, 1]), "group": .int(2)]),
        Node(name: "relu2", op: .relu, inputs: ["c2"], output: "r2"),
        Node(name: "conv3", op: .winogradConv, inputs: ["r2"], output: "c3", weights: ["c3.w", "c3.b"],
             attributes: ["pads": .ints([1, 1, 1, 1]), "relu": .int(1)]),
        Node(name: "pool2", op: .avgPool, inputs: ["c3"], output: "p2", attributes: ["kernel": .ints([2, 2]), "strides": .ints([2, 2])]),
        Node(name: "flat", op: .flatten, inputs: ["p2"], output: "fl"),
        Node(name: "fc1", op: .fullyConnected, inputs: ["fl"], output: "f1", weights: ["f1.w", "f1.b"]),
        Node(name: "relu3", op: .relu, inputs: ["f1"], output: "r3"),
        Node(name: "drop", op: .dropout, inputs: ["r3"], output: "d"),
        Node(name: "fc2", op: .fullyConnected, inputs: ["d"], output: "f2", weights: ["f2.w", "f2.b"]),
        Node(name: "prob", op: .softmax, inputs: ["f2"], output: "prob"),
    ]
    let meta = ModelMetadata(name: "small", inputShape: [3, 27, 25], channelOrder: .rgb,
                             labels: ["a", "b", "c", "d", "e"])
    return ModelGraph(metadata: meta, input: "x", output: "prob", nodes: nodes, tensors: tensors)
}

final class ModelTests: XCTestCase {
    func testSmallNetworkMatchesReference() throws {
        let g = smallNetwork(seed: 11)
        var rng = SeededRNG(seed: 1)
        let x = rng.floats(3 * 27 * 25 * 3)
        let model = try Model(graph: g)
        XCTAssertEqual(model.outputShape, [5])
        let got = try model.predict(x, batch: 3)
        let want = try ReferenceExecutor(graph: g).run(x, batch: 3)
        XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-5)
        // The logits too: softmax can hide errors by saturating.
        var logits = g
        logits.output = "f2"
        let gotLogits = try Model(graph: logits).predict(x, batch: 3)
        let wantLogits = try ReferenceExecutor(graph: logits).run(x, batch: 3)
        assertInformative(wantLogits)
        XCTAssertLessThanOrEqual(relativeL2(gotLogits, wantLogits), 1e-5)
    }

    func testReluIsFusedAndDropoutFlattenCostNothing() throws {
        let model = try Model(graph: smallNetwork(seed: 11))
        let names = model.layerDescriptions.map { String($0.prefix(while: { $0 != " " })) }
        // pool1 runs inside norm1 (LRN + max pool fused).
        XCTAssertEqual(names, ["conv1", "norm1", "conv2", "conv3", "pool2", "fc1", "fc2", "prob"])
        XCTAssertTrue(model.layerDescriptions[1].contains("fused with the following max pool"), model.layerDescriptions[1])
    }

    /// A service that loads and unloads models keeps no threads of the unloaded ones: 10
    /// models of 3 threads, each run once and dropped, leave the thread count as it was.
    func testUnloadedModelsStopTheirThreads() throws {
        guard let before = processThreadCount() else { throw XCTSkip("/proc/self/task cannot be read here") }
        let g = smallNetwork(seed: 23)
        var rng = SeededRNG(seed: 5)
        let input = rng.floats(3 * 27 * 25)
        var first: [Float]?
        for round in 0..<10 {
            let model = try Model(graph: g, options: .init(threads: 3))
            let out = try model.predict(input)
            if let f = first { XCTAssertEqual(out, f) } else { first = out }
            XCTAssertEqual(processThreadCount(settlingAt: before + 2), before + 2, "round \(round): the model's 2 workers run")
        }
        XCTAssertEqual(processThreadCount(settlingAt: before), before, "every unloaded model joined its workers")
    }

    func testBitIdenticalForAnyThreadCount() throws {
        let g = smallNetwork(seed: 12)
        var rng = SeededRNG(seed: 2)
        let x = rng.floats(3 * 27 * 25 * 2)
        let base = try Model(graph: g, options: .init(threads: 1)).predict(x, batch: 2)
        for t in [2, 3, 4, 7, 16] {
            let out = try Model(graph: g, options: .init(threads: t)).predict(x, batch: 2)
            XCTAssertEqual(out.map(\.bitPattern), base.map(\.bitPattern), "threads \(t)")
        }
    }

    func testConcurrentPredictionsMatchSequential() throws {
        let g = smallNetwork(seed: 13)
        for threads in [1, 2] {
            let model = try Model(graph: g, options: .init(threads: threads))
            let inputs: [[Float]] = (0..<40).map { i in var r = SeededRNG(seed: UInt64(i)); return r.floats(3 * 27 * 25) }
            let sequential = try inputs.map { try model.predict($0) }
            final class Box: @unchecked Sendable { var out = [[Float]?](repeating: nil, count: 40) }
            let box = Box()
            let lock = NSLock()
            DispatchQueue.concurrentPerform(iterations: 40) { i in
                let r = try? model.predict(inputs[i])
                lock.lock(); box.out[i] = r; lock.unlock()
            }
            for i in 0..<40 { XCTAssertEqual(box.out[i], sequential[i], "prediction \(i), threads \(threads)") }
        }
    }

    func testBadInputIsAnErrorNotACrash() throws {
        let model = try Model(graph: smallNetwork(seed: 11))
        XCTAssertThrowsError(try model.predict([1, 2, 3])) { XCTAssertTrue("\($0)".contains("expects")) }
        XCTAssertThrowsError(try model.predict([], batch: 0))
        var x = [Float](repeating: 0, count: 3 * 27 * 25)
        x[7] = .nan
        XCTAssertThrowsError(try model.predict(x)) { XCTAssertTrue("\($0)".contains("value 7")) }
        // Large inputs are scanned by all threads: a non-finite value in any part is found.
        let pooled = try Model(graph: smallNetwork(seed: 11), options: .init(threads: 2))
        let batch = (1 << 18) / (3 * 27 * 25) + 1    // over Model.parallelScanMinimum values
        var big = [Float](repeating: 0.5, count: batch * 3 * 27 * 25)
        XCTAssertNoThrow(try pooled.predict(big, batch: batch))
        for i in [3, big.count / 2 - 1, big.count / 2, big.count - 1] {
            big[i] = i % 2 == 0 ? .nan : -.infinity
            XCTAssertThrowsError(try pooled.predict(big, batch: batch)) { XCTAssertTrue("\($0)".contains("value \(i) "), "\($0)") }
            big[i] = 0.5
        }
    }

    func testTopClassesOrdersAndLabels() {
        let top = Model.topClasses([0.1, 0.5, 0.2, 0.5], labels: ["a", "b", "c"], top: 3)
        XCTAssertEqual(top.map(\.index), [1, 3, 2])
        XCTAssertEqual(top.map(\.label), ["b", "class 3", "c"])
    }
}

final class ResourceLimitTests: XCTestCase {
    /// A tiny file can declare huge activations: the model is refused at load with a clear
    /// error, not when the first request would exhaust memory.
    func testHugeActivationsAreRefusedAtLoad() throws {
        let nodes = (0..<6).map { i in
            Node(name: "r\(i)", op: .relu, inputs: [i == 0 ? "x" : "a\(i - 1)"], output: "a\(i)")
        }
        let g = ModelGraph(metadata: ModelMetadata(name: "huge", inputShape: [1, 16384, 16384], channelOrder: .gray),
                           input: "x", output: "a5", nodes: nodes, tensors: [])
        XCTAssertThrowsError(try Model(graph: g)) { error in
            XCTAssertTrue("\(error)".contains("over the limit"), "\(error)")
        }
        // With a small enough limit even a modest model is refused; a large batch too.
        let small = smallNetwork(seed: 1)
        XCTAssertThrowsError(try Model(graph: small, options: .init(maxWorkspaceBytes: 1000)))
        let m = try Model(graph: small, options: .init(maxWorkspaceBytes: 2 << 20))
        XCTAssertThrowsError(try m.predict([Float](repeating: 0, count: 3 * 27 * 25 * 4096), batch: 4096)) { error in
            XCTAssertTrue("\(error)".contains("batch 4096"), "\(error)")
        }
    }
}

/// Results and resources a model cannot give: an output that overflowed Float, a workspace
/// larger than the memory the process may still allocate. Both are errors, never a NaN
/// "probability" or an aborting allocation.
final class ModelLimitTests: XCTestCase {
    /// A fully connected layer with one weight of -Float.greatestFiniteMagnitude: a finite
    /// input overflows to infinity, then Softmax gives NaN. predict and classify throw,
    /// naming the output value; the same model with a normal weight runs, and with the check
    /// turned off returns the NaN.
    func testOverflowingOutputIsAnError() throws {
        func model(weight: Float, checks: Bool = true) throws -> Model {
            var w = [Float](repeating: 0.5, count: 3 * 4)
            w[5] = weight
            let nodes = [Node(name: "flat", op: .flatten, inputs: ["x"], output: "v"),
                         Node(name: "fc", op: .fullyConnected, inputs: ["v"], output: "f", weights: ["w", "b"]),
                         Node(name: "prob", op: .softmax, inputs: ["f"], output: "p")]
            let g = ModelGraph(metadata: ModelMetadata(name: "overflow", inputShape: [4, 1, 1], channelOrder: .tensor),
                               input: "x", output: "p", nodes: nodes,
                               tensors: [Tensor(name: "w", shape: [3, 4], data: .dense(w)),
                                         Tensor(name: "b", shape: [3], data: .dense([0, 0, 0]))])
            return try Model(graph: g, options: .init(checksOutput: checks))
        }
        let input: [Float] = [1, -2, 3, 4]
        XCTAssertEqual(try model(weight: 1).predict(input).count, 3)
        let bad = try model(weight: -Float.greatestFiniteMagnitude)
        for run in [{ _ = try bad.predict(input) }, { _ = try bad.classify(input) },
                    { _ = try bad.predict(input + input, batch: 2) }] {
            XCTAssertThrowsError(try run()) { error in
                XCTAssertTrue("\(error)".contains("overflowed Float"), "\(error)")
                XCTAssertTrue("\(error)".hasPrefix("output value 0"), "\(error)")
            }
        }
        // Checking off (Options.checksOutput): the output as computed.
        XCTAssertTrue(try model(weight: -Float.greatestFiniteMagnitude, checks: false).predict(input).contains { $0.isNaN })
    }

    /// A model whose activations (2 x 64 x 1024 x 1024 floats, 512 MiB, within the 4096 MiB
    /// workspace limit) exceed the memory the process may still allocate: predict throws an
    /// error naming the batch and both sizes, instead of aborting in the allocator; with the
    /// memory there, the same model runs.
    func testWorkspaceBeyondAvailableMemoryIsAnError() throws {
        let nodes = [Node(name: "conv", op: .conv, inputs: ["x"], output: "y", weights: ["w", "b"]),
                     Node(name: "relu", op: .relu, inputs: ["y"], output: "r"),
                     Node(name: "pool", op: .maxPool, inputs: ["r"], output: "p",
                          attributes: ["kernel": .ints([1024, 1024]), "strides": .ints([1024, 1024])])]
        let g = ModelGraph(metadata: ModelMetadata(name: "wide", inputShape: [1, 1024, 1024], channelOrder: .tensor),
                           input: "x", output: "p", nodes: nodes,
                           tensors: [Tensor(name: "w", shape: [64, 1, 1, 1], data: .dense([Float](repeating: 1, count: 64))),
                                     Tensor(name: "b", shape: [64], data: .dense([Float](repeating: 0, count: 64)))])
        let model = try Model(graph: g)
        let input = [Float](repeating: 0.25, count: 1024 * 1024)
        let ran = try withAddressSpaceHeadroom(128 << 20) {
            XCTAssertThrowsError(try model.predict(input)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("not enough memory for batch 1's activations and scratch: "), message)
                XCTAssertTrue(message.contains("MiB needed") && message.contains("MiB available to this process"), message)
            }
        }
        if !ran { throw XCTSkip("the address-space limit cannot be set here") }
        XCTAssertEqual(try model.predict(input), [Float](repeating: 0.25, count: 64))
    }
}

/// The input check done by a first layer as it reads its input (`Model.firstLayerChecksInput`):
/// a non-finite value anywhere in the input is found, the error names it, and valid inputs
/// run as before.
final class FirstLayerInputCheckTests: XCTestCase {
    /// A model whose first node is a Winograd conv of the input (`pad` on every side, `groups`).
    private func firstConv(_ tile: WinogradVariant, c: Int, k: Int, h: Int, w: Int, pad: Int, groups: Int = 1) -> ModelGraph {
        var rng = SeededRNG(seed: UInt64(c * 31 + w))
        let a = tile.alpha, cg = c / groups
        let u = rng.sparse(a * a * k * cg, density: 0.5)
        let p = Int64(pad)
        let conv = Node(name: "conv", op: .winogradConv, inputs: ["x"], output: "y", weights: ["w", "b"],
                        attributes: ["pads": .ints([p, p, p, p]), "group": .int(Int64(groups))])
        return ModelGraph(metadata: ModelMetadata(name: "first conv", inputShape: [c, h, w], channelOrder: .tensor),
                          input: "x", output: "y", nodes: [conv],
                          tensors: [Tensor(name: "w", shape: [a, a, k, cg], winograd: tile,
                                           data: .csr(CSRMatrix(dense: u, rows: a * a * k, cols: cg))),
                                    Tensor(name: "b", shape: [k], data: .dense(rng.floats(k)))])
    }

    /// Every input position of every sample, one at a time (NaN or an infinity), is reported by
    /// index; the layers cover tile rows split into several blocks (F(2x2) on a 150-wide plane),
    /// blocks of stacked tile rows (planes 17-25 tiles wide: 2 rows per block; 10 tiles wide and
    /// 6 high: 2 blocks of 3 rows; 7 x 7 tiles: one block of 7 rows),
    /// paddings 0-2, groups, raster blocks (narrow planes; across the images of a batch), a batch
    /// of 2 and thread counts that share a block's transform.
    func testEveryInputPositionIsChecked() throws {
        let cases: [(WinogradVariant, c: Int, h: Int, w: Int, pad: Int, groups: Int)] = [
            (.f2x2_3x3, 1, 5, 150, 1, 1), (.f2x2_3x3, 2, 4, 140, 2, 2), (.f4x4_3x3, 2, 9, 70, 0, 1),
            (.f4x4_3x3, 1, 6, 69, 1, 1), (.f4x4_5x5, 2, 6, 66, 2, 2), (.f4x4_3x3, 3, 9, 9, 1, 1),
            (.f4x4_5x5, 4, 7, 5, 2, 2), (.f4x4_3x3, 1, 23, 40, 1, 1), (.f2x2_3x3, 2, 11, 50, 1, 2),
            (.f4x4_5x5, 1, 27, 27, 2, 1)]
        for (tile, c, h, w, pad, groups) in cases {
            let g = firstConv(tile, c: c, k: 4, h: h, w: w, pad: pad, groups: groups)
            for (threads, batch) in [(1, 2), (3, 1), (2, 2)] {
                let model = try Model(graph: g, options: .init(threads: threads))
                XCTAssertTrue(model.firstLayerChecksInput, "\(tile) \(w)")
                var x = [Float](repeating: 0.25, count: batch * c * h * w)
                let clean = try model.predict(x, batch: batch)
                for i in x.indices {
                    x[i] = i % 3 == 0 ? .nan : (i % 3 == 1 ? .infinity : -.infinity)
                    XCTAssertThrowsError(try model.predict(x, batch: batch), "\(tile) \(w) value \(i)") {
                        XCTAssertTrue("\($0)".hasPrefix("input value \(i) is "), "\($0)")
                    }
                    x[i] = 0.25
                }
                XCTAssertEqual(try model.predict(x, batch: batch), clean)
            }
        }
    }

    /// The first index is named when there are several; models whose first layer does not check
    /// its input (here a direct 1x1 conv) still reject it, by the separate pass.
    func testSeveralBadValuesAndModelsThatScanFirst() throws {
        let model = try Model(graph: firstConv(.f4x4_3x3, c: 2, k: 3, h: 9, w: 70, pad: 1), options: .init(threads: 2))
        XCTAssertTrue(model.firstLayerChecksInput)
        var x = [Float](repeating: 0.5, count: 2 * 9 * 70)
        x[1000] = .nan; x[77] = .infinity; x[5] = .nan
        XCTAssertThrowsError(try model.predict(x)) { XCTAssertEqual("\($0)", "input value 5 is nan") }
        var rng = SeededRNG(seed: 3)
        let (nodes, tensors, _) = stem(channels: 4, rng: &rng)
        let stemFirst = try Model(graph: makeGraph(input: [1, 9, 9], nodes: nodes, tensors: tensors), options: .init(threads: 2))
        XCTAssertFalse(stemFirst.firstLayerChecksInput)
        var y = rng.floats(9 * 9)
        y[70] = -.infinity
        XCTAssertThrowsError(try stemFirst.predict(y)) { XCTAssertEqual("\($0)", "input value 70 is -inf") }
    }
}
