// The executable form of a graph node. A Layer is immutable after load and
// shared by all requests; everything mutable lives in the request's Workspace.
import CWinoKernels
import WinoFormat
import WinoKernels

/// The activations of one step, read through the request's slot table.
struct InputList {
    let slots: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    let indices: [Int]
    /// Number of inputs.
    var count: Int { indices.count }
    /// Input i, [batch] + per-sample shape, densely packed.
    subscript(i: Int) -> UnsafeMutablePointer<Float> { slots[indices[i]] }
}

/// What a layer is given to run: its input and output activations for a batch.
struct LayerIO {
    /// Input activations (never written by the layer).
    var inputs: InputList
    /// Output activation.
    var output: UnsafeMutablePointer<Float>
    /// Batch size.
    var batch: Int
}

/// Per-request execution resources.
struct RunContext {
    /// The pool for parallel loops, or nil to run on the calling thread.
    var pool: ThreadPool?
    /// Number of per-thread scratch areas (>= the pool's thread count).
    var threads: Int
    /// Per-thread scratch (64-byte aligned).
    var scratch: [UnsafeMutablePointer<Float>]
    /// Scratch shared by all threads of a layer.
    var shared: UnsafeMutablePointer<Float>
    /// Set only for a model's first layer when that layer checks the model's input for
    /// non-finite values itself (`Layer.checksOwnInput`): where its threads report them.
    var inputCheck: InputCheckFlags? = nil
}

/// Scratch a layer needs for a batch, in floats.
struct ScratchNeed {
    var perThread = 0
    var shared = 0
}

/// One executable operator.
protocol Layer: AnyObject, Sendable {
    /// The node's name.
    var name: String { get }
    /// The node's op.
    var op: OpKind { get }
    /// Scratch needed for a batch.
    func scratch(batch: Int) -> ScratchNeed
    /// Computes the output from the inputs.
    func run(_ io: LayerIO, _ ctx: RunContext)
    /// A one-line description of how the layer runs (for `--explain`-style output).
    var explanation: String { get }
    /// Whether `run`, given `RunContext.inputCheck`, reads every value of its first input with
    /// the check for non-finite values (just before its own use of them, while they are in
    /// cache), so that the model need not scan its input in a separate pass.
    var checksOwnInput: Bool { get }
}

extension Layer {
    func scratch(batch: Int) -> ScratchNeed { ScratchNeed() }
    var checksOwnInput: Bool { false }
}

/// A weight matrix held in stable, aligned memory: dense row-major or CSR.
final class WeightMatrix: @unchecked Sendable {
    /// Rows and columns.
    let rows: Int, cols: Int
    /// Dense storage (rows x cols) when dense.
    let dense: AlignedBuffer?
    private let rowPtr: UnsafeMutablePointer<Int32>?
    private let colIdx: UnsafeMutablePointer<Int32>?
    /// 16-bit column indices (instead of `colIdx`) for row-times-vector use: less memory traffic.
    private let colIdx16: UnsafeMutablePointer<UInt16>?
    private let values: AlignedBuffer?
    /// Number of stored nonzeros (rows * cols when dense).
    let nnz: Int
    /// Column chunks of the compact layout (1: plain CSR). See `chunkedRows`.
    let columnChunks: Int

    /// Columns per chunk, at most, of the compact layout: 16 KiB of one image's input, which
    /// the rows' scattered reads then find in the L1 (32 KiB here) beside the streamed weights.
    /// Measured on FC6's shape (4096 x 9216, 10%, so 3 chunks of 3072), paired against plain
    /// CSR: 0.75-0.80 of the time at batch 1 and 0.85-0.88 at batch 8 (1 and 2 threads).
    /// Rows of 4096 columns (FC7, whose input fits the L1 already) in 2 chunks: 1.01-1.05.
    static let columnChunk = 4096
    /// Rows per block of the chunked layout: `FullyConnectedLayer`'s work items.
    static let blockRows = 64

    /// Stores `csr` as given (sparse). With `compactIndices` and at most 65536 columns the
    /// column indices are kept as 16 bits, usable by `multiplyVector` and `multiplyBatch8`
    /// only, and rows of more than `columnChunk` columns are split into column chunks
    /// (`chunkedRows`).
    init(csr m: CSRMatrix, compactIndices: Bool = false) {
        rows = m.rows; cols = m.cols; nnz = m.nnz
        dense = nil
        if compactIndices && m.cols <= 1 << 16 {
            let chunks = (m.cols + WeightMatrix.columnChunk - 1) / WeightMatrix.columnChunk
            columnChunks = max(1, chunks)
            let (ptr, order) = WeightMatrix.chunkedRows(m, chunks: columnChunks)
            let rp = UnsafeMutablePointer<Int32>.allocate(capacity: ptr.count)
            rp.initialize(from: ptr, count: ptr.count)
            rowPtr = rp
            let ci = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, order.count))
            for (i, e) in order.enumerated() { (ci + i).initialize(to: UInt16(truncatingIfNeeded: m.colIdx[e])) }
            colIdx16 = ci; colIdx = nil
            values = AlignedBuffer(order.map { m.values[$0] })
        } else {
            columnChunks = 1
            let rp = UnsafeMutablePointer<Int32>.allocate(capacity: m.rowPtr.count)
            rp.initialize(from: m.rowPtr, count: m.rowPtr.count)
            rowPtr = rp
            let ci = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, m.colIdx.count))
            ci.initialize(from: m.colIdx, count: m.colIdx.count)
            colIdx = ci; colIdx16 = nil
            values = AlignedBuffer(m.values)
        }
    }

    /// The compact layout: blocks of `blockRows` rows, each stored as `chunks` column chunks
    /// (columns [c * w, (c + 1) * w), w = cols / chunks rounded up), each chunk a CSR of the
    /// block's rows. Row r of block b (rows b * 64 ..< b * 64 + n) in chunk c is the stored
    /// row b * 64 * chunks + c * n + r - b * 64. A row's result is its chunks' sums added in
    /// chunk order: the same for any thread split. Returns the stored rows' pointers and, for
    /// each stored entry, its index in `m`.
    static func chunkedRows(_ m: CSRMatrix, chunks: Int) -> (rowPtr: [Int32], order: [Int]) {
        let width = chunkWidth(cols: m.cols, chunks: chunks)
        var ptr: [Int32] = [0]
        ptr.reserveCapacity(m.rows * chunks + 1)
        var order: [Int] = []
        order.reserveCapacity(m.nnz)
        for b0 in stride(from: 0, to: m.rows, by: blockRows) {
            let b1 = min(m.rows, b0 + blockRows)
            for c in 0..<chunks {
                let lo = c * width, hi = lo + width
                for r in b0..<b1 {
                    for e in Int(m.rowPtr[r])..<Int(m.rowPtr[r + 1]) where (lo..<hi).contains(Int(m.colIdx[e])) {
                        order.append(e)
                    }
                    ptr.append(Int32(order.count))
                }
            }
        }
        return (ptr, order)
    }

    /// Columns per chunk when `cols` columns are split into `chunks` chunks.
    static func chunkWidth(cols: Int, chunks: Int) -> Int { (cols + chunks - 1) / max(1, chunks) }

    /// Columns per chunk of this matrix's compact layout (`cols` when it has one chunk).
    var columnChunkWidth: Int { WeightMatrix.chunkWidth(cols: cols, chunks: columnChunks) }

    /// Calls `body(stored, real, partial)` for each stored-row range of the compact layout
    /// that holds rows `r`, in the order that their sums must be added: `stored` is a range
    /// of stored rows, `real` the first real row it stands for, `partial` false for the
    /// first chunk of each block (whose sums are stored, not added).
    private func forEachChunk(rows r: Range<Int>, _ body: (_ stored: Range<Int>, _ real: Int, _ partial: Bool) -> Void) {
        var i = r.lowerBound
        while i < r.upperBound {
            let b0 = i / WeightMatrix.blockRows * WeightMatrix.blockRows
            let n = min(WeightMatrix.blockRows, rows - b0), hi = min(r.upperBound, b0 + n)
            for c in 0..<columnChunks {
                let s0 = b0 * columnChunks + c * n + (i - b0)
                body(s0..<s0 + (hi - i), i, c > 0)
            }
            i = hi
        }
    }

    /// Stores a dense row-major matrix.
    init(dense v: [Float], rows: Int, cols: Int) {
        self.rows = rows; self.cols = cols; nnz = rows * cols
        dense = AlignedBuffer(v)
        rowPtr = nil; colIdx = nil; colIdx16 = nil; values = nil; columnChunks = 1
    }

    /// Builds from a tensor viewed as rows x cols: CSR tensors stay sparse, dense ones dense.
    convenience init(tensor t: Tensor, rows: Int, cols: Int, compactIndices: Bool = false) {
        switch t.data {
        case .dense(let v): self.init(dense: v, rows: rows, cols: cols)
        case .csr(let m):
            if m.rows == rows && m.cols == cols { self.init(csr: m, compactIndices: compactIndices) } else {
                self.init(csr: CSRMatrix(dense: m.toDense(), rows: rows, cols: cols), compactIndices: compactIndices)
            }
        }
    }

    deinit {
        rowPtr?.deallocate()
        colIdx?.deallocate()
        colIdx16?.deallocate()
    }

    /// Whether the matrix is stored sparse.
    var isSparse: Bool { dense == nil }
    /// Fraction of stored entries.
    var density: Double { rows * cols == 0 ? 0 : Double(nnz) / Double(rows * cols) }
    /// The CSR view (sparse matrices with 32-bit indices only).
    var csr: CSRView { CSRView(rowPtr: rowPtr!, colIdx: colIdx!, values: values!.pointer) }

    /// C[rows] = A[rows] * B (`wk_gemm` when dense, `Gemm.sparse` when CSR).
    func multiply(rows r: Range<Int>, b: UnsafePointer<Float>, ldb: Int, n: Int,
                  c: UnsafeMutablePointer<Float>, ldc: Int) {
        if let d = dense {
            // The C kernel indexes C by global row: point it at row 0.
            wk_gemm(Int32(r.lowerBound), Int32(r.upperBound), Int32(n), Int32(cols), d.pointer, cols, b, ldb,
                    c - r.lowerBound * ldc, ldc)
        } else {
            Gemm.sparse(rows: r, n: n, a: csr, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: false)
        }
    }

    /// y[rows] = A[rows] x.
    func multiplyVector(rows r: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        if let d = dense {
            Gemm.denseDot(rows: r, depth: cols, a: d.pointer, lda: cols, x: x, y: y)
        } else {
            if let c16 = colIdx16 {
                let rp = rowPtr!, v = values!.pointer
                forEachChunk(rows: r) { stored, real, partial in
                    wk_csr_dot16(Int32(stored.lowerBound), Int32(stored.upperBound), rp, c16, v, x, y + (real - r.lowerBound),
                                 partial ? 1 : 0)
                }
            } else {
                let a = csr
                wk_csr_dot(Int32(r.lowerBound), Int32(r.upperBound), a.rowPtr, a.colIdx, a.values, x, y)
            }
        }
    }

    /// y[n * ldy + i] = (A x_n)[i] for i in rows and n < nb, with the images x_0 ..< x_nb
    /// transposed in `xt` (column c of image n at xt[c * 8 + n], 8 lanes per column):
    /// the weights are read once for up to 8 images.
    func multiplyBatch8(rows r: Range<Int>, xt: UnsafePointer<Float>, nb: Int, y: UnsafeMutablePointer<Float>, ldy: Int) {
        if let d = dense {
            wk_fc_rows8(Int32(r.lowerBound), Int32(r.upperBound), nil, nil, nil, d.pointer, Int32(cols), xt, Int32(nb), y, ldy, 0)
        } else if colIdx16 == nil {
            wk_fc_rows8(Int32(r.lowerBound), Int32(r.upperBound), rowPtr, nil, colIdx, values!.pointer, Int32(cols),
                        xt, Int32(nb), y, ldy, 0)
        } else {
            // (The kernel writes y[n * ldy + i] for stored row i: y is shifted so that the
            // stored rows land on the real rows they stand for.)
            let rp = rowPtr, c16 = colIdx16, v = values!.pointer
            forEachChunk(rows: r) { stored, real, partial in
                let s0 = stored.lowerBound
                wk_fc_rows8(Int32(s0), Int32(stored.upperBound), rp, c16, nil, v, Int32(cols), xt, Int32(nb),
                            y + real - s0, ldy, partial ? 1 : 0)
            }
        }
    }

    /// "dense" or "CSR 12.5%".
    var storageDescription: String {
        isSparse ? "CSR \(String(format1: density * 100))% dense" : "dense"
    }
}

extension String {
    /// A number with one decimal.
    init(format1 x: Double) {
        let r = (x * 10).rounded() / 10
        self = r == r.rounded() ? String(Int(r)) + ".0" : String(r)
    }
}

/// Applies bias and optional ReLU to `count` values of one channel.
@inline(__always)
func biasRelu(_ p: UnsafeMutablePointer<Float>, count: Int, bias: Float, relu: Bool) {
    if relu {
        for i in 0..<count { p[i] = max(p[i] + bias, 0) }
    } else if bias != 0 {
        for i in 0..<count { p[i] += bias }
    }
}
