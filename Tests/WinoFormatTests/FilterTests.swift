// Compression code 2 (format 1.1): the byte filter round-trips, pays off on sparse
// weights, and hostile filtered payloads are rejected, never trapped on.
import XCTest
@testable import WinoFormat

final class FilterTests: XCTestCase {
    /// A pruned FC-like weight: ~10% of a 200 x 3000 matrix, values of one magnitude scale.
    func prunedTensor(cols: Int = 3000) -> Tensor {
        var state: UInt64 = 99
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 11 }
        let rows = 200
        var dense = [Float](repeating: 0, count: rows * cols)
        for i in dense.indices where next() % 10 == 0 { dense[i] = Float(Int(next() % 20001) - 10000) / 1e6 }
        return Tensor(name: "fc.w", shape: [rows, cols], data: .csr(CSRMatrix(dense: dense, rows: rows, cols: cols)))
    }

    func graph(with t: Tensor) -> ModelGraph {
        let cols = t.shape[1]
        return ModelGraph(
            metadata: ModelMetadata(name: "f", inputShape: [cols, 1, 1], channelOrder: .tensor),
            input: "x", output: "y",
            nodes: [Node(name: "fc", op: .fullyConnected, inputs: ["x"], output: "y", weights: [t.name])],
            tensors: [t])
    }

    func testPayloadFilterInvertsExactly() {
        for cols in [3000, 70000] {   // 16- and 32-bit indices
            let t = prunedTensor(cols: cols)
            let raw = SWZWriter.rawPayload(t)
            var f = PayloadFilter.apply(raw, SWZWriter.layout(t))
            XCTAssertNotEqual(f, raw)
            PayloadFilter.undo(&f, SWZWriter.layout(t))
            XCTAssertEqual(f, raw, "cols \(cols)")
        }
        let dense = Tensor(name: "d", shape: [3, 5], data: .dense((0..<15).map { Float($0) * 0.25 }))
        var f = PayloadFilter.apply(SWZWriter.rawPayload(dense), SWZWriter.layout(dense))
        PayloadFilter.undo(&f, SWZWriter.layout(dense))
        XCTAssertEqual(f, SWZWriter.rawPayload(dense))
    }

    func testWriterPicksFilteredZlibAndItRoundTrips() throws {
        let g = graph(with: prunedTensor())
        let bytes = try SWZWriter.encode(g)
        let info = try SWZReader.inspect(bytes)
        XCTAssertTrue(info.tensors[0].filtered, "code 2 should win on pruned weights")
        XCTAssertEqual(try SWZReader.decode(bytes), g)
        // It measurably helps: smaller than plain zlib of the same payload.
        let plain = try Zlib.deflate(SWZWriter.rawPayload(g.tensors[0]))
        XCTAssertLessThan(Double(info.tensors[0].storedBytes), 0.9 * Double(plain.count))
    }

    func testUndoingTheFilterOnHostileBytesNeverTraps() {
        // Garbage row pointers and random bytes: undo must stay in bounds and not trap;
        // the CRC and CSR checks that follow in the reader reject the result.
        let t = prunedTensor()
        let layout = SWZWriter.layout(t)
        var raw = SWZWriter.rawPayload(t)
        for i in 0..<40 { raw[i] = 0xFF }                       // row pointers 0..9 = 0xFFFFFFFF
        raw[44] = 0x80; raw[47] = 0x7F                           // one huge positive row pointer
        var filtered = PayloadFilter.apply(raw, layout)
        PayloadFilter.undo(&filtered, layout)
        XCTAssertEqual(filtered.count, raw.count)
        var state: UInt64 = 5
        for _ in 0..<20 {
            var junk = (0..<raw.count).map { _ -> UInt8 in
                state = state &* 6364136223846793005 &+ 1; return UInt8(truncatingIfNeeded: state >> 33)
            }
            PayloadFilter.undo(&junk, layout)
            XCTAssertEqual(junk.count, raw.count)
        }
    }

    func testCorruptFilteredPayloadIsRejected() throws {
        // Flip bytes inside a code-2 payload (CRCs of header and table fixed): a FormatError, never a trap.
        let g = graph(with: prunedTensor())
        let good = try SWZWriter.encode(g)
        let e = try XCTUnwrap(entries(good)["fc.w"])
        XCTAssertEqual(good[e.compression], 2)
        let start = payload(good, e), stored = Int(get64(good, e.stored))
        for k in stride(from: 7, to: stored, by: max(1, stored / 40)) {
            var b = good
            b[start + k] ^= 0x5A
            XCTAssertThrowsError(try SWZReader.decode(b), "flip at \(k)") { XCTAssertTrue($0 is FormatError, "\($0)") }
        }
    }
}
