// The load-time planner: which direct convolutions run as dense Winograd, why, and that the
// result still equals the Double reference.
import CWinoKernels
import WinoEngine
import WinoFormat
import WinoReference
import XCTest

final class PlannerTests: XCTestCase {
    func convGraph(c: Int, k: Int, h: Int, w: Int, r: Int, stride: Int = 1, groups: Int = 1, density: Double = 1) -> ModelGraph {
        var rng = SeededRNG(seed: UInt64(c * 100 + k + r))
        let (nodes, tensors, name) = stem(channels: c, rng: &rng)
        var wt = rng.floats(k * (c / groups) * r * r)
        if density < 1 { for i in wt.indices where Double(i % 10) >= density * 10 { wt[i] = 0 } }
        let data: TensorData = density < 1 ? .csr(CSRMatrix(dense: wt, rows: k * (c / groups) * r, cols: r)) : .dense(wt)
        let p = Int64(r / 2)
        let conv = Node(name: "conv", op: .conv, inputs: [name], output: "y", weights: ["cw", "cb"],
                        attributes: ["pads": .ints([p, p, p, p]), "strides": .ints([Int64(stride), Int64(stride)]), "group": .int(Int64(groups))])
        return makeGraph(input: [1, h, w], nodes: nodes + [conv],
                         tensors: tensors + [Tensor(name: "cw", shape: [k, c / groups, r, r], data: data),
                                             Tensor(name: "cb", shape: [k], data: .dense(rng.floats(k)))])
    }

    func explanation(_ m: Model) -> String { m.layerDescriptions.first { $0.hasPrefix("conv (") }! }

    func testEligibleConvolutionsRunAsWinogradAndMatchTheReference() throws {
        for (r, tile) in [(3, "F(4x4,3x3)"), (5, "F(4x4,5x5)")] {
            for groups in [1, 2] {
                let g = convGraph(c: 16, k: 24, h: 13, w: 17, r: r, groups: groups)
                let auto = try Model(graph: g, options: .init(threads: 2))
                XCTAssertTrue(explanation(auto).contains("Winograd \(tile)") && explanation(auto).contains("planned from a direct"), explanation(auto))
                let stored = try Model(graph: g, options: .init(planner: .asStored))
                XCTAssertTrue(explanation(stored).contains("direct conv"), explanation(stored))
                var rng = SeededRNG(seed: 5)
                let x = rng.floats(2 * 13 * 17)
                let want = try ReferenceExecutor(graph: g).run(x, batch: 2)
                XCTAssertLessThanOrEqual(relativeL2(try auto.predict(x, batch: 2), want), r == 3 ? 1e-5 : 3e-5)
                XCTAssertLessThanOrEqual(relativeL2(try stored.predict(x, batch: 2), want), 1e-5)
            }
        }
    }

    /// Strided convolutions with ceil(R / s) = 3 run as space-to-depth + Winograd F(4x4,3x3):
    /// within tolerance of the Double reference, bit-identical for any thread count, on every
    /// instruction set, at batch 1 and 3.
    func testStridedConvolutionsRunAsSpaceToDepthWinograd() throws {
        struct Case { var c, k, h, w, r, stride, groups: Int; var pads: [Int64] }
        let cases = [
            Case(c: 3, k: 16, h: 35, w: 43, r: 11, stride: 4, groups: 1, pads: [0, 0, 0, 0]),   // AlexNet conv1's form
            Case(c: 3, k: 12, h: 30, w: 31, r: 11, stride: 4, groups: 1, pads: [2, 1, 0, 3]),
            Case(c: 4, k: 16, h: 17, w: 19, r: 5, stride: 2, groups: 2, pads: [2, 2, 2, 2]),
            Case(c: 2, k: 8, h: 20, w: 23, r: 9, stride: 3, groups: 1, pads: [1, 0, 1, 2]),
            Case(c: 3, k: 9, h: 16, w: 14, r: 6, stride: 2, groups: 1, pads: [2, 2, 2, 2]),
        ]
        for isa in (0...wk_isa()).reversed() {
            wk_limit_isa(Int32(isa))
            defer { wk_reset_isa() }
            for (i, t) in cases.enumerated() {
                var rng = SeededRNG(seed: UInt64(40 + i))
                let (nodes, tensors, name) = stem(channels: t.c, rng: &rng)
                let conv = Node(name: "conv", op: .conv, inputs: [name], output: "y", weights: ["cw", "cb"],
                                attributes: ["pads": .ints(t.pads), "strides": .ints([Int64(t.stride), Int64(t.stride)]),
                                             "group": .int(Int64(t.groups))])
                let g = makeGraph(input: [1, t.h, t.w], nodes: nodes + [conv], tensors: tensors + [
                    Tensor(name: "cw", shape: [t.k, t.c / t.groups, t.r, t.r], data: .dense(rng.floats(t.k * (t.c / t.groups) * t.r * t.r))),
                    Tensor(name: "cb", shape: [t.k], data: .dense(rng.floats(t.k)))])
                for batch in [1, 3] {
                    let x = rng.floats(batch * t.h * t.w)
                    let want = try ReferenceExecutor(graph: g).run(x, batch: batch)
                    assertInformative(want)
                    var first: [Float]? = nil
                    for threads in [1, 2, 3, 16] {
                        let m = try Model(graph: g, options: .init(threads: threads))
                        XCTAssertTrue(explanation(m).contains("space-to-depth (\(t.c * t.stride * t.stride) channels"), explanation(m))
                        let got = try m.predict(x, batch: batch)
                        XCTAssertLessThanOrEqual(relativeL2(got, want), 1e-5, "case \(i) isa \(isa) batch \(batch) threads \(threads)")
                        if let f = first { XCTAssertEqual(got, f, "case \(i) isa \(isa): bits differ at \(threads) threads") } else { first = got }
                    }
                    let stored = try Model(graph: g, options: .init(planner: .asStored))
                    XCTAssertTrue(explanation(stored).contains("direct conv"), explanation(stored))
                }
            }
        }
    }

    func testIneligibleConvolutionsStayDirectWithTheReason() throws {
        let cases: [(ModelGraph, String)] = [
            (convGraph(c: 4, k: 24, h: 13, w: 13, r: 3), "4 in / 24 out channels per group < 8"),
            (convGraph(c: 16, k: 24, h: 13, w: 13, r: 3, stride: 2), "no Winograd form for 3x3 stride 2"),
            // ceil(7 / 2) = 4 phases per axis: no 3x3 form after space-to-depth.
            (convGraph(c: 16, k: 24, h: 13, w: 13, r: 7, stride: 2), "no Winograd form for 7x7 stride 2"),
            (convGraph(c: 16, k: 4, h: 23, w: 23, r: 11, stride: 4), "too few channels or too small an output"),
            (convGraph(c: 16, k: 24, h: 23, w: 23, r: 11, stride: 4, density: 0.2), "20% dense"),
            (convGraph(c: 16, k: 24, h: 3, w: 3, r: 3), "smaller than one 4x4 tile"),
            (convGraph(c: 16, k: 24, h: 13, w: 13, r: 3, density: 0.2), "20% dense"),
        ]
        for (g, why) in cases {
            let e = explanation(try Model(graph: g))
            XCTAssertTrue(e.contains("direct conv") && e.contains(why), e)
        }
    }
}
