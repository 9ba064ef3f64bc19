// Handcrafted hostile files, one test per kind of corruption. Each asserts the
// FormatError kind and that the message names the place (offset, tensor, node).
import XCTest
@testable import WinoFormat

final class CorruptFileTests: XCTestCase {
    let plain = Fixture.file(compress: false)
    let packed = Fixture.file(compress: true)

    // MARK: Header

    func testEveryPrefixIsTruncated() {
        for file in [plain, packed] {
            for n in 0..<file.count {
                assertRejects(Array(file[0..<n]), .truncated, mentions: n == 0 ? ["empty"] : ["byte"])
            }
        }
    }

    func testBadMagic() {
        var b = plain; b[3] = 0x58
        assertRejects(b, .badMagic, mentions: ["not a .swz model file", "byte offset 3"])
        assertRejects(Array("{\"onnx\": true}".utf8), .badMagic, mentions: ["not a .swz model file", "byte offset 0"])
    }

    func testWrongEndiannessMarker() {
        var b = plain; b[8] = 1; b[9] = 2; b[10] = 3; b[11] = 4
        assertRejects(b, .badEndianness, mentions: ["byte offset 8", "big-endian"])
    }

    func testUnsupportedMajorVersion() {
        var b = plain; put16(&b, H.major, 2)
        assertRejects(b, .unsupportedVersion, mentions: ["format version 2.", "byte offset 12"])
    }

    func testHeaderCRCMismatch() {
        var b = plain; b[H.tensorCount] ^= 1
        assertRejects(b, .checksum, mentions: ["header CRC32", "byte offset 124"])
    }

    func testUnknownFlags() {
        var b = plain; put32(&b, H.flags, 4); fixHeaderCRC(&b)
        assertRejects(b, .badHeader, mentions: ["flags", "byte offset 16"])
    }

    func testNonzeroReservedHeaderByte() {
        var b = plain; b[H.reserved + 5] = 1; fixHeaderCRC(&b)
        assertRejects(b, .badHeader, mentions: ["reserved", "byte offset 101"])
    }

    func testTrailingBytesAfterDeclaredEnd() {
        assertRejects(plain + [0], .badHeader, mentions: ["trailing", "byte offset \(plain.count)"])
    }

    func testDeclaredFileSizeLargerThanFile() {
        var b = plain; put64(&b, H.fileSize, UInt64(plain.count + 64)); fixHeaderCRC(&b)
        assertRejects(b, .truncated, mentions: ["declares \(plain.count + 64)"])
    }

    // MARK: Sections

    func testGraphOffsetOutOfRange() {
        var b = plain; put64(&b, H.graphOffset, UInt64(plain.count)); fixHeaderCRC(&b)
        assertRejects(b, .outOfRange, mentions: ["graph section", "header byte offset 32"])
    }

    func testSectionSizeUInt64Max() {
        var b = plain; put64(&b, H.graphStored, .max); fixHeaderCRC(&b)
        assertRejects(b, .outOfRange, mentions: ["graph section", "18446744073709551615"])
    }

    func testSectionOverlapsHeader() {
        var b = plain; put64(&b, H.graphOffset, 64); fixHeaderCRC(&b)
        assertRejects(b, .overlap, mentions: ["graph section", "header"])
    }

    func testTableOverlapsGraph() {
        var b = plain; put64(&b, H.tableOffset, get64(b, H.graphOffset) + 1); fixHeaderCRC(&b)
        assertRejects(b, .overlap, mentions: ["tensor table section", "graph section"])
    }

    func testDataSectionOverlapsTable() {
        // Moving the data section back over the table: payloads would overlap table bytes.
        var b = plain; put64(&b, H.dataOffset, get64(b, H.tableOffset)); fixHeaderCRC(&b)
        assertRejects(b, .overlap, mentions: ["data section", "tensor table section"])
    }

    func testGraphRawSizeOverLimit() {
        var b = plain; put64(&b, H.graphRaw, 1 << 40); fixHeaderCRC(&b)
        assertRejects(b, .limitExceeded, mentions: ["graph raw size", "header byte offset 48"])
    }

    func testGraphRawSizeBeyondZlibRatio() {
        var b = plain; put64(&b, H.graphRaw, get64(b, H.graphStored) * 1032 + 65); fixHeaderCRC(&b)
        assertRejects(b, .limitExceeded, mentions: ["more than zlib can inflate"])
    }

    func testGraphInflateSizeMismatch() {
        var b = plain; put64(&b, H.graphRaw, get64(b, H.graphRaw) + 1); fixHeaderCRC(&b)
        assertRejects(b, .inflate, mentions: ["graph section at byte offset 128", "declared"])
    }

    func testCorruptGraphZlibStream() {
        var b = plain; b[128] = 0; fixHeaderCRC(&b)
        assertRejects(b, .inflate, mentions: ["graph section at byte offset 128", "corrupt"])
    }

    func testGraphCRCMismatch() {
        var b = plain; put32(&b, H.graphCRC, get32(b, H.graphCRC) ^ 1); fixHeaderCRC(&b)
        assertRejects(b, .checksum, mentions: ["graph", "byte offset 88"])
    }

    func testTableCRCMismatch() {
        var b = plain; let e = entries(b)["w1"]!
        b[e.crc] ^= 1; fixHeaderCRC(&b)
        assertRejects(b, .checksum, mentions: ["tensor table CRC32", "header byte offset 92"])
    }

    func testTooManyTensorsDeclared() {
        var b = plain; put32(&b, H.tensorCount, .max); fixHeaderCRC(&b)
        assertRejects(b, .limitExceeded, mentions: ["tensor count 4294967295", "byte offset 20"])
        put32(&b, H.tensorCount, 1000); fixHeaderCRC(&b)
        assertRejects(b, .truncated, mentions: ["1000 tensors"])
        put32(&b, H.tensorCount, 6); fixHeaderCRC(&b)
        assertRejects(b, .truncated, mentions: ["tensor table ends inside", "tensor 5"])
        put32(&b, H.tensorCount, 4); fixHeaderCRC(&b)
        assertRejects(b, .badHeader, mentions: ["trailing bytes"])
    }

    // MARK: Tensor table

    func testTensorOffsetOutOfRange() {
        var b = plain; let e = entries(b)["w1"]!
        put64(&b, e.offset, (get64(b, H.dataSize) + 63) / 64 * 64); fixCRCs(&b)
        assertRejects(b, .outOfRange, mentions: ["tensor 'w1'", "extends past"])
    }

    func testTensorOffsetPlusSizeOverflows() {
        var b = plain; let e = entries(b)["w1"]!
        put64(&b, e.offset, 0x7FFF_FFFF_FFFF_FFC0); fixCRCs(&b)
        assertRejects(b, .outOfRange, mentions: ["tensor 'w1'", "9223372036854775744"])
        put64(&b, e.offset, .max); fixCRCs(&b)
        assertRejects(b, .outOfRange, mentions: ["tensor 'w1'", "18446744073709551615"])
        put64(&b, e.offset, 0); put64(&b, e.stored, .max); fixCRCs(&b)
        assertRejects(b, .outOfRange, mentions: ["tensor 'w1'", "stored size 18446744073709551615"])
    }

    func testOverlappingPayloads() {
        var b = plain; let es = entries(b)
        put64(&b, es["b1"]!.offset, get64(b, es["w1"]!.offset)); fixCRCs(&b)
        assertRejects(b, .overlap, mentions: ["'w1'", "'b1'"])
    }

    func testMisalignedPayload() {
        var b = plain; let e = entries(b)["b1"]!
        put64(&b, e.offset, get64(b, e.offset) + 4); fixCRCs(&b)
        assertRejects(b, .badHeader, mentions: ["tensor 'b1'", "aligned"])
    }

    func testZlibBombGuardFailsFast() throws {
        var b = packed; let e = entries(b)["fc"]!
        XCTAssertGreaterThanOrEqual(b[e.compression], 1, "fixture tensor 'fc' should be stored compressed")
        put64(&b, e.raw, 1 << 31); fixCRCs(&b)
        let t0 = Date()
        assertRejects(b, .limitExceeded, mentions: ["tensor 'fc'", "more than zlib can inflate"])
        put64(&b, e.raw, 1 << 40); fixCRCs(&b)
        assertRejects(b, .limitExceeded, mentions: ["tensor 'fc'", "exceeds the limit"])
        XCTAssertLessThan(Date().timeIntervalSince(t0), 0.5)
    }

    func testHugeDenseShapeRejectedBeforeAllocating() {
        // [2^30, 4] f32 = 16 GiB declared, consistent raw size, tiny payload.
        var b = plain; let e = entries(b)["b1"]!
        put64(&b, e.dims, 1 << 30); b[e.rankAt] = 1
        assertRejects({ fixCRCs(&b); return b }(), .shapeMismatch, mentions: ["tensor 'b1'"])
        var c = plain; let f = entries(c)["w1"]!
        put64(&c, f.dims, 1 << 30); put64(&c, f.dims + 8, 1 << 30); fixCRCs(&c)
        assertRejects(c, .limitExceeded, mentions: ["tensor 'w1'", "2^32"])
    }

    func testUncompressedStoredRawDiffer() {
        var b = plain; let e = entries(b)["w1"]!
        put64(&b, e.raw, get64(b, e.raw) + 4); fixCRCs(&b)
        assertRejects(b, .badHeader, mentions: ["tensor 'w1'", "raw size"])
    }

    func testRawSizeDoesNotMatchShape() {
        var b = plain; let e = entries(b)["w1"]!
        put64(&b, e.dims, 5); fixCRCs(&b)
        assertRejects(b, .shapeMismatch, mentions: ["tensor 'w1'", "expected 540"])
    }

    func testInflateSizeMismatch() {
        // Shape and raw size grow together, so only inflation can notice.
        var b = packed; let e = entries(b)["fc"]!
        XCTAssertGreaterThanOrEqual(b[e.compression], 1)
        put64(&b, e.dims, 11); put64(&b, e.raw, get64(b, e.raw) + 4); fixCRCs(&b)
        assertRejects(b, .inflate, mentions: ["tensor 'fc' payload at byte offset", "declared"])
    }

    func testCorruptZlibStream() {
        var b = packed; let e = entries(b)["fc"]!
        b[payload(b, e)] = 0
        assertRejects(b, .inflate, mentions: ["tensor 'fc'", "corrupt"])
    }

    func testPayloadCRCMismatch() {
        var b = plain; let e = entries(b)["w1"]!
        b[payload(b, e) + 17] ^= 0x10
        assertRejects(b, .checksum, mentions: ["tensor 'w1' payload at byte offset \(payload(b, e))"])
    }

    func testRankAboveEight() {
        var b = plain; let e = entries(b)["w1"]!
        b[e.rankAt] = 9; fixCRCs(&b)
        assertRejects(b, .shapeMismatch, mentions: ["tensor 'w1'", "rank 9"])
    }

    func testZeroDimension() {
        var b = plain; let e = entries(b)["w1"]!
        put64(&b, e.dims + 8, 0); fixCRCs(&b)
        assertRejects(b, .shapeMismatch, mentions: ["tensor 'w1'", "dimension 1 is 0"])
    }

    func testEmptyTensorName() {
        var b = plain; let e = entries(b)["b1"]!
        b[e.nameLen] = 0; fixCRCs(&b)
        assertRejects(b, .badString, mentions: ["tensor 1", "empty name", "byte offset \(e.start)"])
    }

    func testInvalidUTF8TensorName() {
        var b = plain; let e = entries(b)["b1"]!
        b[e.nameAt] = 0xFF; fixCRCs(&b)
        assertRejects(b, .badString, mentions: ["name of tensor 1", "UTF-8"])
    }

    func testDuplicateTensorNames() {
        var b = plain; let e = entries(b)["b1"]!
        b[e.nameAt] = UInt8(ascii: "w"); fixCRCs(&b)
        assertRejects(b, .duplicateName, mentions: ["tensor 'w1'", "byte offset \(e.start)"])
    }

    func testUnknownTableCodes() {
        let e = entries(plain)["w2"]!
        for (at, v, what) in [(e.dtype, 2, "dtype"), (e.encoding, 2, "encoding"), (e.variant, 4, "variant"),
                              (e.compression, 3, "compression")] {
            var b = plain; b[at] = UInt8(v); fixCRCs(&b)
            assertRejects(b, .unknownCode, mentions: ["tensor 'w2'", what])
        }
    }

    func testWrongIndexWidth() {
        var b = plain; let e = entries(b)["fc"]!
        b[e.width] = 4; fixCRCs(&b)
        assertRejects(b, .badHeader, mentions: ["tensor 'fc'", "index width 4"])
    }

    // MARK: CSR payloads (fc: 10 x 36, two nonzeros per row; rowPtr at +0, colIdx u16 at +44, values at +84)

    func patchFC(_ patch: (inout [UInt8], Int) -> Void) -> [UInt8] {
        var b = plain; let e = entries(b)["fc"]!
        patch(&b, payload(b, e)); fixPayloadCRC(&b, e)
        return b
    }

    func testCSRRowPtrZeroNotZero() {
        assertRejects(patchFC { put32(&$0, $1, 1) }, .badCSR, mentions: ["tensor 'fc'", "row pointer 0 is 1"])
    }

    func testCSRRowPtrDecreasing() {
        assertRejects(patchFC { put32(&$0, $1 + 8, 1) }, .badCSR, mentions: ["tensor 'fc'", "decrease at row 1"])
    }

    func testCSRLastRowPtrNotNNZ() {
        assertRejects(patchFC { put32(&$0, $1 + 40, 19) }, .badCSR, mentions: ["tensor 'fc'", "last row pointer 19 != nnz 20"])
    }

    func testCSRRowPtrBeyondNNZ() {
        assertRejects(patchFC { put32(&$0, $1 + 4, 0xFFFF_FFFF) }, .badCSR, mentions: ["tensor 'fc'", "row pointer 1"])
    }

    func testCSRColumnOutOfRange() {
        assertRejects(patchFC { put16(&$0, $1 + 44, 36) }, .badCSR, mentions: ["tensor 'fc'", "column index 36 out of range"])
    }

    func testCSRColumnsNotIncreasing() {
        assertRejects(patchFC { put16(&$0, $1 + 46, 0) }, .badCSR, mentions: ["tensor 'fc'", "not strictly increasing in row 0"])
    }

    func testCSRNNZAboveElementCount() {
        var b = plain; let e = entries(b)["fc"]!
        put64(&b, e.nnz, 361); fixCRCs(&b)
        assertRejects(b, .badCSR, mentions: ["tensor 'fc'", "nnz 361"])
    }

    // MARK: Values

    func testNaNWeight() {
        var b = plain; let e = entries(b)["b1"]!
        put32(&b, payload(b, e) + 8, 0x7FC0_0000); fixPayloadCRC(&b, e)
        assertRejects(b, .nonFinite, mentions: ["tensor 'b1'", "value 2"])
    }

    func testInfWeight() {
        var b = plain; let e = entries(b)["fc"]!
        put32(&b, payload(b, e) + 84, 0x7F80_0000); fixPayloadCRC(&b, e)
        assertRejects(b, .nonFinite, mentions: ["tensor 'fc'", "inf"])
    }

    // MARK: Graph section

    func testUnknownOpCode() {
        let b = withGraphBytes { raw in
            let i = find(raw, lpString("conv1"))!
            put16(&raw, i + 9, 99)
        }
        assertRejects(b, .unknownCode, mentions: ["node 'conv1'", "op code 99", "byte offset"])
    }

    func testUnknownAttributeTypeTag() {
        let b = withGraphBytes { raw in
            let i = find(raw, lpString("strides"))!
            raw[i + 11] = 9
        }
        assertRejects(b, .unknownCode, mentions: ["node 'conv1'", "'strides'", "type tag 9"])
    }

    func testUnknownChannelOrder() {
        let b = withGraphBytes { $0[4 + 4 + 12] = 7 }
        assertRejects(b, .unknownCode, mentions: ["channel order code 7", "byte offset 20"])
    }

    func testInvalidUTF8Label() {
        let b = withGraphBytes { raw in
            let i = find(raw, lpString("class 3 \u{e9}"))!
            raw[i + 4 + 8] = 0xC3; raw[i + 4 + 9] = 0x28
        }
        assertRejects(b, .badString, mentions: ["label 3", "UTF-8"])
    }

    func testTrailingGraphBytes() {
        assertRejects(withGraphBytes { $0.append(0) }, .badHeader, mentions: ["graph section", "trailing"])
    }

    func testHugeCountInGraph() {
        let b = withGraphBytes { raw in
            let i = find(raw, lpString("class 0 \u{e9}"))!
            put32(&raw, i - 4, 0x00FF_FFFF)
        }
        assertRejects(b, .truncated, mentions: ["label count 16777215"])
    }

    func testDuplicateNodeNames() {
        var g = Fixture.graph(); g.nodes[1].name = "conv1"
        assertRejects(unchecked(g), .duplicateName, mentions: ["node name 'conv1'"])
    }

    /// Control characters in names, labels, the model name and property keys (terminal escapes,
    /// NUL, line breaks) are rejected; property values may break lines, nothing else.
    func testControlCharactersInTextAreRejected() {
        var g = Fixture.graph(); g.nodes[1].name = "relu\u{1B}[2J"
        assertRejects(unchecked(g), .badString, mentions: ["node name", "U+001B"])
        g = Fixture.graph(); g.metadata.name = "m\u{0}"
        assertRejects(unchecked(g), .badString, mentions: ["model name", "U+0000"])
        g = Fixture.graph(); g.metadata.labels = (0..<10).map { $0 == 3 ? "bag\nshoe" : "c\($0)" }
        assertRejects(unchecked(g), .badString, mentions: ["label 3", "U+000A"])
        g = Fixture.graph(); g.metadata.properties = ["k\r": "v"]
        assertRejects(unchecked(g), .badString, mentions: ["property key", "U+000D"])
        g = Fixture.graph(); g.metadata.properties = ["description": "two\nlines\tand a tab"]
        XCTAssertNoThrow(try SWZReader.decode(unchecked(g)))
        g.metadata.properties = ["description": "bell\u{7}"]
        assertRejects(unchecked(g), .badString, mentions: ["property 'description'", "U+0007"])
    }

    func testMissingTensor() {
        var g = Fixture.graph(); g.nodes[0].weights = ["w1", "nope"]
        assertRejects(unchecked(g), .missingName, mentions: ["node 'conv1'", "'nope'"])
    }

    func testDanglingActivationInput() {
        var g = Fixture.graph(); g.nodes[1].inputs = ["ghost"]
        assertRejects(unchecked(g), .missingName, mentions: ["node 'relu1'", "'ghost'"])
    }

    func testCycle() {
        var g = Fixture.graph(); g.nodes[1].inputs = ["n1"]
        assertRejects(unchecked(g), .cycle, mentions: ["node 'relu1'", "norm1"])
    }

    func testUnknownAttribute() {
        var g = Fixture.graph(); g.nodes[0].attributes["dilation"] = .ints([2, 2])
        assertRejects(unchecked(g), .unknownAttribute, mentions: ["node 'conv1'", "'dilation'"])
    }

    func testBadAttributeType() {
        var g = Fixture.graph(); g.nodes[3].attributes["group"] = .float(2)
        assertRejects(unchecked(g), .badAttribute, mentions: ["node 'wconv'", "'group'"])
    }

    func testShapeMismatchConvChannels() {
        var g = Fixture.graph()
        g.tensors[0] = Tensor(name: "w1", shape: [4, 2, 3, 3], data: .dense(Fixture.values(72, seed: 1)))
        assertRejects(unchecked(g), .shapeMismatch, mentions: ["node 'conv1'", "'w1'", "2 input channels"])
    }

    func testNodeNameTooLong() {
        var g = Fixture.graph(); g.nodes[5].name = String(repeating: "x", count: 300)
        assertRejects(unchecked(g), .badString, mentions: ["node name", "255"])
    }

    func testLabelsCountMismatch() {
        var g = Fixture.graph(); g.metadata.labels = ["cat", "dog", "fish"]
        assertRejects(unchecked(g), .badMetadata, mentions: ["3 labels", "'prob'", "10 values"])
    }

    func testMeanCountMismatch() {
        var g = Fixture.graph(); g.metadata.mean = [1, 2]
        assertRejects(unchecked(g), .badMetadata, mentions: ["mean (2)"])
    }

    func testWinogradTensorWrongAlpha() {
        var g = Fixture.graph()
        g.tensors[2].winograd = .f4x4_3x3
        assertRejects(unchecked(g), .shapeMismatch, mentions: ["'w2'", "F(4x4,3x3)"])
    }

    // MARK: Files on disk

    func testFileErrors() throws {
        let dir = NSTemporaryDirectory() + "wino-format-\(getpid())"
        mkdir(dir, 0o755)
        defer { unlink(dir + "/empty.swz"); unlink(dir + "/text.swz"); rmdir(dir) }
        func expect(_ path: String, _ kind: FormatError.Kind, _ text: String) {
            XCTAssertThrowsError(try SWZReader.read(path: path)) { e in
                guard let e = e as? FormatError else { return XCTFail("\(e)") }
                XCTAssertEqual(e.kind, kind, e.message)
                XCTAssertTrue(e.message.contains(path), e.message)
                XCTAssertTrue(e.message.contains(text), e.message)
            }
        }
        expect(dir + "/missing.swz", .missingName, "No such file")
        expect(dir, .badMagic, "is a directory")
        expect("/dev/zero", .badMagic, "is not a regular file (a device, pipe or socket), not a .swz model file")
        _ = FileManager.default.createFile(atPath: dir + "/empty.swz", contents: Data())
        expect(dir + "/empty.swz", .truncated, "empty")
        _ = FileManager.default.createFile(atPath: dir + "/text.swz", contents: Data("hello, world\n".utf8))
        expect(dir + "/text.swz", .badMagic, "not a .swz model file")
        var b = plain; b[plain.count - 1] ^= 0x55
        _ = FileManager.default.createFile(atPath: dir + "/text.swz", contents: Data(b))
        expect(dir + "/text.swz", .checksum, "tensor 'fcb'")
    }

    // MARK: Sweeps

    /// Flips bits in every byte of small valid files: decoding must throw a FormatError
    /// or return a graph that passes validation; it must never crash.
    func testBitFlipSweep() {
        var accepted = 0, rejected = 0
        for file in [plain, packed] {
            for i in 0..<file.count {
                for mask: UInt8 in [0x01, 0x80, 0xFF] {
                    var b = file; b[i] ^= mask
                    do {
                        let g = try SWZReader.decode(b)
                        XCTAssertNoThrow(try GraphValidator.validate(g))
                        accepted += 1
                    } catch is FormatError {
                        rejected += 1
                    } catch {
                        XCTFail("byte \(i) ^ \(mask): non-FormatError \(error)")
                    }
                }
            }
        }
        // Only padding bytes can flip unnoticed (everything else is under a CRC).
        XCTAssertGreaterThan(rejected, accepted)
    }

    /// Random multi-byte damage, including in re-CRC'd headers and tables.
    func testRandomDamageWithFixedCRCs() {
        var s: UInt64 = 0x1234_5678
        func next() -> Int { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return Int(s >> 1) }
        for round in 0..<3000 {
            var b = round % 2 == 0 ? plain : packed
            let tableStart = Int(get64(b, H.tableOffset)), tableEnd = tableStart + Int(get64(b, H.tableSize))
            for _ in 0..<(1 + next() % 4) {
                // Aim mostly at the header and table, where CRCs can be fixed up.
                let at = next() % 3 == 0 ? next() % b.count : (next() % 2 == 0 ? 8 + next() % 88 : tableStart + next() % (tableEnd - tableStart))
                b[at] = UInt8(truncatingIfNeeded: next())
            }
            if get64(b, H.tableOffset) == UInt64(tableStart), get64(b, H.tableSize) == UInt64(tableEnd - tableStart) { fixCRCs(&b) } else { fixHeaderCRC(&b) }
            do {
                let g = try SWZReader.decode(b)
                XCTAssertNoThrow(try GraphValidator.validate(g))
            } catch let e as FormatError {
                // Damaged names and strings are quoted printably, on one line.
                XCTAssertFalse(e.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F },
                               "round \(round): \(e.message)")
                XCTAssertLessThanOrEqual(e.message.count, FormatError.maxMessageLength + 3)
            } catch {
                XCTFail("round \(round): non-FormatError \(error)")
            }
        }
    }

    /// Control characters in a message become `\u{XX}`; a long one is cut (a corrupt property
    /// string was quoted whole, NUL bytes included).
    func testMessagesStayOnePrintableLine() {
        XCTAssertEqual(FormatError(.badString, "name 'a\u{0}b\nc\u{7F}' bad").message, "name 'a\\u{0}b\\u{A}c\\u{7F}' bad")
        let long = FormatError(.badString, "property '" + String(repeating: "x", count: 5000) + "'").message
        XCTAssertEqual(long.count, FormatError.maxMessageLength + 3)
        XCTAssertTrue(long.hasSuffix("x..."))
    }
}

final class ReaderOptionTests: XCTestCase {
    func testChecksumsCanBeSkippedButNothingElse() throws {
        var b = Fixture.file(compress: false)
        let e = entries(b)["b1"]!
        b[payload(b, e)] ^= 0x01  // still a finite float
        b[H.reserved] = 0         // header untouched otherwise
        var lax = SWZLimits(); lax.verifyChecksums = false
        XCTAssertThrowsError(try SWZReader.decode(b))
        XCTAssertNoThrow(try SWZReader.decode(b, limits: lax))
        put32(&b, payload(b, e), 0x7F80_0000)
        XCTAssertThrowsError(try SWZReader.decode(b, limits: lax)) { XCTAssertEqual(($0 as? FormatError)?.kind, .nonFinite) }
    }

    func testTighterLimits() {
        var l = SWZLimits(); l.maxTensorRawBytes = 100
        XCTAssertThrowsError(try SWZReader.decode(Fixture.file(), limits: l)) { e in
            XCTAssertEqual((e as? FormatError)?.kind, .limitExceeded)
            XCTAssertTrue((e as? FormatError)?.message.contains("tensor 'w1'") ?? false)
        }
    }
}
