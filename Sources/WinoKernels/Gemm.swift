// Matrix products used by convolutions and fully-connected layers.
// Legend: A is rows x depth (dense row-major with leading dimension lda, or CSR),
// B is depth x n (row-major, leading dimension ldb), C is rows x n (ldc).
// `rows` selects rows of A (global indices); C points at the first selected row.
// Every output element is accumulated in a fixed order (increasing depth index),
// so results do not depend on how rows are split between threads.

/// A CSR matrix borrowed as raw pointers (the engine keeps the storage alive).
public struct CSRView: @unchecked Sendable {
    /// Row pointers (rows + 1 entries).
    public let rowPtr: UnsafePointer<Int32>
    /// Column indices.
    public let colIdx: UnsafePointer<Int32>
    /// Values.
    public let values: UnsafePointer<Float>

    /// Wraps the three arrays.
    public init(rowPtr: UnsafePointer<Int32>, colIdx: UnsafePointer<Int32>, values: UnsafePointer<Float>) {
        self.rowPtr = rowPtr
        self.colIdx = colIdx
        self.values = values
    }
}

/// Sparse products and dot products (portable Swift; the compiler vectorises the inner loops).
public enum Gemm {
    /// C[i - rows.lowerBound, 0..<n] = (accumulate ? C : 0) + sum over row i's entries of
    /// A(i, d) * B[d, 0..<n], for CSR A (column indices index B's rows). Dense products
    /// run in the C kernel `wk_gemm`.
    public static func sparse(rows: Range<Int>, n: Int, a: CSRView,
                              b: UnsafePointer<Float>, ldb: Int,
                              c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        for i in rows {
            let ci = c + (i - rows.lowerBound) * ldc
            if !accumulate { ci.initialize(repeating: 0, count: n) }
            for e in Int(a.rowPtr[i])..<Int(a.rowPtr[i + 1]) {
                let w = a.values[e]
                let bd = b + Int(a.colIdx[e]) * ldb
                for j in 0..<n { ci[j] += w * bd[j] }
            }
        }
    }

    /// y[i - rows.lowerBound] = sum_d A[i, d] * x[d] for i in rows (dense A, row-major, lda).
    public static func denseDot(rows: Range<Int>, depth: Int, a: UnsafePointer<Float>, lda: Int,
                                x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        for i in rows {
            let ai = a + i * lda
            // Eight partial sums in a fixed order: vectorisable and deterministic.
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            var s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
            var d = 0
            while d + 8 <= depth {
                s0 += ai[d] * x[d]; s1 += ai[d + 1] * x[d + 1]
                s2 += ai[d + 2] * x[d + 2]; s3 += ai[d + 3] * x[d + 3]
                s4 += ai[d + 4] * x[d + 4]; s5 += ai[d + 5] * x[d + 5]
                s6 += ai[d + 6] * x[d + 6]; s7 += ai[d + 7] * x[d + 7]
                d += 8
            }
            while d < depth { s0 += ai[d] * x[d]; d += 1 }
            y[i - rows.lowerBound] = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
        }
    }
}
