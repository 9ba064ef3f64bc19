// Helpers shared by the engine tests: a seeded generator, graph builders, error metrics.
import CWinoKernels
import WinoEngine
import WinoFormat
import WinoKernels
import WinoReference
import XCTest

/// SplitMix64: a tiny deterministic generator.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func floats(_ n: Int, _ range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<n).map { _ in Float.random(in: range, using: &self) }
    }
    /// Keeps roughly `density` of the values (the rest zero).
    mutating func sparse(_ n: Int, density: Double) -> [Float] {
        (0..<n).map { _ in Double.random(in: 0..<1, using: &self) < density ? Float.random(in: -1...1, using: &self) : 0 }
    }
}

/// A one-channel-agnostic metadata for tests: input [c, h, w], no preprocessing.
func testMetadata(_ shape: [Int]) -> ModelMetadata {
    ModelMetadata(name: "test", inputShape: shape, channelOrder: shape[0] == 1 ? .gray : (shape[0] == 3 ? .rgb : .gray))
}

/// Builds a graph from nodes; the metadata channel order is not checked by these tests, so
/// channel counts other than 1 and 3 bypass metadata validation by using a wrapper shape.
func makeGraph(input: [Int], nodes: [Node], tensors: [Tensor]) -> ModelGraph {
    var meta = ModelMetadata(name: "test", inputShape: input, channelOrder: .gray)
    meta.channelOrder = input[0] == 3 ? .rgb : .gray
    return ModelGraph(metadata: meta, input: "x", output: nodes.last!.output, nodes: nodes, tensors: tensors)
}

/// Relative L2 error ||a - b|| / ||b||.
func relativeL2(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "size mismatch \(a.count) vs \(b.count)")
    var num = 0.0, den = 0.0
    for i in 0..<a.count { let d = Double(a[i]) - b[i]; num += d * d; den += b[i] * b[i] }
    return den == 0 ? sqrt(num) : sqrt(num / den)
}

/// Asserts that most outputs are nonzero, so that an error bound means something.
func assertInformative(_ b: [Double], file: StaticString = #filePath, line: UInt = #line) {
    let nonzero = b.filter { abs($0) > 1e-12 }.count
    XCTAssertGreaterThan(nonzero, b.count / 3, "reference output is mostly zero: the comparison proves little", file: file, line: line)
}

/// Runs a graph through the engine and the reference; returns (engine, reference).
func runBoth(_ g: ModelGraph, batch: Int, seed: UInt64, threads: Int = 1) throws -> ([Float], [Double]) {
    var rng = SeededRNG(seed: seed)
    let x = rng.floats(g.metadata.inputShape.reduce(1, *) * batch)
    let model = try Model(graph: g, options: .init(threads: threads))
    let got = try model.predict(x, batch: batch)
    let want = try ReferenceExecutor(graph: g).run(x, batch: batch)
    return (got, want)
}

/// Runs `g` on one thread against the reference (informative, relative L2 <= `tolerance`),
/// then on each of `threads` threads, asserting the same bits; returns the one-thread output.
@discardableResult
func assertMatchesReferenceOnAnyThreads(_ g: ModelGraph, batch: Int, seed: UInt64, tolerance: Double, threads: [Int],
                                        _ label: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Float] {
    let (got, want) = try runBoth(g, batch: batch, seed: seed, threads: 1)
    assertInformative(want, file: file, line: line)
    XCTAssertLessThanOrEqual(relativeL2(got, want), tolerance, label, file: file, line: line)
    for t in threads {
        let (other, _) = try runBoth(g, batch: batch, seed: seed, threads: t)
        XCTAssertEqual(other.map(\.bitPattern), got.map(\.bitPattern), "\(label), threads \(t)", file: file, line: line)
    }
    return got
}

/// Metadata checks need C in {1, 3}; tests with other channel counts put a 1x1 conv
/// from a 1-channel input in front. This builds that stem: returns nodes, tensors and the
/// activation name carrying `c` channels.
func stem(channels c: Int, rng: inout SeededRNG) -> ([Node], [Tensor], String) {
    let w = Tensor(name: "stem.w", shape: [c, 1, 1, 1], data: .dense(rng.floats(c, 0.5...1.5)))
    let b = Tensor(name: "stem.b", shape: [c], data: .dense(rng.floats(c)))
    return ([Node(name: "stem", op: .conv, inputs: ["x"], output: "s", weights: ["stem.w", "stem.b"])], [w, b], "s")
}

/// The kernel instruction sets the Winograd tests run, best first: 2 (AVX-512; where the CPU
/// has AVX2 but not AVX-512, the AVX-512 body compiled for AVX2, `wk_emulate_avx512`),
/// 1 (AVX2) and 0 (portable C), those this CPU can run.
func kernelISAs() -> [Int] {
    wk_emulate_avx512(1)
    defer { wk_emulate_avx512(0) }
    return Array((0...Int(wk_isa())).reversed())
}

/// Selects instruction set `isa` of `kernelISAs()` for the models loaded next.
func useISA(_ isa: Int) {
    wk_emulate_avx512(isa == 2 ? 1 : 0)
    wk_limit_isa(Int32(isa))
}

/// Restores the default instruction set (no emulation).
func resetISA() {
    wk_emulate_avx512(0)
    wk_reset_isa()
}
