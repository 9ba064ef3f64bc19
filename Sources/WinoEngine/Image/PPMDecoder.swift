// Netpbm decoder: P6 / P3 (PPM, RGB) and P5 / P2 (PGM, gray), maxval 1...65535.
//
// Header (Netpbm spec): magic "P6" | "P5" | "P3" | "P2", whitespace, width, whitespace, height,
// whitespace, maxval, then for the binary formats exactly one whitespace byte before the raster.
// Whitespace is blank, TAB, CR, LF, VT or FF; a '#' where whitespace may stand starts a comment that
// runs to the next CR or LF (a comment right after maxval ends with the byte that delimits the raster).
// Binary raster: width * height * channels samples, 1 byte each when maxval < 256, otherwise 2 bytes
// big-endian. ASCII raster: decimal samples separated by whitespace (comments tolerated).
// Every sample must be <= maxval; it becomes sample / maxval in [0, 1].
//
// Safety: all counts are checked with overflow-free arithmetic against `maxPixels` and against the
// bytes actually present before anything is allocated; no input traps.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes Netpbm colour (PPM: P6 binary, P3 ASCII) and grayscale (PGM: P5 binary, P2 ASCII) images.
///
/// Any maxval from 1 to 65535 is accepted (binary samples are 2 bytes big-endian when maxval > 255);
/// samples are normalised to [0, 1]. Malformed input throws an `ImageError` that names the file,
/// the problem and its byte offset; no input makes the decoder trap.
public enum PPMDecoder {
    /// The largest accepted width or height.
    public static let maxDimension = 65536
    /// The largest accepted `width * height` (2^26, so that no image needs gigabytes).
    public static let maxPixels = 1 << 26
    /// Bytes an ASCII (P2/P3) raster may take per sample, comments and whitespace included;
    /// `read(path:)` reads no further.
    public static let maxASCIIBytesPerSample = 16
    /// Bytes read before the header is parsed (a header, comments included, may be longer).
    static let headerProbeBytes = 1 << 16
    /// The longest header `read(path:)` reads.
    static let maxHeaderBytes = 16 << 20

    /// Decodes a whole P6, P5, P3 or P2 file held in `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: the file's contents. Bytes after the first image's raster are ignored.
    ///   - source: the name used in error messages, usually the file's path.
    /// - Throws: `ImageError` when the data is not a supported, well-formed Netpbm image.
    public static func decode(_ bytes: [UInt8], source: String = "image") throws -> Image {
        try bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer, source: source)
            return try parser.decode()
        }
    }

    /// Reads and decodes the Netpbm image at `path`.
    ///
    /// - Throws: `ImageError` when the file is missing, a directory, unreadable, or not a
    ///   supported, well-formed Netpbm image; messages start with `path`.
    public static func read(path: String) throws -> Image {
        try decode(readFile(path: path), source: path)
    }

    /// The bytes of the file at `path` that its image needs, with errors phrased for users.
    ///
    /// Reads no more than the image needs: once the header is in, a binary raster's length is
    /// known (any tail is never read) and an ASCII raster is read up to
    /// `maxASCIIBytesPerSample` bytes per sample. A device or pipe that never ends, a header
    /// that never ends, or a huge tail therefore stops the read instead of filling memory.
    static func readFile(path: String) throws -> [UInt8] {
        func fail(_ what: String) -> ImageError { ImageError("\(path): \(what)") }
        func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }
        if path.isEmpty { throw ImageError("empty image path") }
        var fd: Int32
        repeat { fd = open(path, O_RDONLY) } while fd < 0 && errno == EINTR
        if fd < 0 {
            let code = errno
            switch code {
            case ENOENT: throw fail("no such file")
            case EACCES: throw fail("cannot open the file: permission denied")
            case EISDIR: throw fail("is a directory, not an image file")
            default: throw fail("cannot open the file: \(systemError(code))")
            }
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw fail("cannot stat the file: \(systemError(errno))") }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw fail("is a directory, not an image file") }
        // A regular file's size bounds the buffer (one byte more, to see its end).
        let sizeBound = (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) + 1 : Int.max

        var data = [UInt8]()
        var count = 0
        var stop = Int.max    // bytes after which nothing more is read, once the header is known
        var ascii = false     // the header is known and the raster is ASCII
        var ended = false     // the read saw the end of the file
        while count < stop {
            if count == data.count {
                let grown = min(max(2 * data.count, headerProbeBytes), sizeBound, stop)
                data.append(contentsOf: repeatElement(0, count: grown - data.count))
            }
            let n = data.withUnsafeMutableBytes { raw in
                systemRead(fd, raw.baseAddress! + count, raw.count - count)
            }
            if n == 0 { ended = true; break }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EISDIR { throw fail("is a directory, not an image file") }
                throw fail("cannot read the file: \(systemError(code))")
            }
            count += n
            if stop == Int.max && count >= headerProbeBytes {
                // Parse the header from what is here: it says how much the image needs.
                let outcome: (stop: Int, known: Bool) = data.withUnsafeBufferPointer { all in
                    var parser = Parser(bytes: UnsafeBufferPointer(rebasing: all[0..<count]), source: path)
                    if let head = try? parser.header(), parser.pos < count {
                        let cap = head.format.binary
                            ? head.rasterBytes : head.samples * PPMDecoder.maxASCIIBytesPerSample
                        return (parser.pos + cap, !head.format.binary)
                    }
                    // Malformed where bytes remain: stop (decoding reports it); else the header
                    // may go on (a long comment), so read on.
                    return (parser.pos < count - 1 ? count : Int.max, false)
                }
                stop = outcome.stop
                ascii = outcome.known
                if stop == Int.max && count >= maxHeaderBytes {
                    throw fail("no complete PPM/PGM header in the first \(maxHeaderBytes >> 20) MiB")
                }
            }
        }
        if ascii && !ended && count >= stop {
            // Stopped at the ASCII bound: the raster must be complete within it.
            let complete = data.withUnsafeBufferPointer { all -> Bool in
                var p = Parser(bytes: UnsafeBufferPointer(rebasing: all[0..<count]), source: path)
                return (try? p.decode()) != nil
            }
            if !complete {
                throw fail("the ASCII raster is longer than \(PPMDecoder.maxASCIIBytesPerSample) bytes per "
                           + "sample (read the first \(count) bytes)")
            }
        }
        data.removeSubrange(count...)
        return data
    }
}

/// POSIX read(2), outside any type so that `read` is not PPMDecoder.read(path:).
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// The format read from a file's magic number.
private struct NetpbmFormat {
    var magic: String
    var channels: Int
    var binary: Bool
}

/// A cursor over the file's bytes; every read is bounds-checked.
private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let source: String
    var pos = 0

    init(bytes: UnsafeBufferPointer<UInt8>, source: String) {
        self.bytes = bytes
        self.source = source
    }

    func fail(_ what: String) -> ImageError { ImageError("\(source): \(what)") }

    static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || (b >= 0x09 && b <= 0x0D)  // blank, TAB, LF, VT, FF, CR
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// A byte as users can read it: 'x' when printable ASCII, else its hex value.
    static func describe(_ b: UInt8) -> String {
        if b >= 0x21 && b <= 0x7E { return "'\(Character(Unicode.Scalar(b)))'" }
        let hex = String(b, radix: 16, uppercase: true)
        return "byte 0x" + (hex.count < 2 ? "0" + hex : hex)
    }

    /// What is at `pos`: a byte description, or "the end of the file".
    func found() -> String {
        pos < bytes.count ? Parser.describe(bytes[pos]) : "the end of the file"
    }

    /// Skips a comment starting at `pos` ('#') up to, not including, the next CR or LF.
    mutating func skipComment() {
        while pos < bytes.count && bytes[pos] != 0x0A && bytes[pos] != 0x0D { pos += 1 }
    }

    mutating func skipSpaceAndComments() {
        while pos < bytes.count {
            let b = bytes[pos]
            if Parser.isSpace(b) {
                pos += 1
            } else if b == 0x23 {
                skipComment()
            } else {
                return
            }
        }
    }

    /// Reads a decimal number at `pos`; values above 2^40 saturate (their digits are still consumed).
    /// Returns nil when `pos` is not at a digit.
    mutating func number() -> (value: Int, text: String)? {
        let start = pos
        var value = 0
        while pos < bytes.count && Parser.isDigit(bytes[pos]) {
            if value <= 1 << 40 { value = value * 10 + Int(bytes[pos] - 0x30) }
            pos += 1
        }
        if pos == start { return nil }
        let end = min(pos, start + 24)
        var text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        if end < pos { text += "..." }
        return (value, text)
    }

    /// Reads one header field: optional whitespace/comments, a decimal number, then a delimiter.
    mutating func headerField(_ name: String) throws -> (value: Int, text: String, offset: Int) {
        skipSpaceAndComments()
        let offset = pos
        if pos >= bytes.count {
            throw fail("truncated header: missing \(name) at offset \(pos) (the file ends there)")
        }
        guard let (value, text) = number() else {
            throw fail("invalid \(name) at offset \(pos): expected a decimal number, found \(found())")
        }
        if pos < bytes.count && !Parser.isSpace(bytes[pos]) && bytes[pos] != 0x23 {
            throw fail("invalid \(name) at offset \(offset): '\(text)' is followed by \(found()) "
                       + "at offset \(pos) instead of whitespace")
        }
        return (value, text, offset)
    }

    mutating func magic() throws -> NetpbmFormat {
        let supported = "supported: P6 (binary PPM), P3 (ASCII PPM), P5 (binary PGM), P2 (ASCII PGM)"
        if bytes.isEmpty { throw fail("empty file") }
        func starts(with signature: [UInt8]) -> Bool {
            bytes.count >= signature.count && zip(bytes, signature).allSatisfy { $0 == $1 }
        }
        let others: [(signature: [UInt8], name: String)] = [
            ([0x89, 0x50, 0x4E, 0x47], "PNG"), ([0xFF, 0xD8, 0xFF], "JPEG"),
            ([0x47, 0x49, 0x46, 0x38], "GIF"), ([0x42, 0x4D], "BMP"),
        ]
        for other in others where starts(with: other.signature) {
            var base = source
            if let dot = base.lastIndex(of: "."), !base[dot...].contains("/") { base = String(base[..<dot]) }
            throw fail("is a \(other.name) file, not a PPM/PGM: convert it, e.g. with "
                       + "`convert \(source) \(base).ppm`")
        }
        guard bytes.count >= 2 else {
            throw fail("not a PPM/PGM file: it is only 1 byte long (\(Parser.describe(bytes[0]))); \(supported)")
        }
        let kind = bytes[0] == 0x50 ? bytes[1] : 0
        pos = 2
        switch kind {
        case 0x36: return NetpbmFormat(magic: "P6", channels: 3, binary: true)
        case 0x35: return NetpbmFormat(magic: "P5", channels: 1, binary: true)
        case 0x33: return NetpbmFormat(magic: "P3", channels: 3, binary: false)
        case 0x32: return NetpbmFormat(magic: "P2", channels: 1, binary: false)
        case 0x31, 0x34:
            throw fail("P\(kind - 0x30) (PBM bitmap) files are not supported; \(supported)")
        case 0x37:
            throw fail("P7 (PAM) files are not supported; \(supported)")
        default:
            throw fail("not a PPM/PGM file: it starts with \(Parser.describe(bytes[0])) "
                       + "\(Parser.describe(bytes[1])) instead of a Netpbm magic number; \(supported)")
        }
    }

    /// What the header says: the format, the size, maxval; `pos` is left at the raster's first byte.
    struct Header {
        var format: NetpbmFormat
        var width: Int, height: Int, maxval: Int
        /// Samples in the raster (width * height * channels).
        var samples: Int { width * height * format.channels }
        /// Bytes of a binary raster.
        var rasterBytes: Int { maxval > 255 ? 2 * samples : samples }
    }

    mutating func header() throws -> Header {
        let format = try magic()
        if pos < bytes.count && !Parser.isSpace(bytes[pos]) && bytes[pos] != 0x23 {
            throw fail("invalid header: expected whitespace after the magic number \(format.magic) "
                       + "at offset 2, found \(found())")
        }
        let maxDim = PPMDecoder.maxDimension
        let width = try headerField("width")
        if width.value == 0 { throw fail("invalid width at offset \(width.offset): width is 0") }
        if width.value > maxDim {
            throw fail("width \(width.text) at offset \(width.offset) exceeds the maximum of \(maxDim)")
        }
        let height = try headerField("height")
        if height.value == 0 { throw fail("invalid height at offset \(height.offset): height is 0") }
        if height.value > maxDim {
            throw fail("height \(height.text) at offset \(height.offset) exceeds the maximum of \(maxDim)")
        }
        let (w, h) = (width.value, height.value)  // both <= 2^16: the product cannot overflow
        if w * h > PPMDecoder.maxPixels {
            throw fail("image is \(w)x\(h) = \(w * h) pixels, more than the maximum of "
                       + "\(PPMDecoder.maxPixels) (2^26)")
        }
        let maxval = try headerField("maxval")
        if maxval.value == 0 { throw fail("invalid maxval at offset \(maxval.offset): maxval is 0") }
        if maxval.value > 65535 {
            throw fail("invalid maxval at offset \(maxval.offset): \(maxval.text) is more than 65535")
        }
        // The single delimiter after maxval (a comment there ends with it).
        if pos < bytes.count {
            if bytes[pos] == 0x23 { skipComment() }
            if pos < bytes.count { pos += 1 }
        }
        return Header(format: format, width: w, height: h, maxval: maxval.value)
    }

    mutating func decode() throws -> Image {
        let head = try header()
        let pixels = head.format.binary
            ? try binaryRaster(count: head.samples, maxval: head.maxval)
            : try asciiRaster(count: head.samples, maxval: head.maxval)
        return Image(width: head.width, height: head.height, channels: head.format.channels, pixels: pixels)
    }

    mutating func binaryRaster(count: Int, maxval: Int) throws -> [Float] {
        let wide = maxval > 255
        let needed = wide ? 2 * count : count
        let available = bytes.count - pos
        if available < needed {
            throw fail("truncated pixel data: expected \(needed) bytes after the header at offset \(pos), "
                       + "found \(available)")
        }
        let start = pos
        let inverse = 1 / Float(maxval)
        var bad = -1  // index of the first sample above maxval
        let pixels = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            let src = bytes.baseAddress! + start
            if !wide {
                var table = [Float](repeating: 0, count: 256)
                for v in 0..<256 { table[v] = Float(v) / Float(maxval) }
                table.withUnsafeBufferPointer { table in
                    if maxval == 255 {
                        for i in 0..<count { out[i] = table[Int(src[i])] }
                    } else {
                        for i in 0..<count {
                            let s = Int(src[i])
                            if s > maxval { bad = i; break }
                            out[i] = table[s]
                        }
                    }
                }
            } else {
                for i in 0..<count {
                    let s = Int(src[2 * i]) << 8 | Int(src[2 * i + 1])
                    if s > maxval { bad = i; break }
                    out[i] = s == maxval ? 1 : Float(s) * inverse
                }
            }
            initialized = bad < 0 ? count : 0
        }
        if bad >= 0 {
            let offset = start + (wide ? 2 * bad : bad)
            let s = wide ? Int(bytes[offset]) << 8 | Int(bytes[offset + 1]) : Int(bytes[offset])
            throw fail("sample value \(s) exceeds maxval \(maxval) at offset \(offset) (sample \(bad))")
        }
        pos = start + needed
        return pixels
    }

    mutating func asciiRaster(count: Int, maxval: Int) throws -> [Float] {
        // Each sample needs a digit and (except the last) a separator: reject early, before allocating.
        let available = bytes.count - pos
        if available < 2 * count - 1 {
            throw fail("truncated pixel data: expected \(count) samples after the header at offset \(pos), "
                       + "but only \(available) bytes follow")
        }
        let start = pos
        var pixels = [Float](repeating: 0, count: count)
        for i in 0..<count {
            skipSpaceAndComments()
            let offset = pos
            if pos >= bytes.count {
                throw fail("truncated pixel data: expected \(count) samples after the header at offset "
                           + "\(start), found \(i) (the file ends at offset \(pos))")
            }
            guard let (value, text) = number() else {
                throw fail("invalid sample at offset \(pos) (sample \(i)): expected a decimal number, "
                           + "found \(found())")
            }
            if pos < bytes.count && !Parser.isSpace(bytes[pos]) && bytes[pos] != 0x23 {
                throw fail("invalid sample at offset \(offset) (sample \(i)): '\(text)' is followed by "
                           + "\(found()) instead of whitespace")
            }
            if value > maxval {
                throw fail("sample value \(text) exceeds maxval \(maxval) at offset \(offset) (sample \(i))")
            }
            pixels[i] = Float(value) / Float(maxval)
        }
        return pixels
    }
}
