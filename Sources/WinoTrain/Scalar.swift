// The element types training runs in: Float for real training (products in the C GEMM
// kernel), Double for the finite-difference gradient tests (plain loops).
import CWinoKernels
import WinoKernels

/// A floating-point type the training layers can run in.
protocol TrainScalar: BinaryFloatingPoint & Sendable {
    /// C[i][0..<n] = sum_d A[i][d] * B[d][0..<n] for i in rows (row-major, strides lda, ldb, ldc),
    /// each element summed over d in increasing order.
    static func gemm(rows: Range<Int>, n: Int, depth: Int, a: UnsafePointer<Self>, lda: Int,
                     b: UnsafePointer<Self>, ldb: Int, c: UnsafeMutablePointer<Self>, ldc: Int)
}

extension Float: TrainScalar {
    static func gemm(rows: Range<Int>, n: Int, depth: Int, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard !rows.isEmpty, n > 0 else { return }
        if depth == 0 {
            for i in rows { (c + i * ldc).update(repeating: 0, count: n) }
            return
        }
        wk_gemm(Int32(rows.lowerBound), Int32(rows.upperBound), Int32(n), Int32(depth), a, lda, b, ldb, c, ldc)
    }
}

extension Double: TrainScalar {
    static func gemm(rows: Range<Int>, n: Int, depth: Int, a: UnsafePointer<Double>, lda: Int,
                     b: UnsafePointer<Double>, ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int) {
        for i in rows {
            let ci = c + i * ldc
            ci.update(repeating: 0, count: n)
            for d in 0..<depth {
                let aid = a[i * lda + d], bd = b + d * ldb
                for j in 0..<n { ci[j] += aid * bd[j] }
            }
        }
    }
}

/// Shared helpers of the layers: parallel loops and matrix products over Swift arrays.
struct Compute: @unchecked Sendable {
    /// The pool (nil: everything on the calling thread).
    let pool: ThreadPool?

    /// Runs body(i) for i in 0..<count, split into static contiguous chunks over the threads.
    func parallel(_ count: Int, _ body: (Int) -> Void) {
        parallelFor(pool, count) { i, _ in body(i) }
    }

    /// C (m x n) = A (m x depth) * B (depth x n), row-major, rows split over the threads.
    /// Every element sums depth in increasing order, so the result is thread-count independent.
    func matmul<T: TrainScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
                                m: Int, n: Int, depth: Int) {
        let chunks = min(m, 4 * (pool?.threadCount ?? 1))
        let ca = UnsafeSendable(a), cb = UnsafeSendable(b), cc = UnsafeSendable(c)
        parallel(chunks) { j in
            let lo = m * j / chunks, hi = m * (j + 1) / chunks
            T.gemm(rows: lo..<hi, n: n, depth: depth, a: ca.p, lda: depth, b: cb.p, ldb: n, c: cc.p, ldc: n)
        }
    }
}

extension Compute {
    /// C (m x n) = A (m x depth, stride lda) * B (depth x n), summing depth in fixed blocks of
    /// `block` (a partial product per block, added in block order): for long depths (weight
    /// gradients summed over every pixel of the batch) the block of B stays in cache.
    func matmulLongDepth<T: TrainScalar>(_ a: UnsafePointer<T>, lda: Int, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
                                         m: Int, n: Int, depth: Int, block: Int = 256) {
        let chunks = min(m, 4 * (pool?.threadCount ?? 1))
        let ca = UnsafeSendable(a), cb = UnsafeSendable(b), cc = UnsafeSendable(c)
        parallel(chunks) { j in
            let lo = m * j / chunks, hi = m * (j + 1) / chunks
            T.blockedGemm(rows: lo..<hi, n: n, depth: depth, a: ca.p, lda: lda, b: cb.p, c: cc.p, block: block)
        }
    }
}

extension TrainScalar {
    /// Rows `rows` of C = A B with depth summed in blocks (see `Compute.matmulLongDepth`).
    static func blockedGemm(rows: Range<Int>, n: Int, depth: Int, a: UnsafePointer<Self>, lda: Int,
                            b: UnsafePointer<Self>, c: UnsafeMutablePointer<Self>, block: Int) {
        guard !rows.isEmpty else { return }
        if depth <= block {
            gemm(rows: rows, n: n, depth: depth, a: a, lda: lda, b: b, ldb: n, c: c, ldc: n)
            return
        }
        let tmp = UnsafeMutablePointer<Self>.allocate(capacity: rows.count * n)
        defer { tmp.deallocate() }
        var d0 = 0
        while d0 < depth {
            let len = min(block, depth - d0)
            if d0 == 0 {
                gemm(rows: rows, n: n, depth: len, a: a, lda: lda, b: b, ldb: n, c: c, ldc: n)
            } else {
                gemm(rows: 0..<rows.count, n: n, depth: len, a: a + rows.lowerBound * lda + d0, lda: lda,
                     b: b + d0 * n, ldb: n, c: tmp, ldc: n)
                for i in 0..<rows.count {
                    let ci = c + (rows.lowerBound + i) * n, ti = tmp + i * n
                    for j in 0..<n { ci[j] += ti[j] }
                }
            }
            d0 += len
        }
    }
}

/// A pointer carried into parallel closures.
struct UnsafeSendable<P>: @unchecked Sendable {
    let p: P
    init(_ p: P) { self.p = p }
}

/// dst (cols x rows) = transpose of src (rows x cols).
func transpose<T>(_ src: UnsafePointer<T>, rows: Int, cols: Int, into dst: UnsafeMutablePointer<T>) {
    let bs = 32
    var r0 = 0
    while r0 < rows {
        let r1 = min(r0 + bs, rows)
        var c0 = 0
        while c0 < cols {
            let c1 = min(c0 + bs, cols)
            for r in r0..<r1 { for c in c0..<c1 { dst[c * rows + r] = src[r * cols + c] } }
            c0 = c1
        }
        r0 = r1
    }
}
