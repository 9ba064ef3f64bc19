// Kernels against their literal definitions: Winograd transforms vs the exact
// matrices (NNPACK style), products vs naive loops, the thread pool's coverage.
import CLITestSupport
import CWinoKernels
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

    /// One tile, one channel: A^T[(G g G^T) . (B^T d B)]A with U from `WinogradWeights`
    /// equals the valid correlation of d with g.
    func testWinogradIdentityHoldsForSpatialWeights() {
        for tile in WinogradTile.allCases {
            let a = tile.alpha, m = tile.m, r = tile.r
            let g = (0..<(r * r)).map { Float($0 % 5) - 2 }
            let d = (0..<(a * a)).map { Double(($0 * 3) % 7) - 3 }
            let u = WinogradWeights.fromSpatial(g, k: 1, c: 1, tile: tile).map(Double.init)
            let bt = WinogradMatrices.bt(tile), at = WinogradMatrices.at(tile)
            let v = mat(mat(bt, d, a, a, a), tr(bt, a, a), a, a, a)
            let prod = zip(u, v).map { $0 * $1 }
            let y = mat(mat(at, prod, m, a, a), tr(at, m, a), m, a, m)
            for i in 0..<m {
                for j in 0..<m {
                    var s = 0.0
                    for p in 0..<r { for q in 0..<r { s += Double(g[p * r + q]) * d[(i + p) * a + j + q] } }
                    XCTAssertEqual(y[i * m + j], s, accuracy: 1e-4, "\(tile) (\(i),\(j))")
                }
            }
        }
    }
}

final class GemmTests: XCTestCase {
    func testDenseAndSparseAgreeWithNaiveProduct() {
        let (rows, depth, n) = (13, 29, 37)
        var a = (0..<(rows * depth)).map { Float(($0 * 5) % 9) - 4 }
        for i in stride(from: 0, to: a.count, by: 3) { a[i] = 0 }
        a[2 * depth ..< 3 * depth] = ArraySlice(repeating: 0, count: depth)   // an empty row
        let b = (0..<(depth * n)).map { Float(($0 * 7) % 5) - 2 }
        var want = [Float](repeating: 0, count: rows * n)
        for i in 0..<rows { for j in 0..<n { for d in 0..<depth { want[i * n + j] += a[i * depth + d] * b[d * n + j] } } }
        var rowPtr: [Int32] = [0], col = [Int32](), val = [Float]()
        for i in 0..<rows {
            for d in 0..<depth where a[i * depth + d] != 0 { col.append(Int32(d)); val.append(a[i * depth + d]) }
            rowPtr.append(Int32(val.count))
        }
        // Every instruction set of the C kernel (6-row strips, single rows, masked columns).
        for isa in (0...wk_isa()).reversed() {
            wk_limit_isa(Int32(isa))
            defer { wk_reset_isa() }
            var cd = [Float](repeating: 9, count: rows * n)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in cd.withUnsafeMutableBufferPointer { cp in
                wk_gemm(1, Int32(rows), Int32(n), Int32(depth), ap.baseAddress!, depth, bp.baseAddress!, n, cp.baseAddress!, n)
            } } }
            XCTAssertEqual(Array(cd[n...]), Array(want[n...]), "isa \(isa)")
            XCTAssertEqual(Array(cd[0..<n]), [Float](repeating: 9, count: n), "row 0 was not selected and must be untouched")
        }
        var cs = [Float](repeating: 9, count: rows * n)
        b.withUnsafeBufferPointer { bp in
            rowPtr.withUnsafeBufferPointer { rp in col.withUnsafeBufferPointer { ip in val.withUnsafeBufferPointer { vp in
                cs.withUnsafeMutableBufferPointer { cp in
                    Gemm.sparse(rows: 1..<rows, n: n, a: CSRView(rowPtr: rp.baseAddress!, colIdx: ip.baseAddress!, values: vp.baseAddress!),
                                b: bp.baseAddress!, ldb: n, c: cp.baseAddress! + n, ldc: n, accumulate: false)
                } } } }
        }
        XCTAssertEqual(Array(cs[n...]), Array(want[n...]))
    }
}

final class ProductCeilingTests: XCTestCase {
    /// `wino-bench efficiency` refuses repetition counts below 1 and minimum times that are not
    /// finite or outside 0...3600 s, with a usage error naming the option (exit 64).
    func testEfficiencyRejectsBadRepetitionsAndTimes() throws {
        for (args, option) in [(["--reps", "0"], "--reps"), (["--reps=-3"], "--reps"), (["--min-seconds", "nan"], "--min-seconds"),
                               (["--min-seconds=-1"], "--min-seconds"), (["--min-seconds", "1e9"], "--min-seconds")] {
            let r = try CLITool("wino-bench").run(["efficiency", "--layers", "alexnet.conv5"] + args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.err)")
            XCTAssertTrue(r.err.contains(option), "\(args): \(r.err)")
            XCTAssertTrue(r.out.isEmpty, "\(args): nothing measured, \(r.out)")
        }
    }

    /// A peer baseline whose interpreter is missing or exits at once is left out with a message
    /// naming it; the layer is still measured and the run succeeds (its ratio columns read "-").
    func testLayersLeaveOutPeersThatCannotStart() throws {
        let r = try CLITool("wino-bench").run(["layers", "--layers", "alexnet.conv5", "--densities", "0.1", "--threads", "1",
                                               "--batches", "1", "--reps", "1", "--no-onnxruntime", "--no-dense",
                                               "--deepsparse-python", "/nonexistent/python", "--onednn-python", "/bin/false",
                                               "--format", "csv"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("/nonexistent/python"), r.err)
        // ("exited", or "failed" where the write came before the process's exit was noticed)
        XCTAssertTrue(r.err.contains("oneDNN baseline exited") || r.err.contains("oneDNN baseline failed"), r.err)
        let lines = r.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, r.out)
        XCTAssertTrue(lines.first?.hasSuffix("deepsparse_ms,deepsparse_ratio,deepsparse_dense_ms,deepsparse_dense_ratio,onednn_ms,onednn_ratio,onednn_impl") ?? false, r.out)
        XCTAssertTrue(lines.last?.hasPrefix("alexnet.conv5,1,1,0.1,") ?? false, r.out)
        XCTAssertTrue(lines.last?.hasSuffix(",-,-,-,-,-,-,-") ?? false, r.out)
    }

    /// wk_product_ceiling (wino-bench ceiling) rejects arguments out of range, has nothing to
    /// measure with the portable kernels, and times correct products (it checks them against
    /// Double sums) with every SIMD instruction set (AVX-512 emulated where the CPU lacks it),
    /// block width and row length.
    func testCeilingRejectsBadArgumentsAndTimesCorrectProducts() {
        for (tiles, channels, len, rows, reps) in [(8, 64, 8, 4, 1), (48, 64, 8, 4, 1), (16, 0, 1, 4, 1), (16, 257, 8, 4, 1),
                                                   (16, 64, 0, 4, 1), (16, 64, 65, 4, 1), (16, 64, 8, 0, 1), (16, 64, 8, 4097, 1),
                                                   (16, 64, 8, 4, 0)] {
            XCTAssertEqual(wk_product_ceiling(Int32(tiles), Int32(channels), Int32(len), Int32(rows), Int32(reps)), -1,
                           "tiles \(tiles), channels \(channels), row length \(len), rows \(rows), reps \(reps)")
        }
        wk_limit_isa(0)
        XCTAssertEqual(wk_product_ceiling(16, 64, 8, 4, 1), -1, "portable kernels")
        wk_reset_isa()
        guard wk_isa() > 0 else { return }
        // AVX-512 too where the CPU has only AVX2: its body compiled for AVX2 (wk_emulate_avx512).
        wk_emulate_avx512(1)
        defer { wk_emulate_avx512(0) }
        for isa in 1...wk_isa() {
            wk_limit_isa(Int32(isa))
            defer { wk_reset_isa() }
            for tiles in [16, 32, 64] {
                // Rows shorter than, as long as and longer than the kernel's partial sums; all channels.
                for len in [1, 3, 7, 8, 9, 48, 4096 / tiles] where len <= min(256, 4096 / tiles) {
                    let s = wk_product_ceiling(Int32(tiles), Int32(min(256, 4096 / tiles)), Int32(len), 5, 2)
                    XCTAssertGreaterThan(s, 0, "isa \(isa), tiles \(tiles), row length \(len)")
                    XCTAssertLessThan(s, 1, "isa \(isa), tiles \(tiles), row length \(len)")
                }
            }
        }
    }
}

final class ThreadPoolTests: XCTestCase {
    /// Where the system will not start all the threads asked for (here: 64 threads, each
    /// reserving an 8 MiB stack, with 48 MiB of address space left), the pool runs with those it
    /// started instead of trapping, and every index still runs exactly once.
    func testPoolRunsWithTheThreadsTheSystemGives() throws {
        var pool: ThreadPool?
        let ran = withAddressSpaceHeadroom(48 << 20) { pool = ThreadPool(threads: 64) }
        guard ran, let p = pool else { throw XCTSkip("the address-space limit cannot be set here") }
        XCTAssertGreaterThanOrEqual(p.threadCount, 1)
        XCTAssertLessThan(p.threadCount, 64)
        let buf = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        defer { buf.deallocate() }
        buf.initialize(repeating: 0, count: 1000)
        p.parallelFor(1000) { i, thread in
            XCTAssertLessThan(thread, p.threadCount)
            buf[i] += 1
        }
        XCTAssertTrue((0..<1000).allSatisfy { buf[$0] == 1 })
    }

    /// Dropping a pool stops and joins its workers (a service that loads and unloads models
    /// must not gather threads): 20 pools of 4 threads, each used once and dropped, leave the
    /// process with as many threads as before. (Until stop 19 each worker held its pool, so a
    /// pool was never freed: the engine's fuzzer ran out of memory after 12,743 models.)
    func testDroppedPoolsStopTheirThreads() throws {
        guard let before = processThreadCount() else { throw XCTSkip("/proc/self/task cannot be read here") }
        for round in 0..<20 {
            let pool = ThreadPool(threads: 4)
            XCTAssertEqual(pool.threadCount, 4)
            let buf = UnsafeMutablePointer<Int>.allocate(capacity: 64)
            buf.initialize(repeating: 0, count: 64)
            pool.parallelFor(64) { i, _ in buf[i] = i + round }
            XCTAssertEqual((0..<64).map { buf[$0] }, (0..<64).map { $0 + round })
            buf.deallocate()
            XCTAssertEqual(processThreadCount(settlingAt: before + 3), before + 3, "round \(round): the pool's 3 workers run")
        }
        XCTAssertEqual(processThreadCount(settlingAt: before), before, "every dropped pool joined its workers")
    }

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
