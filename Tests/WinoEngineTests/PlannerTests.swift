// The load-time planner: which direct convolutions run as dense Winograd, why, and that the
// result still equals the Double reference.
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

    func testIneligibleConvolutionsStayDirectWithTheReason() throws {
        let cases: [(ModelGraph, String)] = [
            (convGraph(c: 4, k: 24, h: 13, w: 13, r: 3), "4 in / 24 out channels per group < 8"),
            (convGraph(c: 16, k: 24, h: 13, w: 13, r: 3, stride: 2), "no Winograd form for 3x3 stride 2"),
            (convGraph(c: 16, k: 24, h: 3, w: 3, r: 3), "smaller than one 4x4 tile"),
            (convGraph(c: 16, k: 24, h: 13, w: 13, r: 3, density: 0.2), "20% dense"),
        ]
        for (g, why) in cases {
            let e = explanation(try Model(graph: g))
            XCTAssertTrue(e.contains("direct conv") && e.contains(why), e)
        }
    }
}
