// Reads .swz v1 files (Docs/FORMAT.md). Every count, offset and size is
// checked against the bytes present and against `SWZLimits` before anything
// is allocated; the decoded graph is then checked by GraphValidator. File
// content can make the reader throw a FormatError, never trap or hang.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a .swz file holds about one tensor's storage.
public struct SWZTensorInfo: Equatable, Sendable {
    /// Tensor name.
    public var name: String
    /// Logical shape.
    public var shape: [Int]
    /// True for CSR, false for dense.
    public var isCSR: Bool
    /// Winograd variant, nil for spatial tensors.
    public var winograd: WinogradVariant?
    /// Stored nonzeros (CSR) or 0 (dense).
    public var nnz: Int
    /// CSR column index width in bytes (2 or 4), 0 for dense.
    public var indexWidth: Int
    /// Stored value type (dtype 0 f32, 1 f16).
    public var storage: ValueStorage = .f32
    /// Whether the payload is zlib-compressed (compression code 1 or 2).
    public var compressed: Bool
    /// Whether the byte filter of compression code 2 was applied before zlib.
    public var filtered: Bool = false
    /// Payload offset from the start of the file.
    public var fileOffset: Int
    /// Bytes the payload occupies in the file.
    public var storedBytes: Int
    /// Bytes of the raw (uncompressed) payload.
    public var rawBytes: Int
}

/// A decoded .swz file: the graph plus the container's layout, for inspection tools.
public struct SWZFileInfo: Equatable, Sendable {
    /// Format version (major, minor) found in the header.
    public var major: Int, minor: Int
    /// Total file size in bytes.
    public var fileSize: Int
    /// Compressed and inflated size of the graph section.
    public var graphStoredBytes: Int, graphRawBytes: Int
    /// Per-tensor storage, in table order.
    public var tensors: [SWZTensorInfo]
    /// The validated model graph.
    public var graph: ModelGraph
}

/// Parses and validates .swz files.
public enum SWZReader {
    /// Decodes and validates a .swz file held in memory.
    public static func decode(_ bytes: [UInt8], limits: SWZLimits = SWZLimits()) throws -> ModelGraph {
        try inspect(bytes, limits: limits).graph
    }

    /// Decodes and validates a .swz file held in memory, returning its layout as well.
    public static func inspect(_ bytes: [UInt8], limits: SWZLimits = SWZLimits()) throws -> SWZFileInfo {
        try bytes.withUnsafeBytes { try Parser(file: $0, limits: limits).parse() }
    }

    /// Reads, decodes and validates the .swz file at `path`.
    public static func read(path: String, limits: SWZLimits = SWZLimits()) throws -> ModelGraph {
        try inspect(path: path, limits: limits).graph
    }

    /// Reads the .swz file at `path` and returns its layout and graph.
    public static func inspect(path: String, limits: SWZLimits = SWZLimits()) throws -> SWZFileInfo {
        let bytes = try loadFile(path, limits: limits)
        do {
            return try inspect(bytes, limits: limits)
        } catch let e as FormatError {
            throw FormatError(e.kind, "'\(path)': \(e.message)")
        }
    }

    /// The bytes of a regular file, with clear errors for missing paths, directories, devices,
    /// empty files and files beyond the limit or the memory left (`InputFile.read`).
    static func loadFile(_ path: String, limits: SWZLimits) throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(path, maxBytes: limits.maxFileBytes, what: "a .swz model file")
        } catch let e as InputFileError {
            let kind: FormatError.Kind = switch e.reason {
            case .unreadable: .missingName
            case .notRegular: .badMagic
            case .tooLarge: .limitExceeded
            case .empty, .changed: .truncated
            }
            throw FormatError(kind, e.message)
        }
        do {
            _ = try bytes.withUnsafeBytes { try Parser.checkMagic($0) }
        } catch let e as FormatError {
            throw FormatError(e.kind, "'\(path)': \(e.message)")
        }
        return bytes
    }
}

/// One tensor table entry as read, before its payload is loaded.
struct Entry {
    var info: SWZTensorInfo
    var tableOffset: Int
    var dataOffset: Int
    var crc: UInt32
}

struct Parser {
    let file: UnsafeRawBufferPointer
    let limits: SWZLimits
    typealias F = SWZFormat

    static func checkMagic(_ file: UnsafeRawBufferPointer) throws {
        guard file.count > 0 else { throw FormatError(.truncated, "empty file, not a .swz model file") }
        for i in 0..<min(8, file.count) where file[i] != F.magic[i] {
            throw FormatError(.badMagic, "not a .swz model file (bad magic byte 0x\(hex(file[i])) at byte offset \(i))")
        }
    }

    func parse() throws -> SWZFileInfo {
        let n = file.count
        try Parser.checkMagic(file)
        guard n >= F.headerSize else {
            throw FormatError(.truncated, "file is \(n) bytes, shorter than the \(F.headerSize)-byte .swz header")
        }
        var h = ByteReader(UnsafeRawBufferPointer(rebasing: file[0..<F.headerSize]), section: "header")
        h.pos = F.offEndian
        let endian = try h.u32("endianness marker")
        guard endian == F.endianMarker else {
            let hint = endian == 0x0403_0201 ? " (a big-endian file)" : ""
            throw FormatError(.badEndianness, "endianness marker at byte offset 8 is 0x\(hex(endian)), expected 0x01020304 stored little-endian\(hint)")
        }
        let major = try h.u16("major version"), minor = try h.u16("minor version")
        guard major == F.majorVersion else {
            throw FormatError(.unsupportedVersion, "format version \(major).\(minor) at byte offset 12 is not supported; this reader reads \(F.majorVersion).x")
        }
        let headerCRC = Zlib.crc32(UnsafeRawBufferPointer(rebasing: file[0..<F.offHeaderCRC]))
        h.pos = F.offHeaderCRC
        let storedHeaderCRC = try h.u32("header CRC")
        guard headerCRC == storedHeaderCRC || !limits.verifyChecksums else {
            throw FormatError(.checksum, "header CRC32 at byte offset \(F.offHeaderCRC) is 0x\(hex(storedHeaderCRC)), computed 0x\(hex(headerCRC)) over bytes 0..<\(F.offHeaderCRC)")
        }
        h.pos = F.offFlags
        let flags = try h.u32("flags")
        guard flags == 0 else {
            throw FormatError(.badHeader, "flags 0x\(hex(flags)) at byte offset \(F.offFlags): no flags are defined in version 1.0")
        }
        let tensorCount = Int(try h.u32("tensor count"))
        let fileSize = try checkedInt(try h.u64("file size"), "file size at byte offset \(F.offFileSize)")
        let gOff = try h.u64("graph offset"), gStored = try h.u64("graph stored size"), gRaw = try h.u64("graph raw size")
        let tOff = try h.u64("table offset"), tSize = try h.u64("table size")
        let dOff = try h.u64("data offset"), dSize = try h.u64("data size")
        let graphCRC = try h.u32("graph CRC"), tableCRC = try h.u32("table CRC")
        for i in F.offReserved..<F.offHeaderCRC where file[i] != 0 {
            throw FormatError(.badHeader, "reserved header byte at byte offset \(i) is 0x\(hex(file[i])), must be 0")
        }
        guard n >= fileSize else {
            throw FormatError(.truncated, "file is \(n) bytes but its header (byte offset \(F.offFileSize)) declares \(fileSize): truncated")
        }
        guard n == fileSize else {
            throw FormatError(.badHeader, "file has \(n - fileSize) trailing bytes after the declared end at byte offset \(fileSize)")
        }

        // Sections: inside the file, after the header, not overlapping one another.
        func section(_ name: String, _ off: UInt64, _ size: UInt64, field: Int) throws -> Range<Int> {
            guard let o = Int(exactly: off), let s = Int(exactly: size) else {
                throw FormatError(.outOfRange, "\(name) section offset \(off) / size \(size) (header byte offset \(field)) is out of range")
            }
            let (end, overflow) = o.addingReportingOverflow(s)
            guard !overflow, end <= fileSize else {
                throw FormatError(.outOfRange, "\(name) section at offset \(off) with size \(size) (header byte offset \(field)) extends past the end of the \(fileSize)-byte file")
            }
            guard o >= F.headerSize else {
                throw FormatError(.overlap, "\(name) section at offset \(o) (header byte offset \(field)) overlaps the \(F.headerSize)-byte header")
            }
            return o..<end
        }
        let graphRange = try section("graph", gOff, gStored, field: F.offGraphOffset)
        let tableRange = try section("tensor table", tOff, tSize, field: F.offTableOffset)
        let dataRange = try section("data", dOff, dSize, field: F.offDataOffset)
        let named = [("graph", graphRange), ("tensor table", tableRange), ("data", dataRange)]
            .filter { !$0.1.isEmpty }.sorted { $0.1.lowerBound < $1.1.lowerBound }
        for i in named.indices.dropFirst() where named[i].1.lowerBound < named[i - 1].1.upperBound {
            throw FormatError(.overlap, "\(named[i].0) section \(named[i].1) overlaps \(named[i - 1].0) section \(named[i - 1].1)")
        }
        guard dataRange.lowerBound % F.alignment == 0 else {
            throw FormatError(.badHeader, "data section offset \(dataRange.lowerBound) (header byte offset \(F.offDataOffset)) is not \(F.alignment)-byte aligned")
        }
        guard !graphRange.isEmpty else {
            throw FormatError(.outOfRange, "graph section (header byte offset \(F.offGraphStored)) is empty")
        }
        guard let graphRaw = Int(exactly: gRaw), graphRaw <= limits.maxGraphBytes else {
            throw FormatError(.limitExceeded, "graph raw size \(gRaw) (header byte offset \(F.offGraphRaw)) exceeds the limit \(limits.maxGraphBytes)")
        }
        guard graphRaw <= F.maxZlibRatio * graphRange.count + 64 else {
            throw FormatError(.limitExceeded, "graph raw size \(graphRaw) (header byte offset \(F.offGraphRaw)) is more than zlib can inflate from \(graphRange.count) bytes")
        }
        guard tensorCount <= limits.maxTensorCount else {
            throw FormatError(.limitExceeded, "tensor count \(tensorCount) (header byte offset \(F.offTensorCount)) exceeds the limit \(limits.maxTensorCount)")
        }
        guard tensorCount * F.minTableEntry <= tableRange.count else {
            throw FormatError(.truncated, "tensor table at byte offset \(tableRange.lowerBound) is \(tableRange.count) bytes, too small for the \(tensorCount) tensors the header (byte offset \(F.offTensorCount)) declares")
        }

        // Tensor table.
        let tableBytes = UnsafeRawBufferPointer(rebasing: file[tableRange])
        let tableCRCComputed = Zlib.crc32(tableBytes)
        guard tableCRCComputed == tableCRC || !limits.verifyChecksums else {
            throw FormatError(.checksum, "tensor table CRC32 0x\(hex(tableCRC)) (header byte offset \(F.offTableCRC)) does not match the table at byte offset \(tableRange.lowerBound) (computed 0x\(hex(tableCRCComputed)))")
        }
        let entries = try parseTable(tableBytes, base: tableRange.lowerBound, count: tensorCount, data: dataRange)

        // Graph section.
        let graphWhat = "graph section at byte offset \(graphRange.lowerBound)"
        let graphBytes = try Zlib.inflate(UnsafeRawBufferPointer(rebasing: file[graphRange]), rawSize: graphRaw, what: graphWhat)
        let graphCRCComputed = Zlib.crc32(graphBytes)
        guard graphCRCComputed == graphCRC || !limits.verifyChecksums else {
            throw FormatError(.checksum, "\(graphWhat): CRC32 of the inflated graph is 0x\(hex(graphCRCComputed)), header (byte offset \(F.offGraphCRC)) says 0x\(hex(graphCRC))")
        }
        var graph = try graphBytes.withUnsafeBytes { try parseGraph($0) }

        // Payloads. A file may declare up to maxZlibRatio times its size: before inflating,
        // check that the decoded tensors (f16 values widen to f32) fit the memory left.
        // (The largest tensor's inflated bytes are held beside the decoded tensors while it is decoded.)
        let need = entries.reduce(0) { $0 + $1.info.rawBytes * ($1.info.storage == .f16 ? 2 : 1) }
            + (entries.map(\.info.rawBytes).max() ?? 0)
        do {
            try SystemMemory.require(need, for: "the model's \(entries.count) tensors")
        } catch let e as MemoryError {
            throw FormatError(.limitExceeded, e.message)
        }
        graph.tensors = try entries.map { try loadTensor($0) }
        try GraphValidator.validate(graph)
        return SWZFileInfo(major: Int(major), minor: Int(minor), fileSize: fileSize,
                           graphStoredBytes: graphRange.count, graphRawBytes: graphRaw,
                           tensors: entries.map { $0.info }, graph: graph)
    }

    // MARK: - Table

    func parseTable(_ bytes: UnsafeRawBufferPointer, base: Int, count: Int, data: Range<Int>) throws -> [Entry] {
        var r = ByteReader(bytes, base: base, section: "tensor table")
        var entries = [Entry]()
        entries.reserveCapacity(count)
        var names = Set<String>()
        var totalRaw = 0
        for i in 0..<count {
            let at = r.offset
            let nameLen = Int(try r.u8("name length of tensor \(i)"))
            guard nameLen >= 1 else {
                throw FormatError(.badString, "tensor \(i) at byte offset \(at) has an empty name")
            }
            let name = try r.utf8(nameLen, "name of tensor \(i)")
            func fail(_ kind: FormatError.Kind, _ s: String) -> FormatError {
                FormatError(kind, "tensor '\(name)' (table entry at byte offset \(at)): \(s)")
            }
            guard names.insert(name).inserted else { throw fail(.duplicateName, "name appears twice in the tensor table") }
            let dtype = try r.u8("dtype"), rank = Int(try r.u8("rank")), encoding = try r.u8("encoding")
            let variantCode = try r.u8("Winograd variant"), width = Int(try r.u8("index width"))
            let compression = try r.u8("compression"), reserved = try r.u16("reserved")
            guard let storage = ValueStorage(rawValue: dtype) else { throw fail(.unknownCode, "unknown dtype code \(dtype) (0 = f32, 1 = f16)") }
            let vw = storage == .f16 ? 2 : 4
            guard rank >= 1 && rank <= 8 else { throw fail(.shapeMismatch, "rank \(rank) is outside 1...8") }
            guard encoding <= 1 else { throw fail(.unknownCode, "unknown encoding code \(encoding) (0 dense, 1 CSR)") }
            var variant: WinogradVariant?
            if variantCode != 0 {
                guard let v = WinogradVariant(rawValue: variantCode) else {
                    throw fail(.unknownCode, "unknown Winograd variant code \(variantCode) (0...3)")
                }
                variant = v
            }
            guard compression <= 2 else { throw fail(.unknownCode, "unknown compression code \(compression) (0 none, 1 zlib, 2 filtered zlib)") }
            guard reserved == 0 else { throw fail(.badHeader, "reserved field is \(reserved), must be 0") }
            var shape = [Int]()
            var elements = 1
            for d in 0..<rank {
                let v = try r.u64("dimension \(d) of tensor '\(name)'")
                guard v >= 1 && v <= 1 << 30 else { throw fail(.shapeMismatch, "dimension \(d) is \(v), must be 1...2^30") }
                let (p, o) = elements.multipliedReportingOverflow(by: Int(v))
                guard !o, p <= 1 << 32 else { throw fail(.limitExceeded, "more than 2^32 elements") }
                elements = p
                shape.append(Int(v))
            }
            let nnz64 = try r.u64("nnz of tensor '\(name)'")
            let off64 = try r.u64("payload offset of tensor '\(name)'")
            let stored64 = try r.u64("stored size of tensor '\(name)'")
            let raw64 = try r.u64("raw size of tensor '\(name)'")
            let crc = try r.u32("CRC of tensor '\(name)'")

            // Payload placement within the data section.
            guard let off = Int(exactly: off64), let stored = Int(exactly: stored64) else {
                throw fail(.outOfRange, "payload offset \(off64) / stored size \(stored64) out of range")
            }
            let (end, overflow) = off.addingReportingOverflow(stored)
            guard !overflow, end <= data.count else {
                throw fail(.outOfRange, "payload at data offset \(off64) with stored size \(stored64) extends past the \(data.count)-byte data section")
            }
            guard stored > 0 else { throw fail(.outOfRange, "payload stored size is 0") }
            guard off % F.alignment == 0 else { throw fail(.badHeader, "payload offset \(off) is not \(F.alignment)-byte aligned") }

            // Sizes: capped before anything is allocated, then checked against the shape.
            guard let raw = Int(exactly: raw64), raw <= limits.maxTensorRawBytes else {
                throw fail(.limitExceeded, "raw size \(raw64) exceeds the limit \(limits.maxTensorRawBytes)")
            }
            if compression >= 1 {
                guard raw <= F.maxZlibRatio * stored + 64 else {
                    throw fail(.limitExceeded, "raw size \(raw) is more than zlib can inflate from \(stored) stored bytes")
                }
            } else {
                guard raw == stored else { throw fail(.badHeader, "uncompressed payload has stored size \(stored) but raw size \(raw)") }
            }
            totalRaw += raw
            guard totalRaw <= limits.maxTotalRawBytes else {
                throw fail(.limitExceeded, "total raw tensor size exceeds the limit \(limits.maxTotalRawBytes)")
            }
            let expected: Int
            var nnz = 0
            if encoding == 0 {
                guard width == 0, nnz64 == 0 else { throw fail(.badHeader, "dense tensor with index width \(width) / nnz \(nnz64), both must be 0") }
                expected = vw * elements
            } else {
                let cols = shape[rank - 1], rows = elements / cols
                let w = SWZWriter.indexWidth(cols: cols)
                guard width == w else { throw fail(.badHeader, "CSR index width \(width), must be \(w) for \(cols) columns") }
                guard nnz64 <= UInt64(elements), nnz64 <= UInt64(Int32.max) else {
                    throw fail(.badCSR, "nnz \(nnz64) exceeds the \(elements) elements of shape \(shape)")
                }
                nnz = Int(nnz64)
                expected = 4 * (rows + 1) + (w * nnz + 3) / 4 * 4 + vw * nnz
            }
            guard raw == expected else {
                throw fail(.shapeMismatch, "raw size \(raw) does not match shape \(shape)\(encoding == 1 ? " with \(nnz) nonzeros" : ""), expected \(expected)")
            }
            var info = SWZTensorInfo(name: name, shape: shape, isCSR: encoding == 1, winograd: variant, nnz: nnz,
                                     indexWidth: width, compressed: compression >= 1,
                                     fileOffset: data.lowerBound + off, storedBytes: stored, rawBytes: raw)
            info.filtered = compression == 2
            info.storage = storage
            entries.append(Entry(info: info, tableOffset: at, dataOffset: off, crc: crc))
        }
        guard r.atEnd else {
            throw FormatError(.badHeader, "tensor table has \(r.remaining) trailing bytes at byte offset \(r.offset)")
        }
        // Payloads must not overlap one another.
        let sorted = entries.sorted { $0.dataOffset < $1.dataOffset }
        for i in sorted.indices.dropFirst() {
            let a = sorted[i - 1], b = sorted[i]
            if b.dataOffset < a.dataOffset + a.info.storedBytes {
                throw FormatError(.overlap, "payloads of tensors '\(a.info.name)' (byte offset \(a.info.fileOffset), \(a.info.storedBytes) bytes) and '\(b.info.name)' (byte offset \(b.info.fileOffset)) overlap")
            }
        }
        return entries
    }

    // MARK: - Payloads

    func loadTensor(_ e: Entry) throws -> Tensor {
        let info = e.info
        let where_ = "tensor '\(info.name)' payload at byte offset \(info.fileOffset)"
        let stored = UnsafeRawBufferPointer(rebasing: file[info.fileOffset..<(info.fileOffset + info.storedBytes)])
        let data: TensorData
        if info.compressed {
            var raw = try Zlib.inflate(stored, rawSize: info.rawBytes, what: where_)
            if info.filtered {
                let count = info.shape.reduce(1, *), cols = info.shape[info.shape.count - 1]
                PayloadFilter.undo(&raw, PayloadLayout(isCSR: info.isCSR, rows: info.isCSR ? count / cols : count,
                                                       nnz: info.isCSR ? info.nnz : count, indexWidth: info.indexWidth,
                                                       valueWidth: info.storage == .f16 ? 2 : 4))
            }
            data = try raw.withUnsafeBytes { try decodePayload($0, e, where_) }
        } else {
            data = try decodePayload(stored, e, where_)
        }
        return Tensor(name: info.name, shape: info.shape, winograd: info.winograd, data: data, storage: info.storage)
    }

    func decodePayload(_ raw: UnsafeRawBufferPointer, _ e: Entry, _ where_: String) throws -> TensorData {
        let info = e.info
        let crc = Zlib.crc32(raw)
        guard crc == e.crc || !limits.verifyChecksums else {
            throw FormatError(.checksum, "\(where_): CRC32 of the raw payload is 0x\(hex(crc)), table entry at byte offset \(e.tableOffset) says 0x\(hex(e.crc))")
        }
        let count = info.shape.reduce(1, *)
        let half = info.storage == .f16
        guard info.isCSR else { return .dense(half ? halves(raw, from: 0, count: count) : floats(raw, from: 0, count: count)) }
        let cols = info.shape[info.shape.count - 1], rows = count / cols, nnz = info.nnz
        var r = ByteReader(raw, base: 0, section: where_)
        var rowPtr = [Int32](); rowPtr.reserveCapacity(rows + 1)
        for i in 0...rows {
            let v = try r.u32("row pointer")
            guard v <= UInt32(nnz) else { throw FormatError(.badCSR, "\(where_): row pointer \(i) = \(v) exceeds nnz \(nnz)") }
            rowPtr.append(Int32(v))
        }
        var colIdx = [Int32](); colIdx.reserveCapacity(nnz)
        for _ in 0..<nnz {
            let c = info.indexWidth == 2 ? UInt32(try r.u16("column index")) : try r.u32("column index")
            colIdx.append(Int32(clamping: c))  // > Int32.max is out of range either way
        }
        while r.pos % 4 != 0 { _ = try r.u8("padding") }
        try r.need((half ? 2 : 4) * nnz, "values")
        let values = half ? halves(raw, from: r.pos, count: nnz) : floats(raw, from: r.pos, count: nnz)
        let m = CSRMatrix(rows: rows, cols: cols, rowPtr: rowPtr, colIdx: colIdx, values: values)
        if let why = m.invariantViolation() { throw FormatError(.badCSR, "\(where_): \(why)") }
        return .csr(m)
    }

    /// `count` little-endian f16 values at `from`, widened exactly to f32 (bounds already checked).
    func halves(_ raw: UnsafeRawBufferPointer, from: Int, count: Int) -> [Float] {
        (0..<count).map { i in
            Float(Float16(bitPattern: UInt16(raw[from + 2 * i]) | UInt16(raw[from + 2 * i + 1]) << 8))
        }
    }

    /// `count` little-endian f32 values at `from` (bounds already checked by the caller).
    func floats(_ raw: UnsafeRawBufferPointer, from: Int, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, n in
            let src = UnsafeRawBufferPointer(rebasing: raw[from..<(from + 4 * count)])
            UnsafeMutableRawBufferPointer(buf).copyMemory(from: src)
            #if _endian(big)
            for i in 0..<count { buf[i] = Float(bitPattern: UInt32(littleEndian: buf[i].bitPattern)) }
            #endif
            n = count
        }
    }

    // MARK: - Graph

    func parseGraph(_ bytes: UnsafeRawBufferPointer) throws -> ModelGraph {
        var r = ByteReader(bytes, base: 0, section: "graph section (inflated)")
        let S = limits.maxStringBytes, L = limits.maxListCount
        let name = try r.string("model name", max: S)
        var inputShape = [Int]()
        for d in ["C", "H", "W"] { inputShape.append(Int(try r.u32("input dimension \(d)"))) }
        let orderAt = r.offset
        let orderCode = try r.u8("channel order")
        guard let order = ChannelOrder(rawValue: orderCode) else {
            throw FormatError(.unknownCode, "graph section (inflated) byte offset \(orderAt): unknown channel order code \(orderCode)")
        }
        let pixelRange = try r.f32("pixel range")
        let meanCount = try r.count("mean count", minBytesEach: 4, max: L)
        var mean = [Float](); for _ in 0..<meanCount { mean.append(try r.f32("mean")) }
        let scaleCount = try r.count("scale count", minBytesEach: 4, max: L)
        var scale = [Float](); for _ in 0..<scaleCount { scale.append(try r.f32("scale")) }
        let resize = Int(try r.u32("resizeShorterSide"))
        let labelCount = try r.count("label count", minBytesEach: 4, max: L)
        var labels = [String](); labels.reserveCapacity(labelCount)
        for i in 0..<labelCount { labels.append(try r.string("label \(i)", max: S)) }
        let propCount = try r.count("property count", minBytesEach: 8, max: L)
        var props = [String: String]()
        for _ in 0..<propCount {
            let at = r.offset
            let k = try r.string("property key", max: S), v = try r.string("property '\(k)'", max: S)
            guard props.updateValue(v, forKey: k) == nil else {
                throw FormatError(.duplicateName, "graph section (inflated) byte offset \(at): property '\(k)' appears twice")
            }
        }
        let input = try r.string("input name", max: S)
        let output = try r.string("output name", max: S)
        let nodeCount = try r.count("node count", minBytesEach: 22, max: limits.maxNodeCount)
        var nodes = [Node](); nodes.reserveCapacity(nodeCount)
        for i in 0..<nodeCount {
            let at = r.offset
            let nodeName = try r.string("name of node \(i)", max: S)
            let opCode = try r.u16("op code of node '\(nodeName)'")
            guard let op = OpKind(rawValue: opCode) else {
                throw FormatError(.unknownCode, "node '\(nodeName)' at graph section (inflated) byte offset \(at): unknown op code \(opCode)")
            }
            let ni = try r.count("input count of node '\(nodeName)'", minBytesEach: 4, max: L)
            var inputs = [String](); for _ in 0..<ni { inputs.append(try r.string("input of node '\(nodeName)'", max: S)) }
            let out = try r.string("output of node '\(nodeName)'", max: S)
            let nw = try r.count("weight count of node '\(nodeName)'", minBytesEach: 4, max: L)
            var weights = [String](); for _ in 0..<nw { weights.append(try r.string("weight of node '\(nodeName)'", max: S)) }
            let na = try r.count("attribute count of node '\(nodeName)'", minBytesEach: 5, max: L)
            var attrs = [String: AttributeValue]()
            for _ in 0..<na {
                let aAt = r.offset
                let key = try r.string("attribute name in node '\(nodeName)'", max: S)
                let tag = try r.u8("type of attribute '\(key)' of node '\(nodeName)'")
                let value: AttributeValue
                switch tag {
                case F.attrInt: value = .int(try r.i64("attribute '\(key)' of node '\(nodeName)'"))
                case F.attrInts:
                    let c = try r.count("length of attribute '\(key)' of node '\(nodeName)'", minBytesEach: 8, max: L)
                    var a = [Int64](); for _ in 0..<c { a.append(try r.i64("attribute '\(key)' of node '\(nodeName)'")) }
                    value = .ints(a)
                case F.attrFloat: value = .float(try r.f32("attribute '\(key)' of node '\(nodeName)'"))
                case F.attrString: value = .string(try r.string("attribute '\(key)' of node '\(nodeName)'", max: S))
                default:
                    throw FormatError(.unknownCode, "node '\(nodeName)': attribute '\(key)' at graph section (inflated) byte offset \(aAt) has unknown type tag \(tag)")
                }
                guard attrs.updateValue(value, forKey: key) == nil else {
                    throw FormatError(.duplicateName, "node '\(nodeName)': attribute '\(key)' at graph section (inflated) byte offset \(aAt) appears twice")
                }
            }
            nodes.append(Node(name: nodeName, op: op, inputs: inputs, output: out, weights: weights, attributes: attrs))
        }
        guard r.atEnd else {
            throw FormatError(.badHeader, "graph section (inflated) has \(r.remaining) trailing bytes at byte offset \(r.offset)")
        }
        let meta = ModelMetadata(name: name, inputShape: inputShape, channelOrder: order, pixelRange: pixelRange,
                                 mean: mean, scale: scale, resizeShorterSide: resize, labels: labels, properties: props)
        return ModelGraph(metadata: meta, input: input, output: output, nodes: nodes, tensors: [])
    }
}

private func hex<T: FixedWidthInteger>(_ v: T) -> String { String(v, radix: 16) }
