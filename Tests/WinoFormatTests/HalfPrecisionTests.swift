// dtype 1 (f16, format 1.2): round trips, the version written, and every way an f16 tensor can be wrong.
@testable import WinoFormat
import XCTest

final class HalfPrecisionTests: XCTestCase {
    /// The fixture with its conv and FC weights stored as f16.
    func halfGraph() -> ModelGraph {
        var g = Fixture.graph()
        for i in g.tensors.indices where ["w1", "w2", "fc"].contains(g.tensors[i].name) { g.tensors[i] = g.tensors[i].roundedToHalf() }
        return g
    }

    func testRoundTripDenseAndCSRWithEveryCompression() throws {
        let g = halfGraph()
        for compress in [false, true] {
            let bytes = try SWZWriter.encode(g, compress: compress)
            XCTAssertEqual(get16(bytes, H.minor), 2, "files with f16 tensors are version 1.2")
            let back = try SWZReader.decode(bytes)
            XCTAssertEqual(back, g)
            XCTAssertEqual(back.tensors.map(\.storage), [.f16, .f32, .f16, .f16, .f32])
            // f16 payloads hold 2 bytes per value
            let e = entries(bytes)
            XCTAssertEqual(Int(get64(bytes, e["w1"]!.raw)), 2 * 108)
            XCTAssertEqual(Int(get64(bytes, e["fc"]!.raw)), 4 * 11 + 40 + 2 * 20)
        }
        // Without f16 tensors the file stays 1.1, readable by 1.1 readers.
        XCTAssertEqual(get16(try SWZWriter.encode(Fixture.graph()), H.minor), 1)
    }

    func testRoundingIsToNearestHalfAndSmall() {
        let t = Tensor(name: "t", shape: [4], data: .dense([0.1, -3.14159, 1e-8, 65504])).roundedToHalf()
        XCTAssertEqual(t.denseValues(), [Float(Float16(0.1)), Float(Float16(-3.14159)), 0, 65504])
        XCTAssertLessThan(abs(t.denseValues()[1] + 3.14159), 2e-3)
    }

    func testWriterRefusesValuesThatAreNotHalves() {
        var g = halfGraph()
        g.tensors[0].data = .dense(Fixture.values(108, seed: 1))  // f32 values, storage still f16
        XCTAssertThrowsError(try SWZWriter.encode(g)) { XCTAssertTrue("\($0)".contains("not an f16 value"), "\($0)") }
        g = halfGraph()
        var v = g.tensors[0].denseValues(); v[5] = 70000
        g.tensors[0].data = .dense(v)
        XCTAssertThrowsError(try SWZWriter.encode(g)) { XCTAssertTrue("\($0)".contains("exceeds the f16 range"), "\($0)") }
    }

    func testReaderRejectsNonFiniteHalfAndWrongSizes() throws {
        let plain = try SWZWriter.encode(halfGraph(), compress: false)
        let e = entries(plain)["w1"]!
        // an f16 NaN (0x7E00) and infinity (0x7C00) in the dense payload
        for bits: UInt16 in [0x7E00, 0x7C00, 0xFC00] {
            var b = plain
            put16(&b, payload(b, e) + 6, bits); fixPayloadCRC(&b, e)
            assertRejects(b, .nonFinite, mentions: ["w1"])
        }
        // dtype 0 on an f16-sized payload: the raw size no longer matches the shape
        var b = plain
        b[e.dtype] = 0; fixCRCs(&b)
        assertRejects(b, .shapeMismatch, mentions: ["tensor 'w1'", "raw size 216", "expected 432"])
        // an unknown dtype
        b = plain
        b[e.dtype] = 9; fixCRCs(&b)
        assertRejects(b, .unknownCode, mentions: ["dtype code 9"])
    }

    func testFilterRoundTripsHalfPayloads() {
        for t in halfGraph().tensors where t.storage == .f16 {
            let raw = SWZWriter.rawPayload(t)
            var f = PayloadFilter.apply(raw, SWZWriter.layout(t))
            XCTAssertNotEqual(f, raw)
            PayloadFilter.undo(&f, SWZWriter.layout(t))
            XCTAssertEqual(f, raw, t.name)
        }
    }
}

func get16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
