// The reversible byte filter of compression code 2 (Docs/FORMAT.md, "Filtered zlib"):
// applied to a raw payload before deflate, undone after inflate, so the raw payload,
// its size and its CRC are exactly those of an unfiltered tensor.
//   - CSR column indices are delta-coded within each row: the first entry of a row keeps
//     its column, each later one stores (column - previous column), modulo 2^(8 width);
//   - then every array of w-byte elements (indices, f32 values) is byte-shuffled: all
//     first bytes, then all second bytes, ... (the row pointers stay as they are).
// Small deltas and the slowly varying sign/exponent bytes of weights then compress far
// better. Undoing the filter never traps on hostile input: arithmetic wraps, row
// pointers are clamped, and the CSR checks that follow reject whatever is inconsistent.

/// Shape facts the filter needs: the payload layout of Docs/FORMAT.md.
struct PayloadLayout {
    /// Dense (all values) or CSR.
    var isCSR: Bool
    /// Logical elements (dense) or rows (CSR).
    var rows: Int
    /// Stored entries (CSR) or elements (dense).
    var nnz: Int
    /// Column index width in bytes (2 or 4; CSR only).
    var indexWidth: Int
    /// Value width in bytes: 4 (f32) or 2 (f16).
    var valueWidth: Int = 4

    /// Byte ranges of the row pointers, the indices and the values.
    var sections: (rowPtr: Range<Int>, indices: Range<Int>, values: Range<Int>) {
        guard isCSR else { return (0..<0, 0..<0, 0..<(valueWidth * nnz)) }
        let rp = 0..<(4 * (rows + 1))
        let idx = rp.upperBound..<(rp.upperBound + indexWidth * nnz)
        let vStart = rp.upperBound + (indexWidth * nnz + 3) / 4 * 4
        return (rp, idx, vStart..<(vStart + valueWidth * nnz))
    }
}

enum PayloadFilter {
    /// Filtered copy of a raw payload.
    static func apply(_ raw: [UInt8], _ layout: PayloadLayout) -> [UInt8] {
        var out = raw
        let s = layout.sections
        if layout.isCSR {
            deltaCode(&out, layout, encode: true)
            shuffle(&out, s.indices, width: layout.indexWidth)
        }
        shuffle(&out, s.values, width: layout.valueWidth)
        return out
    }

    /// Undoes `apply` in place (sizes were validated against the layout before).
    static func undo(_ bytes: inout [UInt8], _ layout: PayloadLayout) {
        let s = layout.sections
        guard s.values.upperBound <= bytes.count else { return }
        unshuffle(&bytes, s.values, width: layout.valueWidth)
        if layout.isCSR {
            unshuffle(&bytes, s.indices, width: layout.indexWidth)
            deltaCode(&bytes, layout, encode: false)
        }
    }

    static func shuffle(_ b: inout [UInt8], _ r: Range<Int>, width w: Int) {
        let n = r.count / w
        guard n > 1 else { return }
        let src = Array(b[r])
        for e in 0..<n { for k in 0..<w { b[r.lowerBound + k * n + e] = src[e * w + k] } }
    }

    static func unshuffle(_ b: inout [UInt8], _ r: Range<Int>, width w: Int) {
        let n = r.count / w
        guard n > 1 else { return }
        let src = Array(b[r])
        for e in 0..<n { for k in 0..<w { b[r.lowerBound + e * w + k] = src[k * n + e] } }
    }

    /// Delta-codes (or decodes) the little-endian column indices row by row.
    static func deltaCode(_ b: inout [UInt8], _ layout: PayloadLayout, encode: Bool) {
        let s = layout.sections, w = layout.indexWidth, nnz = layout.nnz
        func u32(_ at: Int) -> Int {
            Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24
        }
        func index(_ e: Int) -> UInt32 {
            let at = s.indices.lowerBound + e * w
            return w == 2 ? UInt32(b[at]) | UInt32(b[at + 1]) << 8
                          : UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
        }
        func setIndex(_ e: Int, _ v: UInt32) {
            let at = s.indices.lowerBound + e * w
            for k in 0..<w { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
        }
        let mask: UInt32 = w == 2 ? 0xFFFF : 0xFFFF_FFFF
        for row in 0..<layout.rows {
            let lo = min(max(u32(s.rowPtr.lowerBound + 4 * row), 0), nnz)
            let hi = min(max(u32(s.rowPtr.lowerBound + 4 * row + 4), lo), nnz)
            guard hi - lo > 1 else { continue }
            if encode {
                for e in stride(from: hi - 1, to: lo, by: -1) { setIndex(e, (index(e) &- index(e - 1)) & mask) }
            } else {
                for e in (lo + 1)..<hi { setIndex(e, (index(e) &+ index(e - 1)) & mask) }
            }
        }
    }
}
