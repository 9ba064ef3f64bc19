// Winograd convolution from Winograd-domain weights (dense or CSR), stride 1.
// Legend: m output-tile edge, r kernel edge, alpha = m + r - 1, a2 = alpha^2
// Winograd positions xi, T = tilesH * tilesW tiles per image (tilesH = ceil(OH / m)),
// G groups, Cg = C/G, Kg = K/G, TB tiles per block (16, 32 or 64).
// Weights W[xi][k][c] ([alpha, alpha, K, Cg]: rows (xi, k) of an (a2 K) x Cg CSR matrix;
// dense weights are stored as a CSR matrix holding every entry).
// Work item (n, g, tile block, out-channel chunk), run by the C kernel wk_wino_block:
//   V[xi][c][t] = (B^T d[c,t] B)[xi]               per thread, reused across a thread's
//                                                  consecutive chunks of the same block
//   M[xi][t]    = sum_c W[xi][g*Kg + k][c] V[xi][c][t]   one out-channel at a time (L1)
//   y tile      = A^T M A + bias[k] (ReLU if fused); parts beyond OH x OW dropped.
// Items write disjoint outputs; each sum runs in a fixed order: bit-identical results for
// any thread count.
import CWinoKernels
import WinoFormat
import WinoKernels

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
    let colOff: [Int32]       // column index * TB
    let values: AlignedBuffer
    let nnz: Int
    let storedDense: Bool
    /// Blocks are segments of one tile row (else runs of tiles in raster order).
    let rowBlocks: Bool
    let blocksPerRow: Int
    let bias: [Float]

    /// Set when the planner turned a direct convolution into this layer: why.
    let note: String?

    init(node: Node, params: ConvParams, input: [Int], weight: Tensor, bias: Tensor?, note: String? = nil) {
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
        // Blocks of TB tiles (16, 32 or 64). When a tile row holds at least one SIMD vector
        // of tiles, blocks are segments of one tile row (contiguous loads and stores, no
        // gathers); otherwise they run through the tiles in raster order. TB is as large as
        // useful while the block's V stays within 1 MiB (L2): long vector rows amortise each
        // CSR row's overhead when C is small.
        let vw = Int(wk_vector_width())
        rowBlocks = vw > 1 && tilesW >= vw
        let span = rowBlocks ? tilesW : tiles
        var tb = 16
        for cand in [32, 64] where span > tb && a2 * cg * cand * 4 <= 1 << 20 { tb = cand }
        blocksPerRow = (tilesW + tb - 1) / tb
        geom = wk_wino_geom(variant: Int32(variant.rawValue), C: Int32(cg), H: Int32(h), W: Int32(w),
                            padT: Int32(params.window.padTop), padL: Int32(params.window.padLeft),
                            OH: Int32(oh), OW: Int32(ow), tilesW: Int32(tilesW), T: Int32(tiles), TB: Int32(tb))
        let csr: CSRMatrix
        switch weight.data {
        case .csr(let mtx):
            csr = mtx
            storedDense = false
        case .dense(let v):
            // Every entry kept (zeros too): the dense product in the same kernel.
            let rows = a2 * params.outChannels
            csr = CSRMatrix(rows: rows, cols: cg, rowPtr: (0...rows).map { Int32($0 * cg) },
                            colIdx: (0..<(rows * cg)).map { Int32($0 % cg) }, values: v)
            storedDense = true
        }
        rowPtr = csr.rowPtr
        colOff = csr.colIdx.map { $0 * Int32(tb) }
        values = AlignedBuffer(csr.values)
        nnz = csr.nnz
        self.bias = bias?.denseValues() ?? [Float](repeating: 0, count: params.outChannels)
    }

    var density: Double { Double(nnz) / Double(alpha * alpha * p.outChannels * (p.inChannels / p.groups)) }

    var explanation: String {
        let kind = storedDense ? "dense" : "CSR \(String(format1: density * 100))% dense"
        let backend = String(cString: wk_isa_name())
        return "Winograd \(variant) conv, groups \(p.groups), \(geom.T) tiles in blocks of \(geom.TB)\(rowBlocks ? " along tile rows" : ""), weights \(kind), \(backend) kernel"
            + (note.map { " (\($0))" } ?? "")
    }

    func scratch(batch: Int) -> ScratchNeed {
        var g = geom
        return ScratchNeed(perThread: Int(wk_wino_scratch_floats(&g)), shared: 0)
    }

    func run(_ io: LayerIO, _ ctx: RunContext) {
        let G = p.groups, cg = c / G, kg = p.outChannels / G, K = p.outChannels
        let T = Int(geom.T), TB = Int(geom.TB), tilesW = Int(geom.tilesW), perRow = blocksPerRow
        let rowBlocks = self.rowBlocks
        let blocks = rowBlocks ? (T / tilesW) * perRow : (T + TB - 1) / TB
        // First tile and tile count of block b.
        func block(_ b: Int) -> (t0: Int, count: Int) {
            if rowBlocks {
                let tx = (b % perRow) * TB
                return ((b / perRow) * tilesW + tx, min(TB, tilesW - tx))
            }
            return (b * TB, min(TB, T - b * TB))
        }
        // Split out-channels when there are too few blocks to feed the threads.
        let want = 4 * ctx.threads
        let base = io.batch * G * blocks
        let kchunks = base >= want ? 1 : min(max(1, kg / 8), (want + base - 1) / base)
        let items = base * kchunks
        let plane = h * w, oplane = oh * ow
        let x = io.inputs[0], y = io.output
        let scratch = ctx.scratch
        let c = self.c
        // Which (n, g, block) each thread's V currently holds (on the stack: no allocation).
        withUnsafeTemporaryAllocation(of: Int.self, capacity: ctx.threads) { heldBuffer in
        let held = heldBuffer.baseAddress!
        held.initialize(repeating: -1, count: ctx.threads)
        rowPtr.withUnsafeBufferPointer { rp in
            colOff.withUnsafeBufferPointer { cp in
                bias.withUnsafeBufferPointer { bp in
                    let rp = rp.baseAddress!, cp = cp.baseAddress!, bp = bp.baseAddress!
                    let vals = values.pointer
                    var geom = self.geom
                    let relu: Int32 = p.relu ? 1 : 0
                    withUnsafePointer(to: &geom) { gp in
                        parallelFor(ctx.pool, items) { item, thread in
                            let key = item / kchunks, chunk = item % kchunks
                            let n = key / (G * blocks), g = (key / blocks) % G, blk = key % blocks
                            let k0 = kg * chunk / kchunks, k1 = kg * (chunk + 1) / kchunks
                            let fresh: Int32 = held[thread] == key ? 0 : 1
                            held[thread] = key
                            let (t0, count) = block(blk)
                            wk_wino_block(gp, x + (n * c + g * cg) * plane, Int32(t0), Int32(count),
                                          rp, cp, vals, Int32(K), Int32(g * kg), Int32(k0), Int32(k1),
                                          bp + g * kg, relu, y + (n * K + g * kg) * oplane, scratch[thread], fresh)
                        }
                    }
                }
            }
        }
        }
    }
}
