// Convolutions (direct and Winograd) against the Double reference.
import CWinoKernels
import WinoEngine
import WinoFormat
import WinoKernels
import WinoReference
import XCTest

final class ConvTests: XCTestCase {
    struct Case { var c, h, w, k, r, s, stride, groups: Int; var pads: [Int]; var batch: Int; var density: Double }

    func directGraph(_ t: Case, rng: inout SeededRNG) -> ModelGraph {
        let (nodes, tensors, name) = stem(channels: t.c, rng: &rng)
        let w = rng.sparse(t.k * (t.c / t.groups) * t.r * t.s, density: t.density)
        let shape = [t.k, t.c / t.groups, t.r, t.s]
        let data: TensorData = t.density < 1 ? .csr(CSRMatrix(dense: w, rows: w.count / t.s, cols: t.s)) : .dense(w)
        let conv = Node(name: "conv", op: .conv, inputs: [name], output: "y", weights: ["w", "b"],
                        attributes: ["strides": .ints([Int64(t.stride), Int64(t.stride)]),
                                     "pads": .ints(t.pads.map(Int64.init)), "group": .int(Int64(t.groups))])
        return makeGraph(input: [1, t.h, t.w], nodes: nodes + [conv],
                         tensors: tensors + [Tensor(name: "w", shape: shape, data: data),
                                             Tensor(name: "b", shape: [t.k], data: .dense(rng.floats(t.k)))])
    }

    func testDirectConvMatchesReference() throws {
        let cases = [
            Case(c: 3, h: 7, w: 9, k: 5, r: 3, s: 3, stride: 1, groups: 1, pads: [1, 1, 1, 1], batch: 2, density: 1),
            Case(c: 4, h: 11, w: 10, k: 6, r: 5, s: 3, stride: 2, groups: 2, pads: [2, 0, 1, 1], batch: 1, density: 1),
            Case(c: 3, h: 23, w: 23, k: 4, r: 11, s: 11, stride: 4, groups: 1, pads: [0, 0, 0, 0], batch: 1, density: 1),
            // Wide rows: the vectorised strided im2col copies (strides 2 and 4) and their tails.
            Case(c: 3, h: 30, w: 75, k: 4, r: 11, s: 11, stride: 4, groups: 1, pads: [2, 2, 2, 2], batch: 2, density: 1),
            Case(c: 2, h: 9, w: 41, k: 3, r: 3, s: 3, stride: 2, groups: 1, pads: [1, 1, 1, 1], batch: 1, density: 1),
            Case(c: 2, h: 9, w: 40, k: 3, r: 3, s: 3, stride: 3, groups: 1, pads: [0, 1, 0, 2], batch: 1, density: 1),
            Case(c: 6, h: 5, w: 4, k: 9, r: 1, s: 1, stride: 1, groups: 3, pads: [0, 0, 0, 0], batch: 3, density: 1),
            Case(c: 5, h: 8, w: 6, k: 7, r: 3, s: 3, stride: 1, groups: 1, pads: [1, 1, 1, 1], batch: 2, density: 0.3),
            Case(c: 4, h: 6, w: 6, k: 4, r: 3, s: 3, stride: 1, groups: 4, pads: [1, 2, 0, 1], batch: 1, density: 0.5),
        ]
        for isa in kernelISAs() {
            useISA(isa)
            defer { resetISA() }
            for (i, t) in cases.enumerated() {
                var rng = SeededRNG(seed: UInt64(100 + i))
                let g = directGraph(t, rng: &rng)
                let (got, want) = try runBoth(g, batch: t.batch, seed: UInt64(i), threads: 1 + i % 3)
                assertInformative(want)
                XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-5, "case \(i) isa \(isa): \(t)")
            }
        }
    }

    func testDirectConvIsExactOnSmallIntegers() throws {
        // Small integers: every product and partial sum is exact in Float.
        var rng = SeededRNG(seed: 7)
        let (c, h, w, k) = (3, 6, 7, 4)
        let wt = (0..<(k * c * 9)).map { _ in Float(Int.random(in: -3...3, using: &rng)) }
        let conv = Node(name: "conv", op: .conv, inputs: ["x"], output: "y", weights: ["w"],
                        attributes: ["pads": .ints([1, 1, 1, 1])])
        let g = makeGraph(input: [c, h, w], nodes: [conv], tensors: [Tensor(name: "w", shape: [k, c, 3, 3], data: .dense(wt))])
        let x = (0..<(c * h * w)).map { _ in Float(Int.random(in: -4...4, using: &rng)) }
        let got = try Model(graph: g).predict(x)
        let want = try ReferenceExecutor(graph: g).run(x, batch: 1)
        XCTAssertEqual(got, want.map { Float($0) })
    }

    /// Winograd-domain weights from spatial filters; engine Winograd vs reference direct conv.
    func winogradPair(tile: WinogradVariant, c: Int, h: Int, w: Int, k: Int, groups: Int, pads: [Int],
                      rng: inout SeededRNG) -> (winograd: ModelGraph, direct: ModelGraph) {
        let r = tile.r, cg = c / groups
        let spatial = rng.floats(k * cg * r * r)
        let u = WinogradWeights.fromSpatial(spatial, k: k, c: cg, tile: WinogradTile(rawValue: Int(tile.rawValue))!)
        let bias = Tensor(name: "b", shape: [k], data: .dense(rng.floats(k)))
        let attrs: [String: AttributeValue] = ["pads": .ints(pads.map(Int64.init)), "group": .int(Int64(groups))]
        let (nodes, tensors, name) = stem(channels: c, rng: &rng)
        let wg = makeGraph(input: [1, h, w], nodes: nodes + [
            Node(name: "conv", op: .winogradConv, inputs: [name], output: "y", weights: ["w", "b"], attributes: attrs)],
            tensors: tensors + [Tensor(name: "w", shape: [tile.alpha, tile.alpha, k, cg], winograd: tile, data: .dense(u)), bias])
        let dg = makeGraph(input: [1, h, w], nodes: nodes + [
            Node(name: "conv", op: .conv, inputs: [name], output: "y", weights: ["w", "b"], attributes: attrs)],
            tensors: tensors + [Tensor(name: "w", shape: [k, cg, r, r], data: .dense(spatial)), bias])
        return (wg, dg)
    }

    func testWinogradMatchesDirectConv() throws {
        let shapes: [(WinogradVariant, Int, Int, Int, Int, Int, [Int], Double)] = [
            (.f2x2_3x3, 4, 7, 9, 5, 1, [1, 1, 1, 1], 1e-5),
            (.f4x4_3x3, 6, 13, 10, 4, 2, [1, 1, 1, 1], 1e-5),
            (.f4x4_3x3, 3, 9, 9, 3, 1, [0, 2, 1, 0], 1e-5),
            (.f4x4_5x5, 4, 11, 12, 4, 1, [2, 2, 2, 2], 3e-5),
            (.f4x4_5x5, 4, 9, 9, 4, 2, [0, 1, 2, 0], 3e-5),
        ]
        for (i, s) in shapes.enumerated() {
            var rng = SeededRNG(seed: UInt64(200 + i))
            let (wg, dg) = winogradPair(tile: s.0, c: s.1, h: s.2, w: s.3, k: s.4, groups: s.5, pads: s.6, rng: &rng)
            var xr = SeededRNG(seed: UInt64(i))
            let x = xr.floats(s.2 * s.3 * 2)
            let got = try Model(graph: wg).predict(x, batch: 2)
            let direct = try ReferenceExecutor(graph: dg).run(x, batch: 2)
            let literal = try ReferenceExecutor(graph: wg).run(x, batch: 2)
            assertInformative(direct)
            XCTAssertLessThanOrEqual(relativeL2(got, direct), s.7, "case \(i) \(s.0): Winograd engine vs direct")
            // The Double reference Winograd equals direct conv up to the Float rounding of U.
            XCTAssertLessThanOrEqual(relativeL2(literal.map { Float($0) }, direct), 1e-6, "case \(i): reference Winograd vs direct")
        }
    }

    func testSparseWinogradMatchesReference() throws {
        // Natively pruned weights have no spatial equivalent: compare with the literal tile math.
        for (i, tile) in WinogradVariant.allCases.enumerated() {
            for density in [0.0, 0.1, 0.5, 1.0] {
                var rng = SeededRNG(seed: UInt64(300 + i))
                let (c, k, groups) = (4, 6, 2)
                let a = tile.alpha, cg = c / groups
                let u = rng.sparse(a * a * k * cg, density: density)
                let (nodes, tensors, name) = stem(channels: c, rng: &rng)
                let g = makeGraph(input: [1, 10, 7], nodes: nodes + [
                    Node(name: "conv", op: .winogradConv, inputs: [name], output: "y", weights: ["w", "b"],
                         attributes: ["pads": .ints([1, 2, 1, 0]), "group": .int(Int64(groups))])],
                    tensors: tensors + [Tensor(name: "w", shape: [a, a, k, cg], winograd: tile,
                                               data: .csr(CSRMatrix(dense: u, rows: a * a * k, cols: cg))),
                                        Tensor(name: "b", shape: [k], data: .dense(rng.floats(k)))])
                let (got, want) = try runBoth(g, batch: 2, seed: 9)
                if density == 0 {
                    // Only the bias survives: exact.
                    XCTAssertEqual(got, want.map { Float($0) })
                } else {
                    assertInformative(want)
                    XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-5, "\(tile) density \(density)")
                }
            }
        }
    }

    /// One padded Winograd conv layer (ReLU fused) of `c` -> `k` channels on an h x w input, with
    /// weights at `density` (CSR below 1, dense at 1) and a bias, behind the 1-channel stem.
    private func winogradLayer(_ tile: WinogradVariant, h: Int, w: Int, c: Int, k: Int, density: Double,
                               rng: inout SeededRNG) -> ModelGraph {
        let a = tile.alpha
        let u = rng.sparse(a * a * k * c, density: density)
        return winogradLayer(tile, h: h, w: w, c: c, k: k, weights: u, dense: density >= 1, relu: true, rng: &rng)
    }

    /// A stem and one Winograd conv (pads r / 2, `groups`, fused ReLU when `relu`) of the
    /// Winograd-domain weights `u` ([alpha, alpha, k, c / groups]; CSR, or dense when `dense`).
    private func winogradLayer(_ tile: WinogradVariant, h: Int, w: Int, c: Int, k: Int, groups: Int = 1,
                               weights u: [Float], dense: Bool = false, relu: Bool, rng: inout SeededRNG) -> ModelGraph {
        let a = tile.alpha, cg = c / groups
        let data: TensorData = dense ? .dense(u) : .csr(CSRMatrix(dense: u, rows: a * a * k, cols: cg))
        let (nodes, tensors, name) = stem(channels: c, rng: &rng)
        let pad = Int64(tile.r / 2)
        var attributes: [String: AttributeValue] = ["pads": .ints([pad, pad, pad, pad]), "group": .int(Int64(groups))]
        if relu { attributes["relu"] = .int(1) }
        return makeGraph(input: [1, h, w], nodes: nodes + [
            Node(name: "conv", op: .winogradConv, inputs: [name], output: "y", weights: ["w", "b"], attributes: attributes)],
            tensors: tensors + [Tensor(name: "w", shape: [a, a, k, cg], winograd: tile, data: data),
                                Tensor(name: "b", shape: [k], data: .dense(rng.floats(k)))])
    }

    /// Larger planes: several tile blocks (16 and 32 tiles), partial blocks, out-channel
    /// chunks, dense weights (the register-blocked product: groups of 6 out-channels and a
    /// remainder, row and raster blocks); every kernel implementation; any thread count
    /// gives the same bits.
    func testBlockedKernelsOnLargerPlanes() throws {
        // Every instruction set (2 AVX-512, emulated where the CPU has only AVX2; 1 AVX2; 0 portable).
        for isa in kernelISAs() {
            useISA(isa)
            defer { resetISA() }
            for (i, tile) in WinogradVariant.allCases.enumerated() {
                for (h, w, c, k, density) in [(30, 37, 5, 12, 0.3), (9, 70, 20, 3, 1.0), (20, 80, 6, 4, 0.7),
                                              (13, 40, 7, 14, 1.0), (11, 11, 9, 13, 1.0)] {
                    var rng = SeededRNG(seed: UInt64(400 + i))
                    let g = winogradLayer(tile, h: h, w: w, c: c, k: k, density: density, rng: &rng)
                    try assertMatchesReferenceOnAnyThreads(g, batch: 2, seed: 5, tolerance: tile == .f4x4_5x5 ? 3e-5 : 1e-5,
                                                           threads: [2, 3, 5], "\(tile) \(h)x\(w) isa \(isa)")
                }
            }
        }
    }

    /// Out-channels run in product chunks of KC (`wk_wino_geom.KC`, normally all of a group's):
    /// chunks of 7 and 32 out of 40 (several chunks and a tail) give the same bits as one
    /// chunk, on row blocks and raster blocks, sparse and dense weights, every kernel
    /// implementation and 1 or 2 threads.
    func testOutChannelChunksGiveTheSameBits() throws {
        for isa in kernelISAs() {
            useISA(isa)
            defer { resetISA(); wk_set_kchunk_cap(0) }
            for (i, tile) in WinogradVariant.allCases.enumerated() {
                for (h, w, density) in [(9, 70, 0.3), (11, 11, 1.0), (10, 12, 0.2)] {
                    var rng = SeededRNG(seed: UInt64(700 + i))
                    let g = winogradLayer(tile, h: h, w: w, c: 6, k: 40, density: density, rng: &rng)
                    wk_set_kchunk_cap(0)
                    let (got, want) = try runBoth(g, batch: 2, seed: 8, threads: 1)
                    assertInformative(want)
                    XCTAssertLessThanOrEqual(relativeL2(got, want), tile == .f4x4_5x5 ? 3e-5 : 1e-5, "\(tile) \(h)x\(w) isa \(isa)")
                    for cap in [7, 32] {
                        wk_set_kchunk_cap(Int32(cap))
                        for t in [1, 2] {
                            let (other, _) = try runBoth(g, batch: 2, seed: 8, threads: t)
                            XCTAssertEqual(other.map(\.bitPattern), got.map(\.bitPattern), "\(tile) \(h)x\(w) isa \(isa) chunks of \(cap), threads \(t)")
                        }
                    }
                }
            }
        }
    }

    /// Non-temporal output stores (large outputs whose rows are whole cache lines; forced on
    /// here for small ones): against the reference and the same bits as plain stores, with
    /// whole and partial row groups (widths 32, 48 and 80: partial groups and edge rows go
    /// through plain stores on lines of their own), and 1 or 2 threads.
    func testNonTemporalOutputStoresGiveTheSameBits() throws {
        for isa in kernelISAs() {
            useISA(isa)
            defer { resetISA(); wk_set_stream(-1) }
            for (i, tile) in WinogradVariant.allCases.enumerated() {
                for (h, w) in [(18, 32), (9, 48), (7, 80)] {
                    var rng = SeededRNG(seed: UInt64(950 + i))
                    // A 1x1 max pool after the conv: its output is then the engine's own (64-byte
                    // aligned) activation buffer, not the caller's array.
                    let conv = winogradLayer(tile, h: h, w: w, c: 5, k: 6, density: 0.5, rng: &rng)
                    let pool = Node(name: "pool", op: .maxPool, inputs: ["y"], output: "z",
                                    attributes: ["kernel": .ints([1, 1]), "strides": .ints([1, 1])])
                    let g = ModelGraph(metadata: conv.metadata, input: conv.input, output: "z",
                                       nodes: conv.nodes + [pool], tensors: conv.tensors)
                    wk_set_stream(0)
                    let plain = try assertMatchesReferenceOnAnyThreads(g, batch: 2, seed: 4, tolerance: tile == .f4x4_5x5 ? 3e-5 : 1e-5,
                                                                       threads: [2], "\(tile) \(h)x\(w) isa \(isa)")
                    wk_set_stream(1)
                    for t in [1, 2] {
                        let (streamed, _) = try runBoth(g, batch: 2, seed: 4, threads: t)
                        XCTAssertEqual(streamed.map(\.bitPattern), plain.map(\.bitPattern), "\(tile) \(h)x\(w) isa \(isa), non-temporal, threads \(t)")
                    }
                }
            }
        }
    }

    /// Positions at least 80% dense are stored with every entry and run the register-blocked
    /// dense product, the others sparse, in one layer: against the reference (zeros stored in
    /// the dense positions included), groups, row and raster blocks, 6-row steps with a
    /// remainder (14 out-channels per group), sorted and unsorted rows; the same bits for any
    /// thread count.
    func testDensePositionsAmongSparseOnes() throws {
        for isa in kernelISAs() {
            useISA(isa)
            defer { resetISA() }
            for (i, tile) in WinogradVariant.allCases.enumerated() {
                for (h, w, c, groups) in [(9, 70, 40, 2), (11, 11, 24, 1), (6, 6, 100, 2)] {
                    var rng = SeededRNG(seed: UInt64(980 + i))
                    let a = tile.alpha, k = 28, cg = c / groups
                    // Positions 0 and a2 - 1 at 90% density (dense), position 1 at 70% (sparse),
                    // the rest at 30%.
                    var u = [Float]()
                    for xi in 0..<(a * a) {
                        let density = xi == 0 || xi == a * a - 1 ? 0.9 : (xi == 1 ? 0.7 : 0.3)
                        u += rng.sparse(k * cg, density: density)
                    }
                    let g = winogradLayer(tile, h: h, w: w, c: c, k: k, groups: groups, weights: u, relu: false, rng: &rng)
                    let explained = try Model(graph: g).layerDescriptions.joined(separator: "\n")
                    XCTAssertTrue(explained.contains("2 of \(a * a) positions stored dense"), explained)
                    try assertMatchesReferenceOnAnyThreads(g, batch: 3, seed: 6, tolerance: tile == .f4x4_5x5 ? 3e-5 : 1e-5,
                                                           threads: [2, 3, 5], "\(tile) \(h)x\(w) c \(c) isa \(isa)")
                }
            }
        }
    }

    /// Rows of 8 or more entries on average are stored shortest first within windows of
    /// out-channels (the split of a group at batch 1 for the model's thread count, or the
    /// product chunk), and the output transform finds each out-channel's products through the
    /// permutation: against the reference, with windows of a product chunk, of 7 and of 16
    /// out-channels (tails where they do not divide a group's 80 or 40) and those of 2, 3 and
    /// 16 threads, row and raster blocks, groups, rows of different lengths and empty rows;
    /// the same bits for any window, chunk and thread count.
    func testRowsSortedByLengthWithinWindows() throws {
        for isa in kernelISAs() {
            useISA(isa)
            defer { resetISA(); wk_set_kchunk_cap(0) }
            for (i, tile) in WinogradVariant.allCases.enumerated() {
                for (h, w, groups) in [(9, 70, 1), (11, 11, 2), (6, 6, 1)] {
                    var rng = SeededRNG(seed: UInt64(900 + i))
                    let a = tile.alpha, c = 48, k = 80, cg = c / groups
                    // Row lengths from 0 to cg: a few empty rows, most around 40% of cg.
                    var u = [Float](repeating: 0, count: a * a * k * cg)
                    for row in 0..<(a * a * k) {
                        let density = row % 13 == 0 ? 0 : Double(row % 7 + 1) / 10
                        for (j, v) in rng.sparse(cg, density: density).enumerated() { u[row * cg + j] = v }
                    }
                    let g = winogradLayer(tile, h: h, w: w, c: c, k: k, groups: groups, weights: u, relu: false, rng: &rng)
                    let label = "\(tile) \(h)x\(w) groups \(groups) isa \(isa)"
                    let explained = try Model(graph: g).layerDescriptions.joined(separator: "\n")
                    XCTAssertTrue(explained.contains("rows sorted by length in windows of "), explained)
                    let got = try assertMatchesReferenceOnAnyThreads(g, batch: 3, seed: 9, tolerance: tile == .f4x4_5x5 ? 3e-5 : 1e-5,
                                                                     threads: [2, 3, 16], label)
                    for cap in [7, 16] {
                        wk_set_kchunk_cap(Int32(cap))
                        defer { wk_set_kchunk_cap(0) }
                        let windows = try Model(graph: g).layerDescriptions.joined(separator: "\n")
                        XCTAssertTrue(windows.contains("in windows of \(cap) out-channels"), windows)
                        for t in [1, 2, 5] {
                            let (other, _) = try runBoth(g, batch: 3, seed: 9, threads: t)
                            XCTAssertEqual(other.map(\.bitPattern), got.map(\.bitPattern), "\(label), windows of \(cap), threads \(t)")
                        }
                    }
                }
            }
        }
    }

    /// Empty CSR rows (whole positions and single rows, as Winograd-domain pruning leaves them)
    /// compute no product and read zeros: against the reference on every ISA, with rows sorted
    /// (long rows) and in out-channel order (short rows), a dense position among them, several
    /// product chunks (stale M rows from the previous chunk must not be read) and the same bits
    /// for any thread count.
    func testEmptyRowsComputeNoProduct() throws {
        for isa in kernelISAs() {
            useISA(isa)
            defer { resetISA(); wk_set_kchunk_cap(0) }
            for (i, tile) in WinogradVariant.allCases.enumerated() {
                for (h, w, groups, density) in [(9, 70, 1, 0.4), (11, 11, 2, 0.4), (9, 70, 1, 0.12), (6, 6, 1, 0.12)] {
                    var rng = SeededRNG(seed: UInt64(950 + i))
                    let a = tile.alpha, c = 48, k = 40, cg = c / groups
                    // Every third position empty, position 1 dense (90%), elsewhere every 4th row empty.
                    var u = [Float](repeating: 0, count: a * a * k * cg)
                    for row in 0..<(a * a * k) {
                        let xi = row / k
                        let d = xi % 3 == 0 ? 0 : (xi == 1 ? 0.9 : (row % 4 == 0 ? 0 : density))
                        for (j, v) in rng.sparse(cg, density: d).enumerated() { u[row * cg + j] = v }
                    }
                    let g = winogradLayer(tile, h: h, w: w, c: c, k: k, groups: groups, weights: u, relu: false, rng: &rng)
                    let label = "\(tile) \(h)x\(w) groups \(groups) density \(density) isa \(isa)"
                    let explained = try Model(graph: g).layerDescriptions.joined(separator: "\n")
                    XCTAssertTrue(explained.contains("rows empty (no product)") && explained.contains("1 of \(a * a) positions stored dense"), explained)
                    let dead = (0..<(a * a)).filter { $0 % 3 == 0 }.count * groups
                    XCTAssertTrue(explained.contains(", \(dead) of \(groups * a * a) \(groups > 1 ? "group positions" : "positions") empty (not transformed)"), explained)
                    // Rows of 14 entries on average are sorted (groups of 24 channels: 7, not sorted).
                    XCTAssertEqual(explained.contains("rows sorted by length"), density > 0.3 && groups == 1, explained)
                    let got = try assertMatchesReferenceOnAnyThreads(g, batch: 2, seed: 9, tolerance: tile == .f4x4_5x5 ? 3e-5 : 1e-5,
                                                                     threads: [3, 16], label)
                    wk_set_kchunk_cap(7)
                    defer { wk_set_kchunk_cap(0) }
                    for t in [1, 2] {
                        let (other, _) = try runBoth(g, batch: 2, seed: 9, threads: t)
                        XCTAssertEqual(other.map(\.bitPattern), got.map(\.bitPattern), "\(label), chunks of 7, threads \(t)")
                    }
                }
            }
        }
    }

    /// A model keeps the vector width it was planned for at load: when the instruction set
    /// changes afterwards (a cap, or AVX-512 emulation turned on), its blocks (24 tiles wide
    /// here: a plan for AVX2, not whole AVX-512 vectors) run on the widest set that fits the
    /// plan, with the plan's bits; a plan for a wider set runs correctly on a narrower one.
    func testModelsKeepTheVectorWidthTheyWerePlannedFor() throws {
        let isas = kernelISAs()
        for (i, tile) in WinogradVariant.allCases.enumerated() {
            var rng = SeededRNG(seed: UInt64(1100 + i))
            // 80 columns: 20 tiles per row with F(4x4, *), 40 with F(2x2,3x3); TB 32 or 64.
            let g = winogradLayer(tile, h: 9, w: 80, c: 6, k: 10, density: 0.4, rng: &rng)
            var x = SeededRNG(seed: 5)
            let input = x.floats(9 * 80 * 2)
            let want = try ReferenceExecutor(graph: g).run(input, batch: 2)
            for planned in isas {
                useISA(planned)
                let model = try Model(graph: g)
                let own = try model.predict(input, batch: 2)
                for now in isas where now != planned {
                    useISA(now)
                    defer { resetISA() }
                    let got = try model.predict(input, batch: 2)
                    let label = "\(tile) planned for isa \(planned), run with isa \(now) in use"
                    let runs = min(planned, now) == 0 ? "portable kernel" : (min(planned, now) == 1 ? "AVX2 kernel" : "AVX-512")
                    XCTAssertTrue(model.layerDescriptions.joined().contains(runs), "\(label): \(model.layerDescriptions)")
                    XCTAssertLessThanOrEqual(relativeL2(got, want), tile == .f4x4_5x5 ? 3e-5 : 1e-5, label)
                    if now > planned { XCTAssertEqual(got.map(\.bitPattern), own.map(\.bitPattern), label) }
                }
                resetISA()
            }
        }
    }

    /// Small planes (fewer tiles per row than a vector): blocks run across the images of a
    /// batch (block widths 16, 32, 64 chosen per call), and with fewer blocks than threads
    /// the threads share one input transform. Each case against the reference; any thread
    /// count gives the same bits; groups and all three column widths (8-bit channels up to
    /// 256 channels, 16-bit offsets for 300, 32-bit offsets for 4100).
    /// Blocks of stacked tile rows (`wk_wino_geom.rowLanes`: rows of 8-32 tiles, or 7 of 8 lanes,
    /// each in its width rounded up to the vector width, dead lanes after it; up to 64 lanes,
    /// rows spread evenly): against the reference and within rounding of one-row or raster
    /// blocks (`wk_set_stacked_rows(1)`), with tile rows of 7-32 tiles (7: 8 rows of 8 lanes;
    /// 23: 2 rows of 24; with AVX-512, 15: 4 rows of 16), uneven row counts, groups, batches
    /// of 1 and 3, every kernel implementation, and the same bits for any thread count (2 and 16
    /// threads share the input transform of a block). Dense weights are not stacked.
    func testStackedTileRows() throws {
        for isa in kernelISAs() {
            useISA(isa)
            defer { resetISA(); wk_set_stacked_rows(8) }
            for (i, tile) in WinogradVariant.allCases.enumerated() {
                for (h, w, c, k, groups, density) in [(23, 38, 5, 7, 1, 0.4), (9, 30, 4, 6, 2, 0.5), (30, 50, 3, 9, 1, 1.0),
                                                      (13, 32, 6, 4, 2, 0.3), (6, 64, 2, 5, 1, 0.6), (17, 128, 2, 3, 1, 0.5),
                                                      (11, 90, 3, 5, 1, 0.5), (30, 27, 4, 6, 2, 0.4)] {
                    var rng = SeededRNG(seed: UInt64(1100 + i))
                    let a = tile.alpha, cg = c / groups
                    let u = rng.sparse(a * a * k * cg, density: density)
                    let g = winogradLayer(tile, h: h, w: w, c: c, k: k, groups: groups, weights: u, dense: density >= 1,
                                          relu: true, rng: &rng)
                    let tilesW = (w + tile.m - 1) / tile.m, tilesH = (h + tile.m - 1) / tile.m
                    let vw = Int(wk_vector_width())
                    let label = "\(tile) \(h)x\(w) (\(tilesW) tiles wide) groups \(groups) isa \(isa)"
                    wk_set_stacked_rows(8)
                    let explained = try Model(graph: g).layerDescriptions.joined(separator: "\n")
                    // (Dense weights keep one-row blocks.)
                    let stackable = vw > 1 && tilesW <= 32 && (tilesW >= vw || tilesW * 8 >= 7 * vw)
                    XCTAssertEqual(explained.contains("tile rows ("), density < 1 && stackable && tilesH > 1, "\(label): \(explained)")
                    for batch in [1, 3] {
                        let got = try assertMatchesReferenceOnAnyThreads(g, batch: batch, seed: 12, tolerance: tile == .f4x4_5x5 ? 3e-5 : 1e-5,
                                                                         threads: [2, 3, 16], "\(label) batch \(batch)")
                        wk_set_stacked_rows(1)
                        let (single, _) = try runBoth(g, batch: batch, seed: 12, threads: 2)
                        XCTAssertFalse(try Model(graph: g).layerDescriptions.joined().contains("tile rows ("), label)
                        wk_set_stacked_rows(8)
                        XCTAssertLessThanOrEqual(relativeL2(got, single.map(Double.init)), 1e-6, "\(label) batch \(batch): stacked vs one row")
                    }
                }
            }
        }
    }

    func testRasterBlocksAcrossImagesAndSharedInput() throws {
        // AVX2 runs three times: small planes read with masked loads where they apply (its
        // default), always staged, and the masked gathers AVX-512 uses.
        for (isa, staged) in kernelISAs().flatMap({ isa in isa == 1 ? [(isa, 2), (isa, 1), (isa, 0)] : [(isa, 2)] }) {
            useISA(isa)
            wk_set_staging(Int32(staged))
            defer { resetISA(); wk_set_staging(2) }
            for (i, tile) in WinogradVariant.allCases.enumerated() {
                for (hw, c, k, groups, batches) in [(13, 8, 12, 1, [1, 4, 5, 9]), (7, 6, 8, 2, [1, 3]), (5, 300, 3, 1, [2]), (4, 4100, 2, 1, [2])] {
                    var rng = SeededRNG(seed: UInt64(500 + i))
                    let a = tile.alpha, cg = c / groups
                    let u = rng.sparse(a * a * k * cg, density: 0.4)
                    let g = winogradLayer(tile, h: hw, w: hw, c: c, k: k, groups: groups, weights: u, relu: c <= 4096, rng: &rng)
                    let explained = try Model(graph: g).layerDescriptions.joined(separator: "\n")
                    let width = cg > 4096 ? "32-bit column offsets" : (cg > 256 ? "16-bit column offsets" : "8-bit column indices")
                    XCTAssertTrue(explained.contains(width), explained)
                    for batch in batches {
                        let (got, want) = try runBoth(g, batch: batch, seed: 6, threads: 1)
                        assertInformative(want)
                        XCTAssertLessThanOrEqual(relativeL2(got, want), tile == .f4x4_5x5 ? 3e-5 : 1e-5,
                                                 "\(tile) \(hw)x\(hw) c \(c) batch \(batch) isa \(isa) staged \(staged)")
                        for t in [2, 3, 16] {
                            let (other, _) = try runBoth(g, batch: batch, seed: 6, threads: t)
                            XCTAssertEqual(other.map(\.bitPattern), got.map(\.bitPattern), "\(tile) batch \(batch) threads \(t)")
                        }
                    }
                }
            }
        }
    }
}
