// Kernels against their literal definitions: Winograd transforms vs the exact
// matrices (NNPACK style), products vs naive loops, the thread pool's coverage.
import WinoKernels
import XCTest

final class WinogradTransformTests: XCTestCase {
    func mat(_ x: [Double], _ y: [Double], _ r: Int, _ k: Int, _ c: Int) -> [Double] {
        var o = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { for l in 0..<k { o[i * c + j] += x[i * k + l] * y[l * c + j] } } }
        return o
    }
    func tr(_ x: [Double], _ r: Int, _ c: Int) -> [Double] {
        var o = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { o[j * r + i] = x[i * c + j] } }
        return o
    }

    func testInputAndOutputTransformsMatchLiteralMatrices() {
        for tile in WinogradTile.allCases {
            let a = tile.alpha, m = tile.m
            let t = WinogradTransform(tile)
            // Small integers: the transforms of F(2x2) and F(4x4,3x3) are exact in Float.
            let d = (0..<(a * a)).map { Float(($0 * 7) % 11) - 5 }
            var v = [Float](repeating: 0, count: a * a)
            d.withUnsafeBufferPointer { dp in v.withUnsafeMutableBufferPointer { vp in
                t.input(dp.baseAddress!, ldd: a, vp.baseAddress!, vStride: 1) } }
            let bt = WinogradMatrices.bt(tile)
            let want = mat(mat(bt, d.map(Double.init), a, a, a), tr(bt, a, a), a, a, a)
            for i in 0..<(a * a) { XCTAssertEqual(Double(v[i]), want[i], accuracy: 1e-4 * max(1, abs(want[i])), "\(tile) V[\(i)]") }

            var y = [Float](repeating: 0, count: m * m)
            d.withUnsafeBufferPointer { dp in y.withUnsafeMutableBufferPointer { yp in
                t.output(dp.baseAddress!, mStride: 1, yp.baseAddress!) } }
            let at = WinogradMatrices.at(tile)
            let wantY = mat(mat(at, d.map(Double.init), m, a, a), tr(at, m, a), m, a, m)
            for i in 0..<(m * m) { XCTAssertEqual(Double(y[i]), wantY[i], accuracy: 1e-4 * max(1, abs(wantY[i])), "\(tile) Y[\(i)]") }
        }
    }

    func testWinogradIdentityHoldsForSpatialWeights() {
        // 1 channel, one tile: A^T[(G g G^T) . (B^T d B)]A equals the valid correlation of d with g.
        for tile in WinogradTile.allCases {
            let a = tile.alpha, m = tile.m, r = tile.r
            let g = (0..<(r * r)).map { Float($0 % 5) - 2 }
            let d = (0..<(a * a)).map { Float(($0 * 3) % 7) - 3 }
            let u = WinogradWeights.fromSpatial(g, k: 1, c: 1, tile: tile)
            let t = WinogradTransform(tile)
            var v = [Float](repeating: 0, count: a * a), y = [Float](repeating: 0, count: m * m)
            d.withUnsafeBufferPointer { dp in v.withUnsafeMutableBufferPointer { t.input(dp.baseAddress!, ldd: a, $0.baseAddress!, vStride: 1) } }
            let prod = zip(u, v).map { $0 * $1 }
            prod.withUnsafeBufferPointer { pp in y.withUnsafeMutableBufferPointer { t.output(pp.baseAddress!, mStride: 1, $0.baseAddress!) } }
            for i in 0..<m {
                for j in 0..<m {
                    var s: Float = 0
                    for p in 0..<r { for q in 0..<r { s += g[p * r + q] * d[(i + p) * a + j + q] } }
                    XCTAssertEqual(y[i * m + j], s, accuracy: 1e-3, "\(tile) (\(i),\(j))")
                }
            }
        }
    }
}

final class GemmTests: XCTestCase {
    func testDenseAndSparseAgreeWithNaiveProduct() {
        let (rows, depth, n) = (7, 13, 19)
        var a = (0..<(rows * depth)).map { Float(($0 * 5) % 9) - 4 }
        for i in stride(from: 0, to: a.count, by: 3) { a[i] = 0 }
        a[2 * depth ..< 3 * depth] = ArraySlice(repeating: 0, count: depth)   // an empty row
        let b = (0..<(depth * n)).map { Float(($0 * 7) % 5) - 2 }
        var want = [Float](repeating: 0, count: rows * n)
        for i in 0..<rows { for j in 0..<n { for d in 0..<depth { want[i * n + j] += a[i * depth + d] * b[d * n + j] } } }
        // CSR arrays
        var rowPtr: [Int32] = [0], col = [Int32](), val = [Float]()
        for i in 0..<rows {
            for d in 0..<depth where a[i * depth + d] != 0 { col.append(Int32(d)); val.append(a[i * depth + d]) }
            rowPtr.append(Int32(val.count))
        }
        var cd = [Float](repeating: 9, count: rows * n), cs = cd
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
            cd.withUnsafeMutableBufferPointer { cp in
                Gemm.dense(rows: 1..<rows, depth: depth, n: n, a: ap.baseAddress!, lda: depth, b: bp.baseAddress!, ldb: n,
                           c: cp.baseAddress! + n, ldc: n, accumulate: false)
            }
            rowPtr.withUnsafeBufferPointer { rp in col.withUnsafeBufferPointer { ip in val.withUnsafeBufferPointer { vp in
                cs.withUnsafeMutableBufferPointer { cp in
                    Gemm.sparse(rows: 1..<rows, n: n, a: CSRView(rowPtr: rp.baseAddress!, colIdx: ip.baseAddress!, values: vp.baseAddress!),
                                b: bp.baseAddress!, ldb: n, c: cp.baseAddress! + n, ldc: n, accumulate: false)
                } } } }
        } }
        XCTAssertEqual(Array(cd[n...]), Array(want[n...]))
        XCTAssertEqual(Array(cs[n...]), Array(want[n...]))
        XCTAssertEqual(Array(cd[0..<n]), [Float](repeating: 9, count: n), "row 0 was not selected and must be untouched")
    }
}

final class ThreadPoolTests: XCTestCase {
    func testEveryIndexRunsExactlyOnceForAnyThreadAndItemCount() {
        for threads in [1, 2, 3, 8] {
            let pool = ThreadPool(threads: threads)
            for count in [0, 1, 2, 5, 64, 1001] {
                final class Counts: @unchecked Sendable { var c: [Int] ; init(_ n: Int) { c = .init(repeating: 0, count: n) } }
                let counts = Counts(count)
                let buf = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
                buf.initialize(repeating: 0, count: max(count, 1))
                pool.parallelFor(count) { i, thread in
                    XCTAssertLessThan(thread, threads)
                    buf[i] += 1
                }
                for i in 0..<count { counts.c[i] = buf[i] }
                XCTAssertEqual(counts.c, [Int](repeating: 1, count: count), "threads \(threads) count \(count)")
                buf.deallocate()
            }
        }
    }
}

import CWinoKernels

final class CKernelTableTests: XCTestCase {
    /// The C kernels' hard-coded B^T and A^T equal the generated exact matrices.
    func testCTablesMatchWinogradMatrices() {
        for tile in WinogradTile.allCases {
            let a = tile.alpha, m = tile.m
            let bt = UnsafeBufferPointer(start: wk_table(Int32(tile.rawValue), 0), count: a * a)
            let at = UnsafeBufferPointer(start: wk_table(Int32(tile.rawValue), 1), count: m * a)
            XCTAssertEqual(bt.map(Double.init), WinogradMatrices.bt(tile), "\(tile) B^T")
            XCTAssertEqual(at.map(Double.init), WinogradMatrices.at(tile), "\(tile) A^T")
        }
    }
}
