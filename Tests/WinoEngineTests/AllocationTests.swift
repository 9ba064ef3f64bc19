// After the first request of a batch size, `predict(_:batch:into:)` allocates nothing
// on a single-threaded model (the setting for services running many requests): workspaces
// are reused and parallel loops keep their closures on the stack. With a thread pool each
// parallel loop still costs Swift one small allocation (handing the loop body to the
// workers); the test pins that number so that it cannot grow unnoticed.
import MallocCounter
import WinoEngine
import WinoFormat
import XCTest

final class AllocationTests: XCTestCase {
    func testPredictIntoBufferAllocatesNothingAfterWarmUp() throws {
        #if DEBUG
        // Unoptimised builds box values in unspecialised generic code; the claim is about
        // the optimised library, and `make test` runs this test in the release build too.
        throw XCTSkip("allocation counts are only meaningful in optimised builds")
        #endif
        for threads in [1, 2] {
            let model = try Model(graph: smallNetwork(seed: 21), options: .init(threads: threads))
            var rng = SeededRNG(seed: 4)
            let input = rng.floats(3 * 27 * 25 * 2)
            var output = [Float](repeating: 0, count: 5 * 2)
            try input.withUnsafeBufferPointer { inp in
                try output.withUnsafeMutableBufferPointer { out in
                    try model.predict(inp, batch: 2, into: out)           // warm-up: creates the workspace
                    let before = mc_allocations()
                    for _ in 0..<5 { try model.predict(inp, batch: 2, into: out) }
                    let after = mc_allocations()
                    // smallNetwork runs about a dozen parallel loops per prediction (its 5x5
                    // stride-2 conv1 runs as space-to-depth + Winograd: two or three loops).
                    // The bound is 12 allocations per prediction.
                    XCTAssertLessThanOrEqual(after - before, threads == 1 ? 0 : 5 * 12,
                                             "heap allocations in 5 predictions with \(threads) thread(s)")
                }
            }
            // The counter does count: an array allocation is seen.
            let before = mc_allocations()
            _ = try model.predict(input, batch: 2)
            XCTAssertGreaterThan(mc_allocations() - before, 0)
            XCTAssertEqual(try model.predict(input, batch: 2), output)
        }
    }

    /// A fully connected layer whose rows are stored in column chunks (`WeightMatrix`) adds
    /// their partial sums in stack memory: nothing is allocated after warm-up, at batch 1
    /// (rows x vector) and at batch 3 (8 images per pass).
    func testChunkedFullyConnectedAllocatesNothingAfterWarmUp() throws {
        #if DEBUG
        throw XCTSkip("allocation counts are only meaningful in optimised builds")
        #endif
        var rng = SeededRNG(seed: 31)
        let (o, f) = (70, 5000)
        let w = rng.sparse(o * f, density: 0.1)
        let node = Node(name: "fc", op: .fullyConnected, inputs: ["x"], output: "y", weights: ["w"])
        let g = ModelGraph(metadata: ModelMetadata(name: "fc", inputShape: [f, 1, 1], channelOrder: .tensor),
                           input: "x", output: "y", nodes: [node],
                           tensors: [Tensor(name: "w", shape: [o, f], data: .csr(CSRMatrix(dense: w, rows: o, cols: f)))])
        let model = try Model(graph: g)
        for batch in [1, 3] {
            let input = rng.floats(f * batch)
            var output = [Float](repeating: 0, count: o * batch)
            try input.withUnsafeBufferPointer { inp in
                try output.withUnsafeMutableBufferPointer { out in
                    try model.predict(inp, batch: batch, into: out)
                    let before = mc_allocations()
                    for _ in 0..<5 { try model.predict(inp, batch: batch, into: out) }
                    XCTAssertEqual(mc_allocations() - before, 0, "heap allocations in 5 predictions at batch \(batch)")
                }
            }
        }
    }
}
