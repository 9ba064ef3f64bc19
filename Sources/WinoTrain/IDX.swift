// IDX files (the MNIST / Fashion-MNIST format), gzipped or not: big-endian header
// (0, 0, type 0x08 = unsigned byte, rank), rank UInt32 dimensions, then the bytes.
import CZlib
import Foundation
import WinoFormat

/// A labelled image set: `count` images of rows x cols bytes and one label each.
public struct Dataset: Sendable {
    /// Number of samples.
    public let count: Int
    /// Image height and width.
    public let rows: Int, cols: Int
    /// Pixels, sample-major, one byte each.
    public let images: [UInt8]
    /// Class of each sample.
    public let labels: [UInt8]

    /// Checks that images and labels agree.
    public init(images: [UInt8], labels: [UInt8], rows: Int, cols: Int) throws {
        guard images.count == labels.count * rows * cols else {
            throw DataError("\(labels.count) labels but \(images.count / max(1, rows * cols)) images")
        }
        count = labels.count; self.rows = rows; self.cols = cols; self.images = images; self.labels = labels
    }

    /// Samples `indices` as one NCHW tensor normalised as the model's metadata says:
    /// (p / 255 * pixelRange - mean) * scale (one channel).
    public func tensor<S: Sequence>(_ indices: S, metadata: ModelMetadata) -> [Float] where S.Element == Int {
        let per = rows * cols
        let range = metadata.pixelRange, mean = metadata.mean.first ?? 0, scale = metadata.scale.first ?? 1
        var x = [Float]()
        x.reserveCapacity(indices.underestimatedCount * per)
        for i in indices { for p in 0..<per { x.append((Float(images[i * per + p]) / 255 * range - mean) * scale) } }
        return x
    }

    /// The first `n` samples.
    public func prefix(_ n: Int) -> Dataset {
        let k = min(n, count)
        return try! Dataset(images: Array(images[0..<(k * rows * cols)]), labels: Array(labels[0..<k]), rows: rows, cols: cols)
    }
}

/// A data file that cannot be used, with the file and what is wrong.
public struct DataError: Error, CustomStringConvertible {
    /// The message.
    public let description: String
    init(_ d: String) { description = d }
}

/// Reads IDX files.
public enum IDX {
    /// Largest file accepted after decompression (the 60k Fashion-MNIST images are 47 MB).
    public static let maxBytes = 512 << 20

    /// Dimensions and payload of one IDX file of unsigned bytes with the expected rank.
    public static func read(_ path: String, rank: Int) throws -> (dims: [Int], data: [UInt8]) {
        let raw: [UInt8]
        do {
            raw = try InputFile.read(path, maxBytes: maxBytes + (64 << 10), what: "an IDX file")
        } catch let e as InputFileError {
            throw DataError(e.message)
        }
        let bytes = raw.count >= 2 && raw[0] == 0x1f && raw[1] == 0x8b ? try gunzip(raw, path: path) : raw
        guard bytes.count >= 4 else { throw DataError("\(path): \(bytes.count) bytes is too short for an IDX header") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(String(format: "%@: not an IDX file (magic %02x %02x %02x %02x)", path, bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        guard bytes[2] == 0x08 else { throw DataError(String(format: "%@: element type 0x%02x, expected 0x08 (unsigned bytes)", path, bytes[2])) }
        guard Int(bytes[3]) == rank else { throw DataError("\(path): rank \(bytes[3]), expected \(rank)") }
        let header = 4 + 4 * rank
        guard bytes.count >= header else { throw DataError("\(path): truncated header (\(bytes.count) of \(header) bytes)") }
        var dims = [Int]()
        for d in 0..<rank {
            let o = 4 + 4 * d
            dims.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let n = dims.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        guard n <= maxBytes else { throw DataError("\(path): dimensions \(dims) declare \(n) bytes, more than the \(maxBytes) accepted") }
        guard bytes.count - header == n else {
            throw DataError("\(path): dimensions \(dims) need \(n) data bytes, the file has \(bytes.count - header)"
                            + (bytes.count - header < n ? " (truncated)" : " (trailing bytes)"))
        }
        return (dims, Array(bytes[header...]))
    }

    /// Images (rank 3) and labels (rank 1) of one split; counts must agree, labels < `classes`.
    public static func load(images: String, labels: String, classes: Int = 10) throws -> Dataset {
        let im = try read(images, rank: 3), lb = try read(labels, rank: 1)
        guard im.dims[0] == lb.dims[0] else {
            throw DataError("\(images) has \(im.dims[0]) images but \(labels) has \(lb.dims[0]) labels")
        }
        if let bad = lb.data.firstIndex(where: { Int($0) >= classes }) {
            throw DataError("\(labels): label \(lb.data[bad]) of sample \(bad) is not below \(classes)")
        }
        return try Dataset(images: im.data, labels: lb.data, rows: im.dims[1], cols: im.dims[2])
    }

    /// The training and test splits in `dir` (train-images-idx3-ubyte[.gz] etc.).
    public static func loadSplits(dir: String) throws -> (train: Dataset, test: Dataset) {
        func find(_ base: String) throws -> String {
            for name in [base + ".gz", base] {
                let p = (dir as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            throw DataError("\(dir): no \(base)[.gz] (expected the four IDX files of MNIST or Fashion-MNIST)")
        }
        return (try load(images: find("train-images-idx3-ubyte"), labels: find("train-labels-idx1-ubyte")),
                try load(images: find("t10k-images-idx3-ubyte"), labels: find("t10k-labels-idx1-ubyte")))
    }

    /// The test split only.
    public static func loadTest(dir: String) throws -> Dataset {
        func p(_ b: String) -> String {
            let gz = (dir as NSString).appendingPathComponent(b + ".gz")
            return FileManager.default.fileExists(atPath: gz) ? gz : (dir as NSString).appendingPathComponent(b)
        }
        return try load(images: p("t10k-images-idx3-ubyte"), labels: p("t10k-labels-idx1-ubyte"))
    }

    /// Inflates a gzip stream, refusing more than `maxBytes` + 64 KiB of output.
    static func gunzip(_ src: [UInt8], path: String) throws -> [UInt8] {
        var strm = z_stream()
        guard inflateInit2_(&strm, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError("\(path): zlib could not start")
        }
        defer { inflateEnd(&strm) }
        var out = [UInt8]()
        let limit = maxBytes + (64 << 10)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var rc: Int32 = Z_OK
        try src.withUnsafeBufferPointer { s in
            strm.next_in = UnsafeMutablePointer(mutating: s.baseAddress!)
            strm.avail_in = uInt(s.count)
            repeat {
                rc = chunk.withUnsafeMutableBufferPointer { c -> Int32 in
                    strm.next_out = c.baseAddress!
                    strm.avail_out = uInt(c.count)
                    return inflate(&strm, Z_NO_FLUSH)
                }
                guard rc == Z_OK || rc == Z_STREAM_END else {
                    throw DataError("\(path): corrupt gzip data (zlib code \(rc))")
                }
                out.append(contentsOf: chunk[0..<(chunk.count - Int(strm.avail_out))])
                guard out.count <= limit else { throw DataError("\(path): inflates to more than \(limit) bytes") }
                if rc == Z_OK && strm.avail_in == 0 && strm.avail_out != 0 {
                    throw DataError("\(path): gzip stream is truncated")
                }
            } while rc != Z_STREAM_END
        }
        return out
    }
}
