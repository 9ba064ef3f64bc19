// Pooling, LRN, fully connected, softmax, concat, add, ReLU, flatten, dropout
// against the Double reference, on odd shapes.
import CWinoKernels
@testable import WinoEngine
import WinoFormat
import WinoReference
import XCTest

final class OperatorTests: XCTestCase {
    func single(_ node: Node, input: [Int], tensors: [Tensor] = [], batch: Int = 2, seed: UInt64 = 1) throws -> ([Float], [Double]) {
        var rng = SeededRNG(seed: seed)
        let c = input[0]
        let (nodes, st, name) = stem(channels: c, rng: &rng)
        var n = node
        n.inputs = n.inputs.map { $0 == "x" ? name : $0 }
        return try runBoth(makeGraph(input: [1, input[1], input[2]], nodes: nodes + [n], tensors: st + tensors),
                           batch: batch, seed: seed)
    }

    func testPooling() throws {
        let configs: [(OpKind, [String: AttributeValue])] = [
            (.maxPool, ["kernel": .ints([3, 3]), "strides": .ints([2, 2])]),
            (.maxPool, ["kernel": .ints([3, 3]), "strides": .ints([2, 2]), "ceil_mode": .int(1)]),
            (.maxPool, ["kernel": .ints([2, 3]), "strides": .ints([1, 2]), "pads": .ints([1, 1, 0, 2])]),
            // Interior windows take the separable fast path, border ones the general path.
            (.maxPool, ["kernel": .ints([3, 3]), "strides": .ints([1, 1]), "pads": .ints([1, 1, 1, 1])]),
            (.maxPool, ["kernel": .ints([3, 2]), "strides": .ints([2, 3]), "pads": .ints([0, 1, 2, 0]), "ceil_mode": .int(1)]),
            (.maxPool, ["kernel": .ints([1, 1]), "strides": .ints([2, 2])]),
            (.avgPool, ["kernel": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]),
            (.avgPool, ["kernel": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1]), "count_include_pad": .int(1)]),
            (.avgPool, ["kernel": .ints([3, 2]), "strides": .ints([2, 2]), "ceil_mode": .int(1), "pads": .ints([1, 0, 1, 1]), "count_include_pad": .int(1)]),
            (.avgPool, ["global": .int(1)]),
            (.maxPool, ["global": .int(1)]),
        ]
        for (i, cfg) in configs.enumerated() {
            let (got, want) = try single(Node(name: "pool", op: cfg.0, inputs: ["x"], output: "y", attributes: cfg.1),
                                         input: [3, 13, 12], seed: UInt64(i))
            assertInformative(want)
            XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-6, "config \(i)")
        }
    }

    /// Wide rows reach the vectorised max-pooling kernel (column maxima 8 at a time, stride 1
    /// and stride 2 rows of 8 outputs, scalar tails): against the reference on every ISA (the
    /// tolerance covers only the stem convolution's Float rounding; a wrong window is O(1)).
    func testMaxPoolingWideRows() throws {
        let configs: [[String: AttributeValue]] = [
            ["kernel": .ints([3, 3]), "strides": .ints([2, 2])],
            ["kernel": .ints([3, 3]), "strides": .ints([2, 2]), "ceil_mode": .int(1)],
            ["kernel": .ints([2, 2]), "strides": .ints([2, 2])],
            ["kernel": .ints([3, 3]), "strides": .ints([1, 1]), "pads": .ints([1, 1, 1, 1])],
            ["kernel": .ints([2, 5]), "strides": .ints([1, 2]), "pads": .ints([0, 2, 1, 2])],
            ["kernel": .ints([3, 4]), "strides": .ints([2, 3])],
        ]
        for isa in (0...wk_isa()).reversed() {
            wk_limit_isa(Int32(isa))
            defer { wk_reset_isa() }
            for (i, cfg) in configs.enumerated() {
                let (got, want) = try single(Node(name: "pool", op: .maxPool, inputs: ["x"], output: "y", attributes: cfg),
                                             input: [3, 9, 53], seed: UInt64(30 + i))
                assertInformative(want)
                XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-6, "config \(i) isa \(isa)")
            }
        }
    }

    func testCaffeCeilModeOutputSize() throws {
        // AlexNet pool1: 55 -> 27 with k3 s2; ceil mode 14 -> 7 with k3 s2 (floor gives 6).
        let win = Window2D(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2)
        XCTAssertEqual(win.outputSize(h: 55, w: 55, ceilMode: true).h, 27)
        XCTAssertEqual(win.outputSize(h: 14, w: 14, ceilMode: true).h, 7)
        XCTAssertEqual(win.outputSize(h: 14, w: 14, ceilMode: false).h, 6)
        let padded = Window2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1)
        // A window that would start inside the bottom padding is dropped.
        XCTAssertEqual(padded.outputSize(h: 4, w: 4, ceilMode: true).h, 3)
    }

    func testLRN() throws {
        for isa in (0...wk_isa()).reversed() {
        wk_limit_isa(Int32(isa))
        defer { wk_reset_isa() }
        for (i, size) in [1, 3, 5, 4].enumerated() {
            let (got, want) = try single(Node(name: "lrn", op: .lrn, inputs: ["x"], output: "y",
                                              attributes: ["size": .int(Int64(size)), "alpha": .float(0.5), "beta": .float(i % 2 == 0 ? 0.75 : 0.6), "bias": .float(2)]),
                                         input: [7, 5, 7], seed: UInt64(i))
            assertInformative(want)
            XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-6, "size \(size) isa \(isa)")
        }
        // Planes of more than 1024 pixels (several pixel runs, the last one short) and channel
        // ranges for the threads: against the reference, and the same bits for 1, 2, 3 and 7 threads.
        for (i, shape) in [[9, 45, 51], [6, 20, 12]].enumerated() {
            let node = Node(name: "lrn", op: .lrn, inputs: ["x"], output: "y",
                            attributes: ["size": .int(5), "alpha": .float(0.5), "beta": .float(0.75), "bias": .float(2)])
            var rng = SeededRNG(seed: 90 + UInt64(i))
            let (nodes, st, name) = stem(channels: shape[0], rng: &rng)
            var n = node
            n.inputs = [name]
            let g = makeGraph(input: [1, shape[1], shape[2]], nodes: nodes + [n], tensors: st)
            try assertMatchesReferenceOnAnyThreads(g, batch: 1, seed: 3, tolerance: 1e-6, threads: [2, 3, 7], "\(shape) isa \(isa)")
        }
        }
    }

    /// An LRN read only by a MaxPool runs fused with it (each LRN plane pooled from the thread's
    /// scratch): against the reference for two pool shapes (one padded, in ceil mode), the same
    /// bits for 1, 2, 3 and 5 threads and every kernel implementation; an LRN whose output is
    /// also read elsewhere is not fused.
    func testLRNFusedWithMaxPool() throws {
        for isa in (0...wk_isa()).reversed() {
            wk_limit_isa(Int32(isa))
            defer { wk_reset_isa() }
            for (i, pool) in [["kernel": AttributeValue.ints([3, 3]), "strides": .ints([2, 2])],
                              ["kernel": .ints([3, 2]), "strides": .ints([2, 1]), "pads": .ints([1, 0, 1, 1]), "ceil_mode": .int(1)]].enumerated() {
                var rng = SeededRNG(seed: 120 + UInt64(i))
                let (nodes, st, name) = stem(channels: 11, rng: &rng)
                let g = makeGraph(input: [1, 19, 23], nodes: nodes + [
                    Node(name: "lrn", op: .lrn, inputs: [name], output: "l",
                         attributes: ["size": .int(5), "alpha": .float(0.5), "beta": .float(0.75), "bias": .float(2)]),
                    Node(name: "pool", op: .maxPool, inputs: ["l"], output: "y", attributes: pool)], tensors: st)
                let explained = try Model(graph: g).layerDescriptions.joined(separator: "\n")
                XCTAssertTrue(explained.contains("fused with the following max pool"), explained)
                try assertMatchesReferenceOnAnyThreads(g, batch: 2, seed: 4, tolerance: 1e-6, threads: [2, 3, 5], "pool \(i) isa \(isa)")
            }
        }
        // The LRN output also feeds an Add: no fusion, same results.
        var rng = SeededRNG(seed: 130)
        let (nodes, st, name) = stem(channels: 4, rng: &rng)
        let g = makeGraph(input: [1, 8, 8], nodes: nodes + [
            Node(name: "lrn", op: .lrn, inputs: [name], output: "l",
                 attributes: ["size": .int(3), "alpha": .float(0.5), "beta": .float(0.75), "bias": .float(2)]),
            Node(name: "pool", op: .maxPool, inputs: ["l"], output: "p", attributes: ["kernel": .ints([1, 1]), "strides": .ints([1, 1])]),
            Node(name: "sum", op: .add, inputs: ["l", "p"], output: "y")], tensors: st)
        let explained = try Model(graph: g).layerDescriptions.joined(separator: "\n")
        XCTAssertFalse(explained.contains("fused with"), explained)
        let (got, want) = try runBoth(g, batch: 1, seed: 2)
        XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-6)
    }

    func testFullyConnectedDenseAndCSR() throws {
        for isa in (0...wk_isa()).reversed() {
        wk_limit_isa(Int32(isa))
        defer { wk_reset_isa() }
        for (i, density) in [1.0, 0.2, 0.0, 0.03].enumerated() {
            var rng = SeededRNG(seed: 40 + UInt64(i))
            let (o, f) = (37, 3 * 5 * 4)
            let w = rng.sparse(o * f, density: density)
            let data: TensorData = density < 1 ? .csr(CSRMatrix(dense: w, rows: o, cols: f)) : .dense(w)
            let node = Node(name: "fc", op: .fullyConnected, inputs: ["x"], output: "y", weights: ["w", "b"], attributes: ["relu": .int(1)])
            let tensors = [Tensor(name: "w", shape: [o, f], data: data), Tensor(name: "b", shape: [o], data: .dense(rng.floats(o)))]
            for batch in [1, 3] {
                let (got, want) = try single(node, input: [3, 5, 4], tensors: tensors, batch: batch)
                if density > 0.1 { assertInformative(want) }
                XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-5, "density \(density) batch \(batch) isa \(isa)")
            }
        }
        }
    }

    func testSoftmaxReluFlattenDropoutConcatAdd() throws {
        var rng = SeededRNG(seed: 5)
        let (st, stt, s) = stem(channels: 4, rng: &rng)
        let nodes = st + [
            Node(name: "relu", op: .relu, inputs: [s], output: "r"),
            Node(name: "sm", op: .softmax, inputs: [s], output: "sm"),
            Node(name: "cat", op: .concat, inputs: ["r", "sm", s], output: "cat"),
            Node(name: "add", op: .add, inputs: ["cat", "cat"], output: "add"),
            Node(name: "drop", op: .dropout, inputs: ["add"], output: "d", attributes: ["ratio": .float(0.5)]),
            Node(name: "flat", op: .flatten, inputs: ["d"], output: "f"),
            Node(name: "soft", op: .softmax, inputs: ["f"], output: "out"),
        ]
        let g = makeGraph(input: [1, 3, 5], nodes: nodes, tensors: stt)
        let (got, want) = try runBoth(g, batch: 2, seed: 3)
        XCTAssertEqual(got.count, 2 * 12 * 15)
        XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-5)
        // Each sample's probabilities sum to one.
        XCTAssertEqual(got[0..<180].reduce(0, +), 1, accuracy: 1e-4)
    }

    func testClipAndPRelu() throws {
        let clips: [[String: AttributeValue]] = [["min": .float(0), "max": .float(0.5)], ["min": .float(-0.2)], ["max": .float(0.1)], [:]]
        for (i, attrs) in clips.enumerated() {
            let (got, want) = try single(Node(name: "clip", op: .clip, inputs: ["x"], output: "y", attributes: attrs),
                                         input: [3, 5, 4], seed: UInt64(60 + i))
            assertInformative(want)
            XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-7, "clip \(attrs)")
            if i == 0 { XCTAssertTrue(got.allSatisfy { $0 >= 0 && $0 <= 0.5 }) }
        }
        for (i, slopes) in [1, 3, 3 * 5 * 4].enumerated() {
            var rng = SeededRNG(seed: 70 + UInt64(i))
            let node = Node(name: "prelu", op: .prelu, inputs: ["x"], output: "y", weights: ["slope"])
            let (got, want) = try single(node, input: [3, 5, 4],
                                         tensors: [Tensor(name: "slope", shape: [slopes], data: .dense(rng.floats(slopes)))],
                                         batch: 3, seed: UInt64(i))
            assertInformative(want)
            XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-7, "\(slopes) slopes")
        }
        // A slope that matches neither 1, C nor the sample size is rejected with the node named.
        let bad = Node(name: "p", op: .prelu, inputs: ["x"], output: "y", weights: ["slope"])
        XCTAssertThrowsError(try single(bad, input: [3, 5, 4], tensors: [Tensor(name: "slope", shape: [2], data: .dense([1, 2]))])) {
            XCTAssertTrue("\($0)".contains("'p'"), "\($0)")
        }
    }

    /// Rows long enough for the AVX2 16-bit kernel's 16-entry steps (and their tails), with
    /// column indices above 32767 (unsigned 16-bit extraction), on every ISA, one image at a
    /// time and in groups of 8.
    func testFullyConnectedLongRows() throws {
        for isa in (0...wk_isa()).reversed() {
            wk_limit_isa(Int32(isa))
            defer { wk_reset_isa() }
            for (i, (o, f, density)) in [(23, 1_000, 0.3), (19, 40_000, 0.01), (9, 64, 0.5)].enumerated() {
                var rng = SeededRNG(seed: 90 + UInt64(i))
                let w = rng.sparse(o * f, density: density)
                let node = Node(name: "fc", op: .fullyConnected, inputs: ["x"], output: "y", weights: ["w", "b"])
                let g = ModelGraph(metadata: ModelMetadata(name: "long", inputShape: [f / 4, 2, 2], channelOrder: .tensor),
                                   input: "x", output: "y", nodes: [node],
                                   tensors: [Tensor(name: "w", shape: [o, f], data: .csr(CSRMatrix(dense: w, rows: o, cols: f))),
                                             Tensor(name: "b", shape: [o], data: .dense(rng.floats(o)))])
                // Batch 1: rows x vector; 2 and 9: 8 images per pass (a partial group, a full one and one more).
                for batch in [1, 2, 9] {
                    let (got, want) = try runBoth(g, batch: batch, seed: 9)
                    assertInformative(want)
                    XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-5, "\(o) x \(f) density \(density) batch \(batch) isa \(isa)")
                }
            }
        }
    }

    /// Rows of more than `WeightMatrix.columnChunk` columns are stored in column chunks within
    /// blocks of 64 rows (FC6's 9216 columns: 3 chunks of 3072). Checked on every ISA against
    /// the reference, one image at a time and in groups of 8, with a partial last block, empty
    /// rows and rows with entries in one chunk only; 2, 3 and 5 threads give the same bits.
    func testFullyConnectedColumnChunks() throws {
        let (o, f) = (150, 9216)
        var rng = SeededRNG(seed: 95)
        var w = rng.sparse(o * f, density: 0.1)
        for c in 0..<f { w[7 * f + c] = 0; w[70 * f + c] = c >= 3072 ? 0 : w[70 * f + c]; w[149 * f + c] = c < 6144 ? 0 : w[149 * f + c] }
        let m = CSRMatrix(dense: w, rows: o, cols: f)
        let stored = WeightMatrix(csr: m, compactIndices: true)
        XCTAssertEqual(stored.columnChunks, 3)
        XCTAssertEqual(WeightMatrix(csr: CSRMatrix(dense: Array(w[0..<(o * 4096)]), rows: o, cols: 4096), compactIndices: true).columnChunks, 1)
        // The chunked order holds every entry once.
        let (ptr, order) = WeightMatrix.chunkedRows(m, chunks: 3)
        XCTAssertEqual(ptr.count, o * 3 + 1)
        XCTAssertEqual(order.sorted(), Array(0..<m.nnz))
        let node = Node(name: "fc", op: .fullyConnected, inputs: ["x"], output: "y", weights: ["w", "b"], attributes: ["relu": .int(1)])
        let g = ModelGraph(metadata: ModelMetadata(name: "chunks", inputShape: [f / 4, 2, 2], channelOrder: .tensor),
                           input: "x", output: "y", nodes: [node],
                           tensors: [Tensor(name: "w", shape: [o, f], data: .csr(m)),
                                     Tensor(name: "b", shape: [o], data: .dense(rng.floats(o)))])
        let explained = try Model(graph: g).layerDescriptions.joined()
        XCTAssertTrue(explained.contains("3 column chunks of up to 3072"), explained)
        for isa in (0...wk_isa()).reversed() {
            wk_limit_isa(Int32(isa))
            defer { wk_reset_isa() }
            for batch in [1, 9] {
                try assertMatchesReferenceOnAnyThreads(g, batch: batch, seed: 12, tolerance: 1e-5, threads: [2, 3, 5],
                                                       "\(o) x \(f) batch \(batch) isa \(isa)")
            }
        }
    }

    /// More than 65536 input features: 32-bit column indices (the 16-bit kernel cannot hold them).
    func testWideFullyConnectedUses32BitIndices() throws {
        for isa in (0...wk_isa()).reversed() {
            wk_limit_isa(Int32(isa))
            defer { wk_reset_isa() }
            var rng = SeededRNG(seed: 77)
            let (o, f) = (5, 70_004)   // input [17501, 2, 2], flattened
            let w = rng.sparse(o * f, density: 0.01)
            let node = Node(name: "fc", op: .fullyConnected, inputs: ["x"], output: "y", weights: ["w"])
            let g = ModelGraph(metadata: ModelMetadata(name: "wide", inputShape: [f / 4, 2, 2], channelOrder: .tensor),
                               input: "x", output: "y", nodes: [node],
                               tensors: [Tensor(name: "w", shape: [o, f], data: .csr(CSRMatrix(dense: w, rows: o, cols: f)))])
            for batch in [1, 2] {
                let (got, want) = try runBoth(g, batch: batch, seed: 8)
                assertInformative(want)
                XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-5, "batch \(batch) isa \(isa)")
            }
        }
    }
}
