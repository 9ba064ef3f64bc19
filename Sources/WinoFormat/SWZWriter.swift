// Writes a ModelGraph as a .swz v1 file (Docs/FORMAT.md): header, zlib graph
// section, tensor table, 64-byte-aligned data section.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serialises validated model graphs to the .swz format.
public enum SWZWriter {
    /// Encodes `g` as a .swz file in memory. Validates the graph first (`GraphValidator.validate`).
    /// With `compress`, each tensor payload is zlib-compressed when that makes it smaller;
    /// the graph section is always compressed.
    public static func encode(_ g: ModelGraph, compress: Bool = true) throws -> [UInt8] {
        try GraphValidator.validate(g)
        return try encodeUnchecked(g, compress: compress)
    }

    /// Encodes without validating (tests use it to build invalid files).
    static func encodeUnchecked(_ g: ModelGraph, compress: Bool) throws -> [UInt8] {
        try assemble(graphRaw: try encodeGraph(g), tensors: g.tensors, compress: compress)
    }

    /// Encodes `g` and writes it to `path` (through a temporary file renamed into place).
    public static func write(_ g: ModelGraph, to path: String, compress: Bool = true) throws {
        let bytes = try encode(g, compress: compress)
        let tmp = path + ".tmp"
        guard let f = fopen(tmp, "wb") else {
            throw FormatError(.ioFailed, "cannot create '\(tmp)': \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let closed = fclose(f)
        guard written == bytes.count, closed == 0 else {
            unlink(tmp)
            throw FormatError(.ioFailed, "could not write all \(bytes.count) bytes to '\(tmp)'")
        }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw FormatError(.ioFailed, "cannot rename '\(tmp)' to '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - Graph section

    static func count(_ n: Int, _ what: String) throws -> UInt32 {
        guard let v = UInt32(exactly: n) else { throw FormatError(.limitExceeded, "\(what) \(n) does not fit in 32 bits") }
        return v
    }

    /// The uncompressed graph section.
    static func encodeGraph(_ g: ModelGraph) throws -> [UInt8] {
        var w = ByteWriter()
        let m = g.metadata
        w.string(m.name)
        for i in 0..<3 { w.u32(try count(i < m.inputShape.count ? m.inputShape[i] : 0, "input dimension")) }
        w.u8(m.channelOrder.rawValue)
        w.f32(m.pixelRange)
        w.u32(try count(m.mean.count, "mean count")); m.mean.forEach { w.f32($0) }
        w.u32(try count(m.scale.count, "scale count")); m.scale.forEach { w.f32($0) }
        w.u32(try count(m.resizeShorterSide, "resizeShorterSide"))
        w.u32(try count(m.labels.count, "label count")); m.labels.forEach { w.string($0) }
        w.u32(try count(m.properties.count, "property count"))
        for key in m.properties.keys.sorted() { w.string(key); w.string(m.properties[key] ?? "") }
        w.string(g.input)
        w.string(g.output)
        w.u32(try count(g.nodes.count, "node count"))
        for n in g.nodes {
            w.string(n.name)
            w.u16(n.op.rawValue)
            w.u32(try count(n.inputs.count, "input count")); n.inputs.forEach { w.string($0) }
            w.string(n.output)
            w.u32(try count(n.weights.count, "weight count")); n.weights.forEach { w.string($0) }
            w.u32(try count(n.attributes.count, "attribute count"))
            for key in n.attributes.keys.sorted() {
                w.string(key)
                switch n.attributes[key]! {
                case .int(let v): w.u8(SWZFormat.attrInt); w.i64(v)
                case .ints(let a): w.u8(SWZFormat.attrInts); w.u32(try count(a.count, "attribute list length")); a.forEach { w.i64($0) }
                case .float(let f): w.u8(SWZFormat.attrFloat); w.f32(f)
                case .string(let s): w.u8(SWZFormat.attrString); w.string(s)
                }
            }
        }
        return w.bytes
    }

    // MARK: - Tensor payloads

    /// CSR column index width in bytes for a matrix with `cols` columns.
    static func indexWidth(cols: Int) -> Int { cols <= 65536 ? 2 : 4 }

    /// The payload layout of a tensor, for the byte filter.
    static func layout(_ t: Tensor) -> PayloadLayout {
        switch t.data {
        case .dense(let v): return PayloadLayout(isCSR: false, rows: v.count, nnz: v.count, indexWidth: 0,
                                                 valueWidth: t.storage == .f16 ? 2 : 4)
        case .csr(let m): return PayloadLayout(isCSR: true, rows: m.rows, nnz: m.nnz, indexWidth: indexWidth(cols: m.cols),
                                               valueWidth: t.storage == .f16 ? 2 : 4)
        }
    }

    /// The raw (uncompressed) payload of a tensor.
    static func rawPayload(_ t: Tensor) -> [UInt8] {
        var w = ByteWriter()
        switch t.data {
        case .dense(let v):
            w.bytes.reserveCapacity(v.count * 4)
            if t.storage == .f16 { appendHalves(v, to: &w) } else { appendFloats(v, to: &w) }
        case .csr(let m):
            m.rowPtr.forEach { w.u32(UInt32(bitPattern: $0)) }
            if indexWidth(cols: m.cols) == 2 {
                m.colIdx.forEach { w.u16(UInt16(truncatingIfNeeded: $0)) }
            } else {
                m.colIdx.forEach { w.u32(UInt32(bitPattern: $0)) }
            }
            w.pad(to: 4)
            if t.storage == .f16 { appendHalves(m.values, to: &w) } else { appendFloats(m.values, to: &w) }
        }
        return w.bytes
    }

    /// Values as little-endian binary16 (rounded to nearest even; the writer has checked they fit).
    static func appendHalves(_ v: [Float], to w: inout ByteWriter) {
        for x in v { w.u16(Float16(x).bitPattern) }
    }

    static func appendFloats(_ v: [Float], to w: inout ByteWriter) {
        #if _endian(little)
        v.withUnsafeBytes { w.bytes.append(contentsOf: $0) }
        #else
        v.forEach { w.f32($0) }
        #endif
    }

    // MARK: - Container

    /// Lays out header, graph section, tensor table and data section. Does not validate.
    static func assemble(graphRaw: [UInt8], tensors: [Tensor], compress: Bool) throws -> [UInt8] {
        let A = SWZFormat.alignment
        let graphZ = try Zlib.deflate(graphRaw)
        var table = ByteWriter()
        var data = ByteWriter()
        for t in tensors {
            let raw = rawPayload(t)
            var stored = raw, compression: UInt8 = 0
            if compress {
                // The smaller of plain zlib (1) and filtered zlib (2), if smaller than raw.
                if let z = try? Zlib.deflate(raw), z.count < stored.count { stored = z; compression = 1 }
                if let z = try? Zlib.deflate(PayloadFilter.apply(raw, layout(t))), z.count < stored.count {
                    stored = z; compression = 2
                }
            }
            data.pad(to: A)
            let offset = data.bytes.count
            data.raw(stored)
            let name = Array(t.name.utf8)
            table.u8(UInt8(truncatingIfNeeded: name.count))
            table.raw(name)
            table.u8(t.storage.rawValue)  // dtype
            table.u8(UInt8(truncatingIfNeeded: t.shape.count))
            var nnz = 0, width = 0, encoding: UInt8 = 0
            if case .csr(let m) = t.data { nnz = m.nnz; width = indexWidth(cols: m.cols); encoding = 1 }
            table.u8(encoding)
            table.u8(t.winograd?.rawValue ?? 0)
            table.u8(UInt8(width))
            table.u8(compression)
            table.u16(0)
            t.shape.forEach { table.u64(UInt64(clamping: $0)) }
            table.u64(UInt64(nnz))
            table.u64(UInt64(offset))
            table.u64(UInt64(stored.count))
            table.u64(UInt64(raw.count))
            table.u32(Zlib.crc32(raw))
        }
        let H = SWZFormat.headerSize
        let graphOffset = H
        let tableOffset = graphOffset + graphZ.count
        var dataOffset = tableOffset + table.bytes.count
        dataOffset = (dataOffset + A - 1) / A * A
        let fileSize = dataOffset + data.bytes.count

        var out = ByteWriter()
        out.bytes.reserveCapacity(fileSize)
        out.raw(SWZFormat.magic)
        out.u32(SWZFormat.endianMarker)
        out.u16(SWZFormat.majorVersion)
        // 1.2 only when a tensor needs it, so that files without f16 stay readable by 1.1 readers.
        out.u16(tensors.contains { $0.storage == .f16 } ? 2 : 1)
        out.u32(0)  // flags
        out.u32(try count(tensors.count, "tensor count"))
        out.u64(UInt64(fileSize))
        out.u64(UInt64(graphOffset)); out.u64(UInt64(graphZ.count)); out.u64(UInt64(graphRaw.count))
        out.u64(UInt64(tableOffset)); out.u64(UInt64(table.bytes.count))
        out.u64(UInt64(dataOffset)); out.u64(UInt64(data.bytes.count))
        out.u32(Zlib.crc32(graphRaw))
        out.u32(Zlib.crc32(table.bytes))
        while out.bytes.count < SWZFormat.offHeaderCRC { out.u8(0) }
        out.u32(Zlib.crc32(out.bytes))
        out.raw(graphZ)
        out.raw(table.bytes)
        out.pad(to: A)
        out.raw(data.bytes)
        return out.bytes
    }
}
