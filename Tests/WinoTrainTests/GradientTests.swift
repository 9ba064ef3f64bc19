// Every training layer's backward pass against central finite differences, in Double.
import WinoKernels
import XCTest
@testable import WinoTrain

final class GradientTests: XCTestCase {
    var rng = SplitMix64(seed: 7)
    func rand(_ n: Int) -> [Double] { (0..<n).map { _ in Double.random(in: -1...1, using: &rng) } }

    /// Checks dL/dx and dL/dparams of L = sum(y * r) for a random r.
    func check(_ layer: TrainLayer<Double>, batch: Int, tol: Double = 1e-6, file: StaticString = #filePath, line: UInt = #line) {
        let c = Compute(pool: nil)
        let x = rand(batch * layer.inShape.reduce(1, *))
        let yCount = Network<Double>.forward(layer, x, batch: batch, training: true, c).count
        let r = rand(yCount)
        func loss(_ x: [Double]) -> Double {
            let y = Network<Double>.forward(layer, x, batch: batch, training: false, c)
            return zip(y, r).reduce(0) { $0 + $1.0 * $1.1 }
        }
        _ = Network<Double>.forward(layer, x, batch: batch, training: true, c)
        let dx = Network<Double>.backward(layer, r, batch: batch, c)
        let h = 1e-6
        func numeric(_ f: (Double) -> Double) -> Double { (f(h) - f(-h)) / (2 * h) }
        var worst = 0.0
        for i in stride(from: 0, to: x.count, by: max(1, x.count / 40)) {
            let n = numeric { d in var x2 = x; x2[i] += d; return loss(x2) }
            worst = max(worst, abs(n - dx[i]) / max(1, abs(n)))
        }
        for p in layer.params {
            let g = p.grad
            for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 40)) {
                let n = numeric { d in let old = p.value[i]; p.value[i] += d; defer { p.value[i] = old }; return loss(x) }
                worst = max(worst, abs(n - g[i]) / max(1, abs(n)))
            }
        }
        XCTAssertLessThan(worst, tol, "\(layer.name)", file: file, line: line)
    }

    func testDirectConv() {
        check(DirectConvTrain(name: "c", inShape: [3, 7, 6], k: 4, r: 3, stride: 1, pads: [1, 1, 1, 1], weight: rand(4 * 27), bias: rand(4)), batch: 2)
        check(DirectConvTrain(name: "c", inShape: [2, 9, 8], k: 3, r: 3, stride: 2, pads: [0, 1, 2, 0], weight: rand(3 * 18), bias: rand(3)), batch: 2)
    }

    func testWinogradConvEveryTile() {
        for tile in WinogradTile.allCases {
            let a = tile.alpha, p = tile.r / 2
            check(WinogradConvTrain(name: "w\(tile)", inShape: [3, 9, 7], k: 5, tile: tile, pads: [p, p, p, p], weight: rand(a * a * 15), bias: rand(5)), batch: 2)
            check(WinogradConvTrain(name: "w\(tile)asym", inShape: [2, 11, 6], k: 3, tile: tile, pads: [0, p, p + 1, 0], weight: rand(a * a * 6), bias: rand(3)), batch: 1)
        }
    }

    func testDenseReluPoolFlatten() {
        check(DenseTrain(name: "fc", inShape: [2, 3, 3], outputs: 5, weight: rand(5 * 18), bias: rand(5)), batch: 3)
        check(ReLUTrain(name: "relu", inShape: [4, 3, 3]), batch: 2)
        check(MaxPoolTrain(name: "pool", inShape: [3, 7, 6], kernel: 2, stride: 2), batch: 2)
        check(MaxPoolTrain(name: "pool3", inShape: [2, 7, 7], kernel: 3, stride: 2), batch: 1)
        check(FlattenTrain(name: "flat", inShape: [2, 3, 3]), batch: 2)
    }

    func testSoftmaxCrossEntropyGradient() {
        let logits = rand(3 * 4), labels = [1, 3, 0]
        let g = SoftmaxCrossEntropy.evaluate(logits, labels: labels, classes: 4).grad
        for i in logits.indices {
            var p = logits, m = logits
            p[i] += 1e-6; m[i] -= 1e-6
            let n = (SoftmaxCrossEntropy.evaluate(p, labels: labels, classes: 4).loss - SoftmaxCrossEntropy.evaluate(m, labels: labels, classes: 4).loss) / 2e-6
            XCTAssertEqual(n, g[i], accuracy: 1e-7)
        }
    }

    /// A Winograd layer initialised with G g G^T computes the direct convolution of g.
    func testWinogradLayerEqualsDirectConvolution() {
        for tile in WinogradTile.allCases {
            let r = tile.r, p = r / 2
            let g = rand(4 * 3 * r * r), b = rand(4)
            let u = WinogradWeights.fromSpatial(g.map { Float($0) }, k: 4, c: 3, tile: tile).map { Double($0) }
            let w = WinogradConvTrain(name: "w", inShape: [3, 10, 9], k: 4, tile: tile, pads: [p, p, p, p], weight: u, bias: b)
            let d = DirectConvTrain(name: "d", inShape: [3, 10, 9], k: 4, r: r, stride: 1, pads: [p, p, p, p],
                                    weight: g.map { Double(Float($0)) }, bias: b)
            let x = rand(2 * 3 * 90)
            let c = Compute(pool: nil)
            let yw = Network<Double>.forward(w, x, batch: 2, training: false, c)
            let yd = Network<Double>.forward(d, x, batch: 2, training: false, c)
            let err = zip(yw, yd).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() / yd.map { $0 * $0 }.reduce(0, +).squareRoot()
            XCTAssertLessThan(err, 1e-6, "\(tile)")  // G g G^T rounded to Float
        }
    }

    /// Gradients and the trained result are the same bits for 1, 2 and 3 threads.
    func testThreadCountIndependence() throws {
        var results = [[Float]]()
        for threads in [1, 2, 3] {
            let net: Network<Float> = try Architecture.build("conv4,pool,wconv6f4,wconv5,pool,fc7", inputShape: [1, 12, 12], seed: 3)
            let pool = threads > 1 ? ThreadPool(threads: threads) : nil
            var r = SplitMix64(seed: 9)
            let x = (0..<(5 * 144)).map { _ in Float.random(in: -1...1, using: &r) }
            net.lossAndGradients(x, labels: [0, 1, 2, 3, 6], Compute(pool: pool))
            results.append(net.params.flatMap(\.grad))
        }
        XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern))
        XCTAssertEqual(results[0].map(\.bitPattern), results[2].map(\.bitPattern))
    }
}

final class BlockedGemmTests: XCTestCase {
    /// The depth-blocked product equals a naive one (Float kernel and Double loops).
    func testBlockedGemmMatchesNaive() {
        var rng = SplitMix64(seed: 5)
        let m = 7, n = 19, depth = 600
        let a = (0..<(m * depth)).map { _ in Float.random(in: -1...1, using: &rng) }
        let b = (0..<(depth * n)).map { _ in Float.random(in: -1...1, using: &rng) }
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            Compute(pool: ThreadPool(threads: 2)).matmulLongDepth(ap.baseAddress!, lda: depth, bp.baseAddress!, cp.baseAddress!, m: m, n: n, depth: depth, block: 128)
        } } }
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for d in 0..<depth { s += Double(a[i * depth + d]) * Double(b[d * n + j]) }
            XCTAssertEqual(Double(c[i * n + j]), s, accuracy: 1e-3)
        } }
    }
}
