import Foundation
import WinoFormat
import XCTest
@testable import WinoEngine

/// Netpbm decoding (PPMDecoder) and model-input preprocessing (Preprocess).
final class ImageTests: XCTestCase {
    // MARK: helpers

    private func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Asserts that decoding `data` throws an ImageError whose message contains `fragment`.
    private func assertRejects(_ data: [UInt8], _ fragment: String, source: String = "t.ppm",
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            let image = try PPMDecoder.decode(data, source: source)
            XCTFail("decoded \(image.width)x\(image.height) instead of failing with '\(fragment)'",
                    file: file, line: line)
        } catch let error as ImageError {
            XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'",
                          file: file, line: line)
            XCTAssertTrue(error.message.hasPrefix(source + ": "), "'\(error.message)' does not name the file",
                          file: file, line: line)
            XCTAssertFalse(error.message.contains("\n"), file: file, line: line)
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    private func assertClose(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-6,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > tolerance {
            XCTFail("element \(i): \(x) != \(y)", file: file, line: line)
            return
        }
    }

    private func gray(_ w: Int, _ h: Int, _ values: [Float]) -> Image {
        Image(width: w, height: h, channels: 1, pixels: values)
    }

    private func grayModel(_ h: Int, _ w: Int, resize: Int = 0) -> ModelMetadata {
        ModelMetadata(name: "m", inputShape: [1, h, w], channelOrder: .gray, resizeShorterSide: resize)
    }

    // MARK: decoding each format

    func testP6DecodesKnownPixels() throws {
        let image = try PPMDecoder.decode(ascii("P6\n2 1\n255\n") + [255, 0, 0, 0, 51, 255])
        XCTAssertEqual(image, Image(width: 2, height: 1, channels: 3, pixels: [1, 0, 0, 0, 0.2, 1]))
    }

    func testP3DecodesKnownPixels() throws {
        let image = try PPMDecoder.decode(ascii("P3\n1 2\n255\n255 0 0\n0 51 255\n"))
        XCTAssertEqual(image, Image(width: 1, height: 2, channels: 3, pixels: [1, 0, 0, 0, 0.2, 1]))
    }

    func testP5DecodesKnownPixels() throws {
        let image = try PPMDecoder.decode(ascii("P5 3 2 255\n") + [0, 51, 255, 102, 153, 204])
        XCTAssertEqual(image, gray(3, 2, [0, 0.2, 1, 0.4, 0.6, 0.8]))
        XCTAssertEqual(image.sample(x: 2, y: 1), 0.8)
    }

    func testP2DecodesKnownPixels() throws {
        let image = try PPMDecoder.decode(ascii("P2 2 2 4 0 1 2 4"))
        XCTAssertEqual(image, gray(2, 2, [0, 0.25, 0.5, 1]))
    }

    func testSixteenBitBinaryIsBigEndian() throws {
        let image = try PPMDecoder.decode(ascii("P5 2 1 65535\n") + [0x12, 0x34, 0xFF, 0xFF])
        XCTAssertEqual(image.pixels, [Float(0x1234) / 65535, 1])
        let colour = try PPMDecoder.decode(ascii("P6 1 1 1000\n") + [0x03, 0xE8, 0x01, 0xF4, 0, 0])
        XCTAssertEqual(colour.pixels, [1, 0.5, 0])
    }

    func testSixteenBitAscii() throws {
        let image = try PPMDecoder.decode(ascii("P2 3 1 65535 0 65535 13107"))
        XCTAssertEqual(image.pixels, [0, 1, 0.2])
    }

    func testSmallMaxvalScales() throws {
        XCTAssertEqual(try PPMDecoder.decode(ascii("P5 3 1 1\n") + [0, 1, 1]).pixels, [0, 1, 1])
        XCTAssertEqual(try PPMDecoder.decode(ascii("P5 2 1 4\n") + [1, 2]).pixels, [0.25, 0.5])
    }

    func testCommentsInOddPlaces() throws {
        let header = "P6# right after the magic\n#own line\r2#after width\n\t1 # before maxval\n"
            + "255# right after maxval: its line end delimits the raster\n"
        let image = try PPMDecoder.decode(ascii(header) + [255, 0, 0, 0, 51, 255])
        XCTAssertEqual(image.pixels, [1, 0, 0, 0, 0.2, 1])
        let text = try PPMDecoder.decode(ascii("P3 #c\n1 1 255 #c\n255 # red\n#\n0 51#right after blue"))
        XCTAssertEqual(text.pixels, [1, 0, 0.2])
    }

    func testAllWhitespaceKindsInHeader() throws {
        let image = try PPMDecoder.decode(ascii("P2\r\n\u{0B}1\u{0C}1\t255 \t\r\n 51 \n"))
        XCTAssertEqual(image.pixels, [0.2])
    }

    func testExactlyOneWhitespaceByteAfterMaxvalInBinary() throws {
        // The raster starts with bytes that look like whitespace: they are samples, not separators.
        let image = try PPMDecoder.decode(ascii("P5 3 1 255\n") + [0x0A, 0x20, 0x09])
        XCTAssertEqual(image.pixels, [10, 32, 9].map { Float($0) / 255 })
        let crlf = try PPMDecoder.decode(ascii("P5 1 1 255\r") + [0x0A])
        XCTAssertEqual(crlf.pixels, [Float(10) / 255])
    }

    func testTrailingBytesAfterRasterAreIgnored() throws {
        let image = try PPMDecoder.decode(ascii("P5 1 1 255\n") + [255] + ascii("P5 1 1 255\n\0"))
        XCTAssertEqual(image.pixels, [1])
    }

    func testLargeP6Decodes() throws {
        let (w, h) = (1024, 1024)
        var data = ascii("P6 \(w) \(h) 255\n")
        data += (0..<(w * h * 3)).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let start = Date()
        let image = try PPMDecoder.decode(data)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(image.pixels.count, w * h * 3)
        XCTAssertEqual(image.pixels[1_000_000], Float(1_000_000 % 251) / 255)
        XCTAssertLessThan(seconds, 5, "1-megapixel P6 took \(seconds) s")
    }

    // MARK: rejections, one kind per test

    func testRejectsEmptyFile() {
        assertRejects([], "t.ppm: empty file")
    }

    func testRejectsBadMagic() {
        assertRejects(ascii("XY 1 1 255\n\0"), "supported: P6 (binary PPM), P3 (ASCII PPM), P5 (binary PGM)")
        assertRejects(ascii("P9 1 1 255\n\0"), "instead of a Netpbm magic number")
        assertRejects(ascii("P"), "only 1 byte long")
    }

    func testRejectsPNG() {
        assertRejects([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
                      "cat.png: is a PNG file, not a PPM/PGM: convert it, e.g. with `convert cat.png cat.ppm`",
                      source: "cat.png")
    }

    func testRejectsJPEG() {
        assertRejects([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], "is a JPEG file, not a PPM/PGM: convert it",
                      source: "dir.v2/photo.jpg")
    }

    func testRejectsPBMAndPAM() {
        assertRejects(ascii("P4 1 1\n\0"), "P4 (PBM bitmap) files are not supported")
        assertRejects(ascii("P7\nWIDTH 1\n"), "P7 (PAM) files are not supported")
    }

    func testRejectsMissingWhitespaceAfterMagic() {
        assertRejects(ascii("P62 1 255\n"), "expected whitespace after the magic number P6")
    }

    func testRejectsMissingWidth() {
        assertRejects(ascii("P6\n# only a comment\n"), "truncated header: missing width")
    }

    func testRejectsGarbageWidth() {
        assertRejects(ascii("P6 x 1 255\n"), "invalid width at offset 3: expected a decimal number, found 'x'")
        assertRejects(ascii("P6 -2 1 255\n"), "invalid width at offset 3")
        assertRejects(ascii("P6 2x 1 255\n"), "'2' is followed by 'x' at offset 4")
    }

    func testRejectsMissingHeight() {
        assertRejects(ascii("P5 2"), "missing height at offset 4")
    }

    func testRejectsGarbageHeight() {
        assertRejects(ascii("P5 2 1.5 255\n"), "invalid height at offset 5")
    }

    func testRejectsMissingMaxval() {
        assertRejects(ascii("P5 2 1 "), "missing maxval")
    }

    func testRejectsGarbageMaxval() {
        assertRejects(ascii("P5 2 1 ff\n"), "invalid maxval at offset 7")
    }

    func testRejectsZeroWidth() {
        assertRejects(ascii("P5 0 1 255\n"), "invalid width at offset 3: width is 0")
    }

    func testRejectsZeroHeight() {
        assertRejects(ascii("P2 1 0 255\n"), "invalid height at offset 5: height is 0")
    }

    func testRejectsZeroMaxval() {
        assertRejects(ascii("P5 1 1 0\n\0"), "maxval is 0")
    }

    func testRejectsMaxvalAbove65535() {
        assertRejects(ascii("P5 1 1 65536\n\0\0"), "65536 is more than 65535")
        assertRejects(ascii("P5 1 1 99999999999999999999999999999999\n"), "is more than 65535")
    }

    func testRejectsAsciiSampleAboveMaxval() {
        assertRejects(ascii("P2 2 1 100\n5 101\n"), "sample value 101 exceeds maxval 100 at offset 13")
        assertRejects(ascii("P3 1 1 255 0 0 99999999999999999999999"), "exceeds maxval 255")
    }

    func testRejectsBinarySampleAboveMaxval() {
        assertRejects(ascii("P5 2 1 100\n") + [5, 101], "sample value 101 exceeds maxval 100 at offset 12")
        assertRejects(ascii("P5 1 1 1000\n") + [0x03, 0xE9], "sample value 1001 exceeds maxval 1000")
    }

    func testRejectsGarbageAsciiSample() {
        assertRejects(ascii("P2 2 1 255\n5 x\n"), "invalid sample at offset 13 (sample 1)")
        assertRejects(ascii("P2 2 1 255\n5a 6\n"), "'5' is followed by 'a'")
    }

    func testRejectsTruncatedBinaryPixels() {
        assertRejects(ascii("P6 2 2 255\n") + [1, 2, 3, 4, 5],
                      "t.ppm: truncated pixel data: expected 12 bytes after the header at offset 11, found 5")
        assertRejects(ascii("P5 2 1 65535\n") + [1, 2, 3], "expected 4 bytes")
    }

    func testRejectsTruncatedAsciiPixels() {
        assertRejects(ascii("P2 2 2 255\n1 2 3"), "truncated pixel data: expected 4 samples")
        assertRejects(ascii("P2 2 2 255\n1 2 3 # four is missing\n"), "found 3")
    }

    func testRejectsDimensionsAboveCap() {
        assertRejects(ascii("P6 65537 1 255\n"), "width 65537 at offset 3 exceeds the maximum of 65536")
        assertRejects(ascii("P6 1 99999999999999999999 255\n"), "exceeds the maximum of 65536")
        assertRejects(ascii("P5 65536 65536 255\n"), "more than the maximum of 67108864")
    }

    func testHugeHeaderWithoutDataFailsBeforeAllocating() {
        // Exactly at the pixel cap: must fail on the byte count, not try to allocate 800 MB.
        assertRejects(ascii("P6 8192 8192 65535\n\0\0"), "expected 402653184 bytes")
        assertRejects(ascii("P3 8192 8192 255\n1 2 3"), "expected 201326592 samples")
    }

    // MARK: robustness

    private func assertEveryPrefixDecodesRightOrThrows(_ data: [UInt8], file: StaticString = #filePath,
                                                       line: UInt = #line) throws {
        let full = try PPMDecoder.decode(data)
        for n in 0..<data.count {
            do {
                let image = try PPMDecoder.decode(Array(data[..<n]))
                XCTAssertEqual(image, full, "prefix of \(n) bytes decoded differently", file: file, line: line)
            } catch is ImageError {
            } catch {
                XCTFail("prefix \(n): unexpected error \(error)", file: file, line: line)
            }
        }
    }

    func testTruncationSweepP6() throws {
        try assertEveryPrefixDecodesRightOrThrows(ascii("P6 #c\n2 2 255\n") + Array(1...12))
        try assertEveryPrefixDecodesRightOrThrows(ascii("P6 1 2 65535\n") + Array(1...12))
    }

    func testTruncationSweepP3() throws {
        // The last sample has one digit, so no prefix can silently shorten it.
        try assertEveryPrefixDecodesRightOrThrows(ascii("P3\n# c\n2 1\n255\n10 200 30 # c\n44 255 6\n"))
    }

    func testRandomCorruptionNeverTraps() {
        let seeds = [ascii("P6 2 2 255\n") + Array(1...12), ascii("P3 1 2 300\n1 2 3 # x\n4 5 300\n"),
                     ascii("P5 2 1 65535\n") + [1, 2, 3, 4], ascii("P2 2 1 9 1 9")]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let interesting: [UInt8] = [0x30, 0x39, 0x20, 0x0A, 0x23, 0xFF, 0x00, 0x50, 0x36, 0x32]
        for _ in 0..<3000 {
            var data = seeds[next() % seeds.count]
            for _ in 0...(next() % 3) {
                let i = next() % data.count
                data[i] = next() % 2 == 0 ? UInt8(truncatingIfNeeded: next()) : interesting[next() % 10]
            }
            do {
                let image = try PPMDecoder.decode(data)
                XCTAssertEqual(image.pixels.count, image.width * image.height * image.channels)
                XCTAssertTrue(image.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
            } catch {
                XCTAssertTrue(error is ImageError)
            }
        }
    }

    // MARK: reading files

    func testReadDecodesFile() throws {
        let path = NSTemporaryDirectory() + "wino-image-\(getpid()).pgm"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = ascii("P5 2 1 255\n") + [0, 255]
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(data)))
        XCTAssertEqual(try PPMDecoder.read(path: path), gray(2, 1, [0, 1]))
    }

    func testReadMissingFile() {
        XCTAssertThrowsError(try PPMDecoder.read(path: "/nonexistent/cat.ppm")) { error in
            XCTAssertEqual(error as? ImageError, ImageError("/nonexistent/cat.ppm: no such file"))
        }
    }

    func testReadDirectory() {
        let path = NSTemporaryDirectory()
        XCTAssertThrowsError(try PPMDecoder.read(path: path)) { error in
            XCTAssertEqual(error as? ImageError, ImageError("\(path): is a directory, not an image file"))
        }
    }

    func testReadUnreadableFile() throws {
        if getuid() == 0 { throw XCTSkip("root can read any file") }
        let path = NSTemporaryDirectory() + "wino-unreadable-\(getpid()).ppm"
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(ascii("P5 1 1 255\n\0")),
                                                    attributes: [.posixPermissions: 0o000]))
        XCTAssertThrowsError(try PPMDecoder.read(path: path)) { error in
            XCTAssertEqual(error as? ImageError, ImageError("\(path): cannot open the file: permission denied"))
        }
    }

    func testReadEmptyFileNamesIt() throws {
        let path = NSTemporaryDirectory() + "wino-empty-\(getpid()).ppm"
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        XCTAssertThrowsError(try PPMDecoder.read(path: path)) { error in
            XCTAssertEqual(error as? ImageError, ImageError("\(path): empty file"))
        }
    }

    /// A file of `head` followed by zeros up to `size` bytes (a sparse file: no disk used).
    private func sparseFile(_ name: String, head: [UInt8], size: Int) throws -> String {
        let path = NSTemporaryDirectory() + "wino-\(name)-\(getpid())"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(head)))
        XCTAssertEqual(truncate(path, off_t(size)), 0, "cannot extend \(path) to \(size) bytes")
        return path
    }

    /// A device that never ends is read only as far as its header shows it is no image (the
    /// reader used to double its buffer to 4 GiB first: 6 GB of memory for /dev/zero).
    func testEndlessDeviceIsReadOnlyAsFarAsTheHeader() throws {
        for device in ["/dev/zero"] where FileManager.default.fileExists(atPath: device) {
            XCTAssertThrowsError(try PPMDecoder.read(path: device)) { error in
                let message = (error as? ImageError)?.message ?? "\(error)"
                XCTAssertTrue(message.hasPrefix(device + ": "), message)
                XCTAssertTrue(message.contains("not a PPM/PGM") || message.contains("is a "), message)
            }
        }
    }

    /// A binary image's tail is never read: a valid 28x28 PGM followed by 1 TiB of zeros (sparse)
    /// decodes from the first 64 KiB read (it needs 11 + 784 bytes). Before, the whole file was read (11 GB of
    /// memory for a 3.9 GB tail) or refused as larger than 4 GiB.
    func testBinaryImageTailIsNotRead() throws {
        let head = ascii("P5\n28 28\n255\n") + (0..<784).map { UInt8($0 % 256) }
        let path = try sparseFile("tail.pgm", head: head, size: 1 << 40)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertLessThanOrEqual(try PPMDecoder.readFile(path: path).count, PPMDecoder.headerProbeBytes)
        let image = try PPMDecoder.read(path: path)
        XCTAssertEqual(image.width, 28)
        XCTAssertEqual(image.pixels[783], Float(783 % 256) / 255)
    }

    /// An ASCII raster is read up to maxASCIIBytesPerSample bytes per sample: a valid P2 followed
    /// by a sparse 1 TiB tail decodes; one whose raster runs past that bound is an error that
    /// says so, not a report of truncated data.
    func testAsciiRasterIsReadUpToItsBound() throws {
        let samples = (0..<(200 * 200)).map { "\($0 % 200)" }.joined(separator: " ")
        let good = ascii("P2\n200 200\n255\n" + samples + "\n")
        let path = try sparseFile("tail-ascii.pgm", head: good, size: 1 << 40)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertLessThanOrEqual(try PPMDecoder.readFile(path: path).count,
                                 16 + 200 * 200 * PPMDecoder.maxASCIIBytesPerSample)
        XCTAssertEqual(try PPMDecoder.read(path: path).pixels[199], Float(199) / 255)

        // 4 samples after a 100 KB comment: past 4 x 16 bytes.
        let long = ascii("P2\n2 2\n255\n#" + String(repeating: "x", count: 100_000) + "\n1 2 3 4\n")
        let path2 = try sparseFile("long-ascii.pgm", head: long, size: long.count)
        defer { try? FileManager.default.removeItem(atPath: path2) }
        XCTAssertThrowsError(try PPMDecoder.read(path: path2)) { error in
            XCTAssertTrue("\(error)".contains("longer than 16 bytes per sample"), "\(error)")
        }
        // The same image with the comment in its header decodes.
        let inHeader = ascii("P2\n#" + String(repeating: "x", count: 100_000) + "\n2 2\n255\n1 2 3 4\n")
        let path3 = try sparseFile("long-header.pgm", head: inHeader, size: inHeader.count)
        defer { try? FileManager.default.removeItem(atPath: path3) }
        XCTAssertEqual(try PPMDecoder.read(path: path3).pixels, [1, 2, 3, 4].map { Float($0) / 255 })
    }

    /// A header that has not ended after 16 MiB (one endless comment) is an error.
    func testEndlessHeaderIsAnError() throws {
        let path = try sparseFile("endless-header.pgm", head: ascii("P5\n#"), size: 1 << 40)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The sparse tail reads as NUL bytes, which a comment runs over.
        XCTAssertThrowsError(try PPMDecoder.read(path: path)) { error in
            XCTAssertTrue("\(error)".contains("no complete PPM/PGM header in the first 16 MiB"), "\(error)")
        }
    }

    // MARK: preprocessing

    /// Naive oracle: materialise the whole bilinear resize in Double, then crop.
    private func referenceResizeCrop(_ image: Image, to rh: Int, _ rw: Int, crop H: Int, _ W: Int) -> [Float] {
        let (h, w) = (image.height, image.width)
        func source(_ d: Int, _ n: Int, _ out: Int) -> (Int, Int, Double) {
            let s = min(max((Double(d) + 0.5) * Double(n) / Double(out) - 0.5, 0), Double(n - 1))
            let lo = Int(s.rounded(.down))
            return (lo, min(lo + 1, n - 1), s - Double(lo))
        }
        var out: [Float] = []
        for y in (rh - H) / 2..<(rh - H) / 2 + H {
            for x in (rw - W) / 2..<(rw - W) / 2 + W {
                let (y0, y1, ty) = source(y, h, rh), (x0, x1, tx) = source(x, w, rw)
                func p(_ yy: Int, _ xx: Int) -> Double { Double(image.pixels[yy * w + xx]) }
                let top = p(y0, x0) * (1 - tx) + p(y0, x1) * tx
                let bottom = p(y1, x0) * (1 - tx) + p(y1, x1) * tx
                out.append(Float(top * (1 - ty) + bottom * ty))
            }
        }
        return out
    }

    private func ramp(_ w: Int, _ h: Int) -> Image {
        gray(w, h, (0..<(w * h)).map { Float(($0 * 37) % 101) / 100 })
    }

    func testNoResizeWhenSizeMatches() throws {
        let image = ramp(3, 2)
        XCTAssertEqual(try Preprocess.tensor(from: image, metadata: grayModel(2, 3)), image.pixels)
    }

    func testConstantImageStaysConstantThroughResize() throws {
        let image = Image(width: 5, height: 3, channels: 3, pixels: [Float](repeating: 0.3, count: 45))
        for (shape, resize) in [([3, 4, 4], 0), ([3, 2, 2], 0), ([3, 6, 5], 7), ([3, 2, 3], 2)] {
            let metadata = ModelMetadata(name: "m", inputShape: shape, channelOrder: .rgb, resizeShorterSide: resize)
            let out = try Preprocess.tensor(from: image, metadata: metadata)
            XCTAssertEqual(out, [Float](repeating: 0.3, count: shape.reduce(1, *)), "\(shape) S=\(resize)")
        }
    }

    func testCropTakesCentre() throws {
        // 4 wide x 2 high -> 2 x 2: no resize (the height already matches), columns 1 and 2 kept.
        let image = gray(4, 2, [0, 1, 2, 3, 4, 5, 6, 7].map { Float($0) / 10 })
        XCTAssertEqual(try Preprocess.tensor(from: image, metadata: grayModel(2, 2)), [0.1, 0.2, 0.5, 0.6])
        // Odd margins round down: 5 wide -> 2 wide starts at column 1; 3 high -> 2 high at row 0.
        let wide = gray(5, 2, (0..<10).map { Float($0) / 20 })
        XCTAssertEqual(try Preprocess.tensor(from: wide, metadata: grayModel(2, 2)),
                       [1, 2, 6, 7].map { Float($0) / 20 })
        let tall = gray(2, 3, (0..<6).map { Float($0) / 20 })
        XCTAssertEqual(try Preprocess.tensor(from: tall, metadata: grayModel(2, 2)),
                       [0, 1, 2, 3].map { Float($0) / 20 })
    }

    func testUpscaleUsesHalfPixelCentresClampedAtBorders() throws {
        // 2x1 -> covers 4 wide: scale 2, so 4x2; src x = (d + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25.
        let out = try Preprocess.tensor(from: gray(2, 1, [0, 1]), metadata: grayModel(2, 4))
        XCTAssertEqual(out, [0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1])
    }

    func testDownscaleByTwoAveragesPixelPairs() throws {
        let image = ramp(4, 4)
        let out = try Preprocess.tensor(from: image, metadata: grayModel(2, 2))
        let p = image.pixels
        let expected: [Float] = [0, 2, 8, 10].map { (i: Int) -> Float in
            let top: Float = p[i] + p[i + 1]
            let bottom: Float = p[i + 4] + p[i + 5]
            return (top + bottom) / 4
        }
        assertClose(out, expected)
    }

    func testResizeShorterSideKeepsAspectRatioThenCrops() throws {
        // 4 wide x 2 high, S = 3 -> 6 x 3 (longer side 4 * 3 / 2), crop 3 x 3 at column 1.
        let image = ramp(4, 2)
        let out = try Preprocess.tensor(from: image, metadata: grayModel(3, 3, resize: 3))
        assertClose(out, referenceResizeCrop(image, to: 3, 6, crop: 3, 3))
        // 3 wide x 7 high, S = 4 -> 4 wide x round(9.33) = 9 high, crop 4 x 2.
        let tall = ramp(3, 7)
        assertClose(try Preprocess.tensor(from: tall, metadata: grayModel(4, 2, resize: 4)),
                    referenceResizeCrop(tall, to: 9, 4, crop: 4, 2))
    }

    func testCoveringResizeWhenShorterSideIsZero() throws {
        // 5 wide x 3 high into 2 x 4: scale = max(2/3, 4/5) = 0.8 -> 4 wide x round(2.4) = 2 high.
        let image = ramp(5, 3)
        assertClose(try Preprocess.tensor(from: image, metadata: grayModel(2, 4)),
                    referenceResizeCrop(image, to: 2, 4, crop: 2, 4))
        // 3 wide x 5 high into 4 x 4: scale = max(4/5, 4/3) -> 4 wide x round(6.67) = 7 high.
        let tall = ramp(3, 5)
        assertClose(try Preprocess.tensor(from: tall, metadata: grayModel(4, 4)),
                    referenceResizeCrop(tall, to: 7, 4, crop: 4, 4))
    }

    func testTooSmallShorterSideFallsBackToCovering() throws {
        let image = ramp(3, 3)
        assertClose(try Preprocess.tensor(from: image, metadata: grayModel(2, 2, resize: 1)),
                    referenceResizeCrop(image, to: 2, 2, crop: 2, 2))
    }

    func testMeanAndScalePerChannel() throws {
        let image = Image(width: 1, height: 1, channels: 3, pixels: [1, 0.5, 0])
        let metadata = ModelMetadata(name: "m", inputShape: [3, 1, 1], channelOrder: .rgb, pixelRange: 255,
                                     mean: [1, 2, 3], scale: [0.5, 1, 2])
        XCTAssertEqual(try Preprocess.tensor(from: image, metadata: metadata), [127, 125.5, -6])
    }

    func testBGRPutsBlueFirstInCHWOrder() throws {
        // Two pixels: (r, g, b) = (0.1, 0.2, 0.3) and (0.4, 0.5, 0.6).
        let image = Image(width: 2, height: 1, channels: 3, pixels: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        let bgr = ModelMetadata(name: "m", inputShape: [3, 1, 2], channelOrder: .bgr)
        XCTAssertEqual(try Preprocess.tensor(from: image, metadata: bgr), [0.3, 0.6, 0.2, 0.5, 0.1, 0.4])
        let rgb = ModelMetadata(name: "m", inputShape: [3, 1, 2], channelOrder: .rgb)
        XCTAssertEqual(try Preprocess.tensor(from: image, metadata: rgb), [0.1, 0.4, 0.2, 0.5, 0.3, 0.6])
    }

    func testGrayModelNormalises() throws {
        let metadata = ModelMetadata(name: "m", inputShape: [1, 1, 2], channelOrder: .gray, pixelRange: 2,
                                     mean: [1], scale: [10])
        XCTAssertEqual(try Preprocess.tensor(from: gray(2, 1, [0, 1]), metadata: metadata), [-10, 10])
    }

    func testColourImageForGrayModelIsRejected() {
        let image = Image(width: 1, height: 1, channels: 3, pixels: [0, 0, 0])
        XCTAssertThrowsError(try Preprocess.tensor(from: image, metadata: grayModel(1, 1))) { error in
            XCTAssertEqual(error as? ImageError,
                           ImageError("image has 3 channels (PPM colour) but the model expects 1 (grayscale PGM)"))
        }
    }

    func testGrayImageForColourModelIsRejected() {
        let metadata = ModelMetadata(name: "m", inputShape: [3, 1, 1], channelOrder: .bgr)
        XCTAssertThrowsError(try Preprocess.tensor(from: gray(1, 1, [0]), metadata: metadata)) { error in
            XCTAssertEqual(error as? ImageError,
                           ImageError("image has 1 channel (grayscale PGM) but the model expects 3 (PPM colour)"))
        }
    }

    func testUnusableMetadataIsRejected() {
        let image = gray(1, 1, [0])
        let bad = [ModelMetadata(name: "m", inputShape: [1, 1], channelOrder: .gray),
                   ModelMetadata(name: "m", inputShape: [3, 1, 1], channelOrder: .gray),
                   ModelMetadata(name: "m", inputShape: [1, 0, 1], channelOrder: .gray),
                   ModelMetadata(name: "m", inputShape: [1, 1, 1], channelOrder: .gray, mean: [0, 0]),
                   ModelMetadata(name: "m", inputShape: [1, 1, 1], channelOrder: .gray, resizeShorterSide: -1)]
        for metadata in bad {
            XCTAssertThrowsError(try Preprocess.tensor(from: image, metadata: metadata)) { error in
                XCTAssertTrue(error is ImageError, "\(metadata.inputShape)")
            }
        }
    }
}
