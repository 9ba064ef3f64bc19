// Bounds-checked little-endian byte reading and writing for the .swz format.
// Every read checks the bytes remaining first and throws FormatError(.truncated)
// naming the structure and the absolute byte offset; nothing here can trap on
// file content.

/// Reads little-endian values from a byte slice; `base` is the absolute offset of
/// `bytes[0]` in the file (or in the inflated section), used only in messages.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var pos = 0
    let base: Int
    let section: String

    init(_ bytes: UnsafeRawBufferPointer, base: Int = 0, section: String) {
        self.bytes = bytes
        self.base = base
        self.section = section
    }

    var remaining: Int { bytes.count - pos }
    var offset: Int { base + pos }
    var atEnd: Bool { pos == bytes.count }

    /// Throws unless `n` more bytes are available.
    func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= remaining else {
            throw FormatError(.truncated, "\(section) ends inside \(what) at byte offset \(offset): needs \(n) bytes, \(remaining) left")
        }
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try need(1, what)
        defer { pos += 1 }
        return bytes[pos]
    }

    mutating func u16(_ what: String) throws -> UInt16 {
        try need(2, what)
        defer { pos += 2 }
        return UInt16(bytes[pos]) | UInt16(bytes[pos + 1]) << 8
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        try need(4, what)
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[pos + i]) << (8 * i) }
        pos += 4
        return v
    }

    mutating func u64(_ what: String) throws -> UInt64 {
        try need(8, what)
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[pos + i]) << (8 * i) }
        pos += 8
        return v
    }

    mutating func i64(_ what: String) throws -> Int64 { Int64(bitPattern: try u64(what)) }

    mutating func f32(_ what: String) throws -> Float { Float(bitPattern: try u32(what)) }

    /// A count that will be followed by at least `minBytesEach` bytes per element:
    /// checked against the bytes left before anyone allocates for it.
    mutating func count(_ what: String, minBytesEach: Int, max: Int) throws -> Int {
        let at = offset
        let n = Int(try u32(what))
        guard n <= max else {
            throw FormatError(.limitExceeded, "\(section): \(what) \(n) at byte offset \(at) exceeds the limit \(max)")
        }
        let (need, o) = n.multipliedReportingOverflow(by: minBytesEach)
        guard !o, need <= remaining else {
            throw FormatError(.truncated, "\(section): \(what) \(n) at byte offset \(at) needs at least \(need) more bytes, \(remaining) left")
        }
        return n
    }

    /// `n` raw bytes.
    mutating func slice(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        try need(n, what)
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    }

    /// A UTF-8 string of `n` bytes; rejects invalid UTF-8.
    mutating func utf8(_ n: Int, _ what: String) throws -> String {
        let at = offset
        let raw = try slice(n, what)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw FormatError(.badString, "\(section): \(what) at byte offset \(at) is not valid UTF-8")
        }
        return s
    }

    /// A string stored as u32 byte length + UTF-8 bytes, at most `max` bytes.
    mutating func string(_ what: String, max: Int) throws -> String {
        let at = offset
        let n = Int(try u32("length of \(what)"))
        guard n <= max else {
            throw FormatError(.badString, "\(section): \(what) at byte offset \(at) is \(n) bytes long, limit \(max)")
        }
        return try utf8(n, what)
    }
}

/// Appends little-endian values to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v & 0xff)); bytes.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    /// u32 length + UTF-8 bytes.
    mutating func string(_ s: String) { u32(UInt32(truncatingIfNeeded: s.utf8.count)); bytes.append(contentsOf: s.utf8) }
    /// Zero bytes up to a multiple of `alignment`.
    mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { bytes.append(0) } }

    /// Overwrites 4 bytes at `at` (for fields patched after the fact).
    mutating func put32(_ v: UInt32, at: Int) { for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
    /// Overwrites 8 bytes at `at`.
    mutating func put64(_ v: UInt64, at: Int) { for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
}

/// Converts a file-supplied unsigned value to Int without trapping.
func checkedInt(_ v: UInt64, _ what: String) throws -> Int {
    guard let i = Int(exactly: v) else {
        throw FormatError(.outOfRange, "\(what) \(v) is too large")
    }
    return i
}
