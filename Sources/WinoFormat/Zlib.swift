// zlib (RFC 1950 framing: 2-byte header, deflate data, Adler-32 trailer) and
// CRC-32 through the system library. Inflation is given the declared size,
// which the caller has already capped, and must produce exactly that many
// bytes from exactly the stored bytes.
import CZlib

enum Zlib {
    /// Compresses with zlib framing at the default level.
    static func deflate(_ src: [UInt8]) throws -> [UInt8] {
        var destLen = compressBound(uLong(src.count))
        var out = [UInt8](repeating: 0, count: Int(destLen))
        let rc = out.withUnsafeMutableBufferPointer { d in
            src.withUnsafeBufferPointer { s in
                compress2(d.baseAddress, &destLen, s.baseAddress, uLong(s.count), Z_DEFAULT_COMPRESSION)
            }
        }
        guard rc == Z_OK else { throw FormatError(.inflate, "zlib compress2 failed with code \(rc)") }
        out.removeSubrange(Int(destLen)...)
        return out
    }

    /// Inflates a complete zlib stream to exactly `rawSize` bytes. `what` names the
    /// section or tensor and its byte offset for messages. Allocates `rawSize + 1` bytes.
    static func inflate(_ src: UnsafeRawBufferPointer, rawSize: Int, what: String) throws -> [UInt8] {
        guard let srcBase = src.baseAddress, src.count > 0 else {
            throw FormatError(.inflate, "\(what): empty zlib stream")
        }
        // One spare byte detects a stream that inflates to more than declared.
        var out = [UInt8](repeating: 0, count: rawSize + 1)
        var destLen = uLong(out.count)
        var srcLen = uLong(src.count)
        let rc = out.withUnsafeMutableBufferPointer { d in
            uncompress2(d.baseAddress, &destLen, srcBase.assumingMemoryBound(to: Bytef.self), &srcLen)
        }
        switch rc {
        case Z_OK:
            guard Int(destLen) == rawSize else {
                throw FormatError(.inflate, "\(what): zlib stream inflates to \(destLen) bytes, declared \(rawSize)")
            }
            guard Int(srcLen) == src.count else {
                throw FormatError(.inflate, "\(what): zlib stream ends after \(srcLen) of \(src.count) stored bytes (trailing data)")
            }
        case Z_BUF_ERROR:
            throw FormatError(.inflate, "\(what): zlib stream inflates to more than the declared \(rawSize) bytes")
        case Z_MEM_ERROR:
            throw FormatError(.limitExceeded, "\(what): zlib ran out of memory")
        default:
            throw FormatError(.inflate, "\(what): corrupt or incomplete zlib stream (zlib code \(rc))")
        }
        out.removeLast()
        return out
    }

    /// CRC-32 (ISO-HDLC, as in zlib, PNG and gzip) of a byte range.
    static func crc32(_ b: UnsafeRawBufferPointer) -> UInt32 {
        guard let p = b.baseAddress else { return 0 }
        return UInt32(truncatingIfNeeded: crc32_z(0, p.assumingMemoryBound(to: Bytef.self), z_size_t(b.count)))
    }

    /// CRC-32 of a byte array.
    static func crc32(_ b: [UInt8]) -> UInt32 {
        b.withUnsafeBytes { crc32($0) }
    }
}
