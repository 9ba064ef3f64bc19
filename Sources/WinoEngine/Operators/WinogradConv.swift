// Winograd convolution from Winograd-domain weights (dense or CSR), stride 1.
// Legend: m output-tile edge, r kernel edge, alpha = m + r - 1, a2 = alpha^2
// Winograd positions xi, T = tilesH * tilesW tiles per image (tilesH = ceil(OH / m)),
// G groups, Cg = C/G, Kg = K/G, TB floats per V row (16, 32 or 64), TBc tiles per block.
// Weights W[xi][k][c] ([alpha, alpha, K, Cg]: rows (xi, k) of an (a2 K) x Cg CSR matrix;
// dense weights are stored as a CSR matrix holding every entry and run a dense product;
// CSR column data: the channel in 8 bits (Cg <= 256), else offsets c * TB in 16 or 32 bits).
// Blocks: segments of one tile row when a row holds a SIMD vector of tiles (or whole tile rows
// stacked, up to 64 lanes, for rows of at most 32 tiles or 7 of 8 lanes), else runs of tiles in
// raster order through all images of the batch (TBc chosen per call).
// Work item (image or batch, g, tile block, out-channel chunk), run by wk_wino_block:
//   V[xi][c][t] = (B^T d[c,t] B)[xi]               per thread, reused across a thread's
//                                                  consecutive chunks of the same block;
//                                                  shared by all threads (computed by all,
//                                                  channel ranges) when blocks < threads
//   M[xi][k][t] = sum_c W[xi][g*Kg + k][c] V[xi][c][t]   per chunk of KC out-channels
//   y tile      = A^T M A + bias[k] (ReLU if fused); parts beyond OH x OW dropped.
// Rows are stored by length within windows of out-channels (rowPos: where the row of each
// (xi, k) is stored), so that rows of equal length follow each other in the product loop;
// M rows follow the stored order, and the output transform reads them through rowPos.
// Items write disjoint outputs; each sum runs in a fixed order: bit-identical results for
// any thread count. (The block width sets the order of a row's partial sums, so results
// may differ in the last bits between batch sizes.)
import CWinoKernels
import WinoFormat
import WinoKernels
#if canImport(Glibc)
import Glibc
#endif

/// Winograd convolution layer.
final class WinogradConvLayer: Layer {
    let name: String
    let op = OpKind.winogradConv
    let p: ConvParams
    let c: Int, h: Int, w: Int, oh: Int, ow: Int
    let variant: WinogradVariant
    let geom: wk_wino_geom
    let alpha: Int
    let rowPtr: [Int32]
    /// Column data of the CSR entries, as the kernel's `col_kind` says: 2 = one byte per
    /// entry, the channel c (Cg <= 256); 1 = 16-bit offsets c * TB (Cg * TB <= 65536);
    /// 0 = 32-bit offsets c * TB.
    let colData: [UInt8]
    let colKind: Int32
    /// Where the CSR row of (position xi, out-channel k) is stored: at row
    /// xi * K + g * Kg + rowPos[k * alpha^2 + xi] (g = k's group), or `WK_EMPTY_ROW` for an empty
    /// row (`emptyRows`). Within each window of `geom.KW` out-channels, the rows of a position are
    /// stored shortest first (ties in out-channel order) where `sortedByLength`. Empty (rows in
    /// out-channel order) for dense weights and for unsorted rows none of which is empty.
    let rowPos: [UInt16]
    /// CSR rows with no entries, each marked `WK_EMPTY_ROW` in `rowPos` (which then exists also
    /// for unsorted rows): no product is computed or stored for them. With wino-bench's pruned
    /// weights 53-69% of all rows are empty (whole positions); skipping them made the nine
    /// layers 1-16% faster (`make kernel-ab`, paired, 2 threads).
    let emptyRows: Int
    /// Whether rows are sorted by length (`sortWindow`).
    let sortedByLength: Bool
    /// Per group and position (groups x alpha^2): 0 where no row of the group has an entry, so
    /// that the input transform stores no V there (nothing reads it: the products skip empty
    /// rows). Empty when every position is live or empty rows are not marked. With wino-bench's
    /// pruned weights 21 of F(4x4,3x3)'s 36 positions (30 of F(4x4,5x5)'s 64) are dead.
    let posLive: [UInt8]
    /// 1 for each position whose rows are stored with all Cg entries (see `densePosition`);
    /// empty when none is.
    let posDense: [UInt8]
    /// Positions with at least this fraction of their entries nonzero are stored and multiplied
    /// dense: the register-blocked product loads each V row once for 6 out-channels, where each
    /// sparse entry loads its index, its weight and the V row, but it multiplies the zeros too.
    /// Measured (`make kernel-ab`, paired, 2 threads, wino-bench's pruning pattern, whose
    /// position (5, 5) keeps 84% of its entries, the others 0-36%): the 84% position dense made
    /// AlexNet conv3-conv5 and VGG16 conv3_1-conv5_1 3-6% faster at batch 1 (AlexNet conv3 6%
    /// at batch 8); the 36% positions dense as well made them 18-21% slower.
    static let densePosition = 0.8
    let values: AlignedBuffer
    let nnz: Int
    let storedDense: Bool
    /// Most bytes V (alpha^2 x Cg x TB floats) may take when choosing TB: 2.5 times the L2
    /// size where the system reports a plausible one, else 1.25 MiB. Measured here (512 KiB
    /// L2, large L3), 2 threads, alternated runs: twice the L2 against the L2 itself made
    /// AlexNet conv4/conv5 at batch 8 (TB 32 instead of 16) and VGG16 conv1_2 (TB 64 instead
    /// of 32) 7-11% faster, AlexNet conv2 at batch 8 -4% to +2%. 2.5 times against twice
    /// (`make kernel-ab`, paired, stop 16; with short V rows for narrow blocks, see
    /// `compute`): VGG16 conv4_1 (V 1.18 MB, TB 32 instead of 16) 0.87-0.90x the time at
    /// batch 1 (1 and 2 threads), 0.96x at batch 8; AlexNet conv3 (the same V) 0.93-0.96x at
    /// batch 8, 0.98-1.04x at batch 1 (16 tiles); the other benchmark layers keep their TB.
    /// 5 times (TB 64 for these, 32 for VGG16 conv5_1) was 1.05-1.6x slower.
    static let vLimit: Int = {
        let l2 = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
        return l2 >= 128 << 10 && l2 <= 16 << 20 ? 5 * l2 / 2 : 5 << 18
    }()
    /// Most bytes M (alpha^2 x KC x TB floats, the products of KC out-channels) may take.
    static let mLimit = 1 << 20
    /// Outputs (of a whole call) of at least this many bytes are written with non-temporal
    /// stores where their rows are whole cache lines: they would not stay in cache for the next
    /// layer anyway, and the stores then skip reading each line first. Measured (paired,
    /// 2 threads, each call followed by a one-thread read of the output, as the next layer
    /// would): VGG16 conv2_1 batch 1 (6.4 MB) 12% slower, conv1_2 batch 1 (12.8 MB) 8% faster,
    /// conv1_2 batch 8 13% faster, conv2_1 batch 8 1% faster (the layers alone: 5-21% faster).
    static let streamBytes = 8 << 20

    /// Out-channels whose products the kernel computes together (KC): all of a group's, or
    /// where M would exceed `mLimit`, the fewest equal chunks that keep it within (the cap
    /// rounded down to a multiple of 32). Each chunk re-reads all alpha^2 V slabs
    /// (alpha^2 x Cg x TB floats, which need not fit the L2), while the M of a chunk is
    /// written once and read once by the output transform. Measured (2 threads, 10% density,
    /// medians of paired time ratios, each pair alternated call by call in one process):
    /// - layers (`make kernel-ab`, caches warm), against KC = 32 with the earlier out-channel
    ///   split: AlexNet conv2 -13% (batch 1) and +1% to +6% (batch 8, two runs) with KC 128,
    ///   -5% / -6% with KC 64 (the 1 MiB limit); conv3 -12% / -19%, conv4 -15% / -12%, conv5
    ///   -18% / -11%; VGG16 conv2_1 -12% / -19%, conv3_1 -8% / -12%, conv4_1 -16% / -11%,
    ///   conv5_1 -22% / -19%; dense weights 0-8% faster;
    /// - the AlexNet model (caches cold: every layer follows others), a 1 MiB limit against
    ///   2 MiB: conv2 (F(4x4,5x5), 64 positions, 64-tile blocks: KC 64 instead of 128) 13-15%
    ///   faster at batch 1 and 8, whole model +-1%. In the warm layer runs the two limits
    ///   were within +-3% on VGG16 conv4_1/conv5_1 (KC 256 against 512).
    static func productChunk(kg: Int, a2: Int, tb: Int) -> Int {
        let cap = max(32, mLimit / (a2 * tb * 4) / 32 * 32)
        let chunks = (kg + cap - 1) / cap
        return (kg + chunks - 1) / chunks
    }

    /// Blocks are segments of one tile row, or stacked tile rows (else runs of tiles in raster
    /// order).
    let rowBlocks: Bool
    let blocksPerRow: Int
    /// Tile rows per block (1: segments of one row). Above 1, each row takes `geom.rowLanes`
    /// lanes (tilesW rounded up to the vector width) and a block holds up to this many whole
    /// rows, at most 64 lanes (`wk_stacked_rows`, 8, caps the rows). The lanes of a row past
    /// tilesW are dead, as the lanes past the row's end of a one-row block are, so stacking adds
    /// no dead lane. Rows of 14 tiles (VGG16 conv3_1) then fill blocks of 64 lanes instead of
    /// 16, rows of 28 (conv2_1) blocks of 64 instead of 32: each CSR entry's index and weight
    /// loads feed 8 FMAs instead of 2 or 4 (AVX2). Rows of 7 tiles (AlexNet conv2, VGG16
    /// conv4_1; AVX2) stack too, 8 lanes each, instead of running as raster blocks: the
    /// transforms then take the row paths (contiguous loads and stores), not the raster paths
    /// that cross tile rows. Sparse weights only: the dense product, which streams the weights
    /// once per 2 vectors of tiles, ran 1.12-1.20x the time stacked (conv2_1, conv3_1).
    /// Measured (`make kernel-ab`, paired, stop 18; 2 threads unless said):
    /// - conv3_1, 4 rows: 0.80-0.90x the time at batch 1, 0.91-1.0x at batch 8, 0.88x on one
    ///   thread (2 rows: 0.87-0.90x and 0.94-0.95x);
    /// - conv2_1, 2 rows: 0.94-0.97x at batch 1, 0.95x at batch 8;
    /// - AlexNet conv2, 7 rows of 8 lanes: 0.87-0.93x at batch 1, 0.81-0.96x at batch 8, 0.86x
    ///   on one thread (as 2 blocks of 4 rows it was 1.08x: hence the cap of 8 rows);
    /// - conv4_1, whose V allows 4 rows of 8 lanes: 0.96-0.98x;
    /// - a stand-in layer whose 32- and 64-tile rows need no dead lanes: 64-tile blocks against
    ///   32 0.89x, 32 against 16 0.86x.
    let rowsPerBlock: Int
    /// Blocks per image of row blocks (`rowBlocks`): tile rows x `blocksPerRow`, or with stacked
    /// rows ceil(tile rows / `rowsPerBlock`), each taking an even share of the rows.
    let rowBlocksPerImage: Int
    let bias: [Float]

    /// Set when the planner turned a direct convolution into this layer: why.
    let note: String?

    /// Out-channels per window within which rows are sorted by length, for a model run with
    /// `threads` threads: the out-channel chunks the threads split a group into at batch 1
    /// (`compute` rounds every split up to whole windows), at most one product chunk `kc`.
    /// Measured (`make kernel-ab`, paired): with uniform 10% sparsity, sorting windows of 8, 16,
    /// 32, 64 and 128 out-channels made AlexNet conv5 (batch 1, 1 thread) 6%, 8.5%, 12%, 14%
    /// and 16% faster, and whole groups made AlexNet conv3 12% and VGG16 conv4_1 18% faster
    /// (2 threads); with wino-bench's pattern (long rows at a few positions, near-empty rows
    /// at the others) the target layers ran 7% faster to 2% slower (median 2.5% faster).
    /// Rows of ~6 entries (VGG16 conv1_2/conv2_1) ran 2-5% slower sorted: hence the 8-entry
    /// threshold in `init`.
    static func sortWindow(kg: Int, kc: Int, base1: Int, threads: Int) -> Int {
        let wanted = outChannelSplit(kg: kg, base: base1, threads: threads)
        var w = min(kc, (kg + wanted - 1) / wanted)
        let cap = Int(wk_kchunk_cap())
        if cap > 0 { w = min(w, cap) }
        return max(1, w)
    }

    /// Into how many chunks the threads split a group's kg out-channels when a call has `base`
    /// (image, group, block) keys: only as far as equal shares need, since every chunk re-reads
    /// all alpha^2 V slabs of its block (see `productChunk`). With many keys (at least 4 per
    /// thread) or a multiple of the thread count, none; else threads / gcd(base, threads), so
    /// that the items divide evenly, with chunks of at least 8 out-channels.
    static func outChannelSplit(kg: Int, base: Int, threads: Int) -> Int {
        guard base < 4 * threads else { return 1 }
        var a = base, b = threads
        while b != 0 { (a, b) = (b, a % b) }
        return min(max(1, kg / 8), threads / a)
    }

    init(node: Node, params: ConvParams, input: [Int], weight: Tensor, bias: Tensor?, threads: Int = 1, note: String? = nil) {
        self.note = note
        name = node.name
        p = params
        c = input[0]; h = input[1]; w = input[2]
        let o = params.window.outputSize(h: h, w: w)
        oh = o.h; ow = o.w
        variant = params.winograd!
        alpha = variant.alpha
        let m = variant.m, a2 = alpha * alpha
        let cg = params.inChannels / params.groups
        let tilesW = (ow + m - 1) / m, tiles = ((oh + m - 1) / m) * tilesW
        // Blocks of up to 64 tiles. When a tile row holds at least one SIMD vector of tiles,
        // blocks are segments of one tile row (contiguous loads and stores, no gathers), TB
        // tiles long. Otherwise they run through the tiles in raster order, across the images
        // of a batch, and each call picks the block width (16, 32 or 64 tiles, at most TB) that
        // fits its tile count. TB is as large as useful while V (alpha^2 x Cg x TB floats) stays
        // within `vLimit`: long vector rows amortise each CSR entry's index and weight loads.
        let vw = Int(wk_vector_width())
        var rowBlocks = vw > 1 && tilesW >= vw
        var tb = 16
        for cand in [32, 64] where (!rowBlocks || tilesW > tb) && a2 * cg * cand * 4 <= WinogradConvLayer.vLimit { tb = cand }
        // Rows of at most 32 tiles: as many whole rows per block (see `rowsPerBlock`) as 64 lanes
        // and V's limit allow. Also rows a little narrower than a vector (7 of 8 lanes), which
        // would otherwise run as raster blocks.
        let tilesH = tiles / tilesW
        let narrow = vw > 1 && tilesW < vw && tilesW * 8 >= 7 * vw
        var rows = 1, lanes = 0
        var denseWeights = false
        if case .dense = weight.data { denseWeights = true }
        if (rowBlocks || narrow) && tilesW <= 32 && !denseWeights {
            // V rows are a power of two long: 16, 32 or 64 floats.
            func rowFloats(_ n: Int) -> Int { n <= 16 ? 16 : (n <= 32 ? 32 : 64) }
            let l = (tilesW + vw - 1) / vw * vw
            rows = max(1, min(Int(wk_stacked_rows()), 64 / l, tilesH))
            while rows > 1 && a2 * cg * rowFloats(l * rows) * 4 > WinogradConvLayer.vLimit { rows -= 1 }
            if rows > 1 { tb = rowFloats(l * rows); lanes = l; rowBlocks = true }
        }
        self.rowBlocks = rowBlocks
        rowsPerBlock = rows
        blocksPerRow = rows > 1 ? 1 : (tilesW + tb - 1) / tb
        rowBlocksPerImage = rows > 1 ? (tilesH + rows - 1) / rows : tilesH * blocksPerRow
        var ptr: [Int32], colIdx: [Int32], weights: [Float]
        var densePositions = [UInt8]()
        switch weight.data {
        case .csr(let mtx):
            ptr = mtx.rowPtr
            colIdx = mtx.colIdx
            weights = mtx.values
            storedDense = false
            nnz = weights.count
            // Positions at least `densePosition` dense keep every entry (zeros included): the
            // register-blocked dense product runs them (see `densePosition`).
            let K = params.outChannels
            let dense = (0..<a2).map { xi in
                Double(ptr[(xi + 1) * K] - ptr[xi * K]) >= WinogradConvLayer.densePosition * Double(K * cg)
            }
            if dense.contains(true) {
                densePositions = dense.map { $0 ? 1 : 0 }
                (ptr, colIdx, weights) = WinogradConvLayer.expandRows(ptr: ptr, col: colIdx, val: weights, rows: a2 * K,
                                                                    cols: cg, where: { dense[$0 / K] })
            }
        case .dense(let v):
            // Rows of Cg entries in column order (zeros kept): the kernel's register-blocked
            // dense product reads them by row pointer alone.
            ptr = (0...(a2 * params.outChannels)).map { Int32($0 * cg) }
            colIdx = []
            weights = v
            storedDense = true
            nnz = weights.count
        }
        posDense = densePositions
        // Rows sorted by length (see `sortWindow`) where they hold at least 8 entries on average.
        let kg = params.outChannels / params.groups
        let sortRows = !storedDense && kg <= Int(UInt16.max) && nnz >= 8 * a2 * params.outChannels
        let width1 = WinogradConvLayer.blockWidth(total: tiles, tb: tb)
        let blocks1 = rowBlocks ? rowBlocksPerImage : (tiles + width1 - 1) / width1
        let kc0 = WinogradConvLayer.productChunk(kg: kg, a2: a2, tb: tb)
        let window = sortRows ? WinogradConvLayer.sortWindow(kg: kg, kc: kc0, base1: params.groups * blocks1, threads: threads) : 1
        geom = wk_wino_geom(variant: Int32(variant.rawValue), C: Int32(cg), H: Int32(h), W: Int32(w),
                            padT: Int32(params.window.padTop), padL: Int32(params.window.padLeft),
                            OH: Int32(oh), OW: Int32(ow), tilesW: Int32(tilesW), T: Int32(tiles), TB: Int32(tb),
                            TBc: Int32(tb), N: 1, xImage: c * h * w, yImage: params.outChannels * oh * ow,
                            dense: storedDense ? 1 : 0,
                            KC: Int32(max(window, kc0 / window * window)), KW: Int32(window), stream: 0,
                            KG: Int32(kg), VWp: Int32(vw), rowLanes: Int32(lanes))
        // The narrowest column data that fits: every entry streams its index with its weight
        // from memory once per block, so 5 bytes per entry beat 6 and 8. (The dense product
        // reads no column data.)
        let cols: [UInt8]
        if storedDense {
            colKind = 2
            cols = []
        } else if cg <= 256 {
            colKind = 2
            cols = colIdx.map { UInt8($0) }
        } else if cg * tb <= 1 << 16 {
            colKind = 1
            cols = colIdx.map { UInt16(Int($0) * tb) }.withUnsafeBytes { Array($0) }
        } else {
            colKind = 0
            cols = colIdx.map { $0 * Int32(tb) }.withUnsafeBytes { Array($0) }
        }
        // Each (position, group, window)'s rows shortest first: the product loop's trip counts
        // then repeat from row to row, and its exits are predicted (dense rows are all equal).
        sortedByLength = sortRows
        var positions = [UInt16](), storedPtr = ptr
        if !sortRows {
            rowPtr = ptr
            colData = cols
            values = AlignedBuffer(weights)
        } else {
            let (order, pos) = WinogradConvLayer.sortedRows(rowPtr: ptr, rows: a2 * params.outChannels, k: params.outChannels, kg: kg, window: window)
            let width = colKind == 2 ? 1 : (colKind == 1 ? 2 : 4)
            var rp = [Int32](repeating: 0, count: ptr.count), sortedCols = [UInt8](), vals = [Float]()
            sortedCols.reserveCapacity(cols.count)
            vals.reserveCapacity(weights.count)
            for (i, r) in order.enumerated() {
                let e0 = Int(ptr[r]), e1 = Int(ptr[r + 1])
                vals += weights[e0..<e1]
                sortedCols += cols[(e0 * width)..<(e1 * width)]
                rp[i + 1] = Int32(vals.count)
            }
            rowPtr = rp
            storedPtr = rp
            colData = sortedCols
            positions = pos
            values = AlignedBuffer(vals)
        }
        // Empty rows (whole positions of Winograd-domain pruned layers) are marked in rowPos:
        // the kernel computes and stores no product for them and reads zeros instead.
        // Positions where no row of a group has an entry are not transformed (`posLive`).
        var empty = 0, live = [UInt8]()
        if !storedDense && kg < Int(WK_EMPTY_ROW) {
            let K = params.outChannels
            var pos = positions.isEmpty ? (0..<(K * a2)).map { UInt16(($0 / a2) % kg) } : positions
            for k in 0..<K {
                for xi in 0..<a2 {
                    let row = xi * K + (k / kg) * kg + Int(pos[k * a2 + xi])
                    if storedPtr[row] == storedPtr[row + 1] { pos[k * a2 + xi] = UInt16(WK_EMPTY_ROW); empty += 1 }
                }
            }
            if empty > 0 {
                positions = pos
                live = (0..<(params.groups * a2)).map { i in
                    let g = i / a2, xi = i % a2
                    return storedPtr[xi * K + (g + 1) * kg] > storedPtr[xi * K + g * kg] ? 1 : 0
                }
                if !live.contains(0) { live = [] }
            }
        }
        // Dense rows (dense weights; positions stored dense) packed per (position, group) for
        // the register-blocked product (`wk_dense_index`).
        if storedDense || !densePositions.isEmpty {
            let v = values.pointer, kfull = kg / 6 * 6
            var seg = [Float](repeating: 0, count: kg * cg)
            for xi in 0..<a2 where storedDense || densePositions[xi] != 0 {
                for g in 0..<params.groups {
                    let base = Int(storedPtr[xi * params.outChannels + g * kg])
                    for i in 0..<(kg * cg) { seg[i] = v[base + i] }
                    for k in 0..<kg {
                        for ch in 0..<cg { v[base + Int(wk_dense_index(Int32(k), Int32(ch), Int32(cg), Int32(kfull)))] = seg[k * cg + ch] }
                    }
                }
            }
        }
        rowPos = positions
        emptyRows = empty
        posLive = live
        self.bias = bias?.denseValues() ?? [Float](repeating: 0, count: params.outChannels)
    }

    /// CSR rows `rows` with the rows where `dense(row)` holds expanded to all `cols` entries in
    /// column order (zeros included).
    static func expandRows(ptr: [Int32], col: [Int32], val: [Float], rows: Int, cols: Int,
                           where dense: (Int) -> Bool) -> ([Int32], [Int32], [Float]) {
        var p = [Int32](repeating: 0, count: rows + 1), c = [Int32](), v = [Float]()
        for r in 0..<rows {
            let e0 = Int(ptr[r]), e1 = Int(ptr[r + 1])
            if dense(r) {
                var full = [Float](repeating: 0, count: cols)
                for e in e0..<e1 { full[Int(col[e])] = val[e] }
                c += (0..<Int32(cols))
                v += full
            } else {
                c += col[e0..<e1]
                v += val[e0..<e1]
            }
            p[r + 1] = Int32(v.count)
        }
        return (p, c, v)
    }

    /// The stored order of CSR rows (position xi, out-channel k at row xi * K + k) and the
    /// stored position within its group of each row, at [k][xi]: within every window of `window`
    /// out-channels of a group (from a multiple of `window`), a position's rows by length,
    /// ties in out-channel order.
    static func sortedRows(rowPtr: [Int32], rows: Int, k: Int, kg: Int, window: Int) -> (order: [Int], pos: [UInt16]) {
        var order = [Int]()
        order.reserveCapacity(rows)
        var w0 = 0
        while w0 < rows {
            let w1 = min(w0 + window, (w0 / kg + 1) * kg)
            let sorted = (w0..<w1).sorted { (a: Int, b: Int) -> Bool in
                let la = rowPtr[a + 1] - rowPtr[a], lb = rowPtr[b + 1] - rowPtr[b]
                return la != lb ? la < lb : a < b
            }
            order += sorted
            w0 = w1
        }
        var pos = [UInt16](repeating: 0, count: rows)
        let a2 = rows / k
        for (i, r) in order.enumerated() { pos[(r % k) * a2 + r / k] = UInt16(i % kg) }
        return (order, pos)
    }

    var density: Double { Double(nnz) / Double(alpha * alpha * p.outChannels * (p.inChannels / p.groups)) }

    var explanation: String {
        let kind = storedDense ? "dense (register-blocked dense product)" : "CSR \(String(format1: density * 100))% dense"
        // The instruction set a call runs: the one in use, at most the one planned for (`VWp`).
        var g = geom
        let backend = String(cString: wk_wino_isa_name(&g))
        let blocks = rowsPerBlock > 1
            ? "in blocks of up to \(rowsPerBlock) tile rows (\(geom.rowLanes) lanes each, \(geom.TB) in all)"
            : rowBlocks ? "in blocks of \(geom.TB) along tile rows" : "in raster-order blocks of up to \(geom.TB) (across the images of a batch)"
        let index = ["32-bit column offsets", "16-bit column offsets", "8-bit column indices"][Int(colKind)]
        let order = sortedByLength ? ", rows sorted by length in windows of \(geom.KW) out-channels" : ""
        let deadPositions = posLive.filter { $0 == 0 }.count
        let dead = deadPositions == 0 ? "" : ", \(deadPositions) of \(p.groups * alpha * alpha) \(p.groups > 1 ? "group positions" : "positions") empty (not transformed)"
        let empty = emptyRows == 0 ? "" : ", \(emptyRows) of \(alpha * alpha * p.outChannels) rows empty (no product)\(dead)"
        let densePos = posDense.filter { $0 != 0 }.count
        let dense = densePos == 0 ? "" : ", \(densePos) of \(alpha * alpha) positions stored dense"
        return "Winograd \(variant) conv, groups \(p.groups), \(geom.T) tiles per image \(blocks), weights \(kind) (\(index))\(order)\(empty)\(dense), products in chunks of up to \(geom.KC) out-channels, \(backend) kernel"
            + (note.map { " (\($0))" } ?? "")
    }

    func scratch(batch: Int) -> ScratchNeed {
        var g = geom
        return ScratchNeed(perThread: Int(wk_wino_scratch_floats(&g)), shared: 0)
    }

    /// Block width for `total` tiles in raster order: the widest of 16, 32 and 64 (at most
    /// TB) that pads the tiles by at most 1/8 more than 16-wide blocks would.
    static func blockWidth(total: Int, tb: Int) -> Int {
        let padded16 = (total + 15) / 16 * 16
        var best = 16
        for cand in [32, 64] where cand <= tb && (total + cand - 1) / cand * cand * 8 <= padded16 * 9 { best = cand }
        return best
    }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        compute(x: io.inputs[0], y: io.output, batch: io.batch, ctx)
    }

    /// Row blocks check the input they own (`checkedRegion`) just before transforming it; raster
    /// blocks (small planes, whose input is small) check one slice of the whole input per work
    /// item, in the same parallel loop.
    var checksOwnInput: Bool { true }

    /// The part of the input plane that row block `blk` checks for non-finite values
    /// (`RunContext.inputCheck`): block (tile row ty, segment bx) owns the input rows from
    /// ty * m - padTop up to the next tile row's first, and the columns likewise, clipped to the
    /// plane, the first block of a row or column from 0 and the last up to the plane's edge. The
    /// regions of all blocks partition the plane; each lies inside what its block reads.
    func checkedRegion(_ blk: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        let m = variant.m, tilesW = Int(geom.tilesW), tilesH = Int(geom.T) / tilesW, TB = Int(geom.TB)
        let perRow = blocksPerRow, bx = blk % perRow
        let ty = rowsPerBlock > 1 ? tileRows(ofBlock: blk) : blk / perRow ..< blk / perRow + 1
        func cut(_ i: Int, _ n: Int, _ step: Int, _ pad: Int, _ size: Int) -> Int {
            i == 0 ? 0 : (i >= n ? size : min(max(i * step - pad, 0), size))
        }
        let padT = Int(geom.padT), padL = Int(geom.padL)
        return (cut(ty.lowerBound, tilesH, m, padT, h) ..< cut(ty.upperBound, tilesH, m, padT, h),
                cut(bx, perRow, TB * m, padL, w) ..< cut(bx + 1, perRow, TB * m, padL, w))
    }

    /// The tile rows of row block `blk` of an image where blocks stack rows (`rowsPerBlock`
    /// above 1): the image's rows spread evenly over its blocks, whose sizes then differ by at
    /// most one row (VGG16 conv3_1: 3, 4, 3, 4 rows, not 4, 4, 4, 2, so that 2 threads get
    /// equal work at batch 1).
    func tileRows(ofBlock blk: Int) -> Range<Int> {
        let tilesH = Int(geom.T) / Int(geom.tilesW), nb = rowBlocksPerImage
        return blk * tilesH / nb ..< (blk + 1) * tilesH / nb
    }

    /// Whether channels `channels` of `checkedRegion(blk)` of the plane set at `x` (planes
    /// h * w floats apart) hold a non-finite value.
    func checkRegion(_ x: UnsafePointer<Float>, block blk: Int, channels: Range<Int>) -> Bool {
        let (rows, cols) = checkedRegion(blk)
        guard !rows.isEmpty && !cols.isEmpty else { return false }
        let plane = h * w
        for ch in channels {
            let p = x + ch * plane
            if cols.count == w {
                if anyNonFinite(p + rows.lowerBound * w, count: rows.count * w) { return true }
            } else {
                for r in rows where anyNonFinite(p + r * w + cols.lowerBound, count: cols.count) { return true }
            }
        }
        return false
    }

    /// The convolution of `batch` images x ([batch, C, H, W]) into y ([batch, K, OH, OW]),
    /// with the per-thread scratch of `ctx` (its shared scratch is left alone).
    func compute(x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, batch: Int, _ ctx: RunContext) {
        let G = p.groups, cg = c / G, kg = p.outChannels / G, K = p.outChannels
        let T = Int(geom.T), tilesW = Int(geom.tilesW), perRow = blocksPerRow
        let rowBlocks = self.rowBlocks
        let plane = h * w, oplane = oh * ow
        // Raster-order blocks run through the tiles of all images at once (tile t of image
        // t / T) when the kernel's 32-bit lane offsets can address the whole batch.
        let acrossImages = !rowBlocks && batch > 1
            && batch * c * plane < Int(Int32.max) && batch * K * oplane < Int(Int32.max)
        let units = acrossImages ? 1 : batch          // calls' image ranges
        let unitTiles = acrossImages ? batch * T : T
        var geom = self.geom
        geom.N = Int32(acrossImages ? batch : 1)
        geom.stream = batch * K * oplane * 4 >= WinogradConvLayer.streamBytes ? 1 : 0
        let TB = rowBlocks ? Int(geom.TB) : WinogradConvLayer.blockWidth(total: unitTiles, tb: Int(geom.TB))
        geom.TBc = Int32(TB)
        let blocks = rowBlocks ? rowBlocksPerImage : (unitTiles + TB - 1) / TB
        let stacked = rowsPerBlock > 1, lanes = Int(geom.rowLanes)
        // First tile and tile count (lanes, with stacked rows) of block b.
        func block(_ b: Int) -> (t0: Int, count: Int) {
            if stacked {
                let rows = tileRows(ofBlock: b)
                return (rows.lowerBound * tilesW, (rows.count - 1) * lanes + tilesW)
            }
            if rowBlocks {
                let tx = (b % perRow) * TB
                return ((b / perRow) * tilesW + tx, min(TB, tilesW - tx))
            }
            return (b * TB, min(TB, unitTiles - b * TB))
        }
        // A block with fewer tiles than TB (the last of a row or of the batch) computes only
        // the vectors it needs.
        let vw = Int(geom.VWp)   // the width planned for at load (the kernels honour it)
        let callGeom = geom, compactRows = colKind == 2
        func blockGeom(_ count: Int) -> wk_wino_geom {
            var gb = callGeom
            if count < TB { gb.TBc = Int32((count + vw - 1) / vw * vw) }
            // A block at most half as wide as the layer's TB (batch 1 where TB suits batches;
            // the last block of a row or batch) keeps its V rows as short as it needs (16, 32
            // or 64 floats), and takes as many more out-channels per product chunk as the
            // same M holds: fewer passes over V. Only where the column data are channel
            // numbers (8-bit) or absent (dense weights), not offsets scaled by TB.
            if compactRows {
                var rowFloats = 16
                while rowFloats < Int(gb.TBc) { rowFloats *= 2 }
                if rowFloats < Int(gb.TB) {
                    gb.KC *= gb.TB / Int32(rowFloats)
                    gb.TB = Int32(rowFloats)
                }
            }
            return gb
        }
        // Out-channels split only as far as the threads need it (`outChannelSplit`), in whole
        // windows of sorted rows (`sortWindow`).
        let base = units * G * blocks
        let wanted = WinogradConvLayer.outChannelSplit(kg: kg, base: base, threads: ctx.threads)
        let window = Int(geom.KW)
        let perChunk = ((kg + wanted - 1) / wanted + window - 1) / window * window
        let kchunks = (kg + perChunk - 1) / perChunk
        let items = base * kchunks
        let scratch = ctx.scratch
        let c = self.c
        let colKind = self.colKind
        let vFloats = withUnsafePointer(to: &geom) { Int(wk_wino_v_floats($0)) }
        // Fewer blocks than threads: every thread would transform the same block's input for
        // its share of out-channels. Instead the threads first transform each block's input
        // together (channel ranges) into the V area of thread b's scratch (block b), then all
        // read it; each thread's products go to its own M area.
        let sharedV = ctx.threads > 1 && base < ctx.threads
        // The model's input check (`checksOwnInput`): row blocks check their owned input just
        // before their input transform reads it; with raster blocks each item of the first
        // parallel loop checks one slice of the whole input.
        let check = ctx.inputCheck, inputCount = batch * c * plane
        posLive.withUnsafeBufferPointer { lv in
        // Group g's live positions (see `posLive`), or nil: all.
        let live = self.posLive.isEmpty ? nil : lv.baseAddress, a2 = alpha * alpha
        if sharedV {
            let parts = ctx.threads
            parallelFor(ctx.pool, base * parts) { item, thread in
                let key = item / parts, part = item % parts
                let n = key / (G * blocks), g = (key / blocks) % G, blk = key % blocks
                let (t0, count) = block(blk)
                var gb = blockGeom(count)
                if let check {
                    let bad = rowBlocks
                        ? self.checkRegion(x + (n * c + g * cg) * plane, block: blk, channels: cg * part / parts ..< cg * (part + 1) / parts)
                        : anyNonFinite(x, count: inputCount, slice: item, of: base * parts)
                    if bad { check.mark(thread) }
                }
                wk_wino_input(&gb, live.map { $0 + g * a2 }, x + (n * c + g * cg) * plane, Int32(t0), Int32(count),
                              Int32(cg * part / parts), Int32(cg * (part + 1) / parts), scratch[key])
            }
        }
        // Which (unit, g, block) each thread's V currently holds (on the stack: no allocation).
        withUnsafeTemporaryAllocation(of: Int.self, capacity: ctx.threads) { heldBuffer in
        let held = heldBuffer.baseAddress!
        held.initialize(repeating: -1, count: ctx.threads)
        rowPtr.withUnsafeBufferPointer { rp in
          rowPos.withUnsafeBufferPointer { rpos in
           posDense.withUnsafeBufferPointer { pdense in
            colData.withUnsafeBufferPointer { cd in
                bias.withUnsafeBufferPointer { bp in
                    let rp = rp.baseAddress!, bp = bp.baseAddress!
                    // (No entries at all: the kernel reads no offsets, any valid pointer will do.)
                    let cp = cd.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(rp)
                    let vals = values.pointer
                    let rowPos = self.rowPos.isEmpty ? nil : rpos.baseAddress
                    let posDense = self.posDense.isEmpty ? nil : pdense.baseAddress
                    let relu: Int32 = p.relu ? 1 : 0
                    parallelFor(ctx.pool, items) { item, thread in
                        let key = item / kchunks, chunk = item % kchunks
                        let n = key / (G * blocks), g = (key / blocks) % G, blk = key % blocks
                        let k0 = chunk * perChunk, k1 = min(kg, (chunk + 1) * perChunk)
                        let fresh: Int32 = sharedV || held[thread] == key ? 0 : 1
                        held[thread] = key
                        let (t0, count) = block(blk)
                        var gb = blockGeom(count)
                        if let check {
                            let bad = rowBlocks
                                ? fresh == 1 && self.checkRegion(x + (n * c + g * cg) * plane, block: blk, channels: 0 ..< cg)
                                : !sharedV && anyNonFinite(x, count: inputCount, slice: item, of: items)
                            if bad { check.mark(thread) }
                        }
                        wk_wino_block(&gb, x + (n * c + g * cg) * plane, Int32(t0), Int32(count),
                                      rp, rowPos, posDense, live.map { $0 + g * a2 }, cp, colKind, vals, Int32(K), Int32(g * kg), Int32(k0), Int32(k1),
                                      bp + g * kg, relu, y + (n * K + g * kg) * oplane,
                                      sharedV ? scratch[key] : scratch[thread], scratch[thread] + vFloats, fresh)
                    }
                }
            }
           }
          }
        }
        }
        }
    }
}
