// Test fixtures: a small valid model using every op family and tensor kind,
// and byte-patching helpers that locate header fields and tensor table entries
// independently of the reader (a second reading of Docs/FORMAT.md).
import XCTest
@testable import WinoFormat

enum Fixture {
    /// Deterministic pseudo-random floats in [-1, 1).
    static func values(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<n).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return Float(s % 2000) / 1000 - 1
        }
    }

    /// The FC weight: 10 x 36, row i has nonzeros at columns i and i + 1 (nnz 20).
    static let fcWeight: CSRMatrix = {
        var d = [Float](repeating: 0, count: 360)
        for i in 0..<10 { d[i * 36 + i] = Float(i + 1); d[i * 36 + i + 1] = -Float(i + 1) / 2 }
        return CSRMatrix(dense: d, rows: 10, cols: 36)
    }()

    /// input [3,8,8] -> conv 3x3 [4,6,6] -> relu -> LRN -> Winograd F(2x2,3x3) group 2, pad 1 [4,6,6]
    /// -> maxpool 2x2/2 [4,3,3] -> flatten [36] -> dropout -> fc (CSR) [10] -> softmax.
    static func graph() -> ModelGraph {
        var wino = Fixture.values(4 * 4 * 4 * 2, seed: 3)
        for i in wino.indices where i % 3 == 0 { wino[i] = 0 }
        let tensors = [
            Tensor(name: "w1", shape: [4, 3, 3, 3], data: .dense(values(108, seed: 1))),
            Tensor(name: "b1", shape: [4], data: .dense(values(4, seed: 2))),
            Tensor(name: "w2", shape: [4, 4, 4, 2], winograd: .f2x2_3x3,
                   data: .csr(CSRMatrix(dense: wino, rows: 64, cols: 2))),
            Tensor(name: "fc", shape: [10, 36], data: .csr(fcWeight)),
            Tensor(name: "fcb", shape: [10], data: .dense(values(10, seed: 5))),
        ]
        let nodes = [
            Node(name: "conv1", op: .conv, inputs: ["data"], output: "c1", weights: ["w1", "b1"],
                 attributes: ["strides": .ints([1, 1])]),
            Node(name: "relu1", op: .relu, inputs: ["c1"], output: "r1"),
            Node(name: "norm1", op: .lrn, inputs: ["r1"], output: "n1",
                 attributes: ["size": .int(3), "alpha": .float(1e-4), "beta": .float(0.75)]),
            Node(name: "wconv", op: .winogradConv, inputs: ["n1"], output: "c2", weights: ["w2"],
                 attributes: ["pads": .ints([1, 1, 1, 1]), "group": .int(2), "relu": .int(1)]),
            Node(name: "pool", op: .maxPool, inputs: ["c2"], output: "p",
                 attributes: ["kernel": .ints([2, 2]), "strides": .ints([2, 2])]),
            Node(name: "flat", op: .flatten, inputs: ["p"], output: "f"),
            Node(name: "drop", op: .dropout, inputs: ["f"], output: "d", attributes: ["ratio": .float(0.5)]),
            Node(name: "fc1", op: .fullyConnected, inputs: ["d"], output: "logits", weights: ["fc", "fcb"]),
            Node(name: "prob", op: .softmax, inputs: ["logits"], output: "prob"),
        ]
        let meta = ModelMetadata(name: "tiny", inputShape: [3, 8, 8], channelOrder: .bgr, pixelRange: 255,
                                 mean: [104, 117, 123], scale: [1, 0.5, 0.25], resizeShorterSide: 10,
                                 labels: (0..<10).map { "class \($0) \u{e9}" },
                                 properties: ["licence": "CC0", "description": "test model", "empty": ""])
        return ModelGraph(metadata: meta, input: "data", output: "prob", nodes: nodes, tensors: tensors)
    }

    static func file(compress: Bool = true) -> [UInt8] { try! SWZWriter.encode(graph(), compress: compress) }
}

// MARK: - Byte helpers

func get64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
func get32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
func put16(_ b: inout [UInt8], _ at: Int, _ v: UInt16) { b[at] = UInt8(v & 0xff); b[at + 1] = UInt8(v >> 8) }

/// Header field offsets (Docs/FORMAT.md section 3).
enum H {
    static let endian = 8, major = 12, minor = 14, flags = 16, tensorCount = 20, fileSize = 24
    static let graphOffset = 32, graphStored = 40, graphRaw = 48, tableOffset = 56, tableSize = 64
    static let dataOffset = 72, dataSize = 80, graphCRC = 88, tableCRC = 92, reserved = 96, headerCRC = 124
}

/// Where one tensor table entry's fields are, as absolute file offsets.
struct EntryLoc {
    var name: String, start: Int, rank: Int
    var nameLen: Int { start }
    var nameAt: Int { start + 1 }
    var dtype: Int { start + 1 + name.utf8.count }
    var rankAt: Int { dtype + 1 }
    var encoding: Int { dtype + 2 }
    var variant: Int { dtype + 3 }
    var width: Int { dtype + 4 }
    var compression: Int { dtype + 5 }
    var reserved: Int { dtype + 6 }
    var dims: Int { dtype + 8 }
    var nnz: Int { dims + 8 * rank }
    var offset: Int { nnz + 8 }
    var stored: Int { nnz + 16 }
    var raw: Int { nnz + 24 }
    var crc: Int { nnz + 32 }
}

/// The table entries of a well-formed file.
func entries(_ b: [UInt8]) -> [String: EntryLoc] {
    var p = Int(get64(b, H.tableOffset))
    var out = [String: EntryLoc]()
    for _ in 0..<Int(get32(b, H.tensorCount)) {
        let n = Int(b[p])
        let name = String(decoding: b[(p + 1)..<(p + 1 + n)], as: UTF8.self)
        let rank = Int(b[p + 1 + n + 1])
        let e = EntryLoc(name: name, start: p, rank: rank)
        out[name] = e
        p = e.crc + 4
    }
    return out
}

/// Absolute file offset of a tensor's payload.
func payload(_ b: [UInt8], _ e: EntryLoc) -> Int { Int(get64(b, H.dataOffset)) + Int(get64(b, e.offset)) }

/// Recomputes the table CRC and then the header CRC, so that a patch reaches the check under test.
func fixCRCs(_ b: inout [UInt8]) {
    let t = Int(get64(b, H.tableOffset)), n = Int(get64(b, H.tableSize))
    put32(&b, H.tableCRC, Zlib.crc32(Array(b[t..<(t + n)])))
    fixHeaderCRC(&b)
}

func fixHeaderCRC(_ b: inout [UInt8]) { put32(&b, H.headerCRC, Zlib.crc32(Array(b[0..<H.headerCRC]))) }

/// Recomputes an uncompressed tensor's payload CRC, then the table and header CRCs.
func fixPayloadCRC(_ b: inout [UInt8], _ e: EntryLoc) {
    let p = payload(b, e), n = Int(get64(b, e.stored))
    put32(&b, e.crc, Zlib.crc32(Array(b[p..<(p + n)])))
    fixCRCs(&b)
}

/// Asserts that decoding throws a FormatError of `kind` whose message contains every one of `mentions`.
func assertRejects(_ bytes: [UInt8], _ kind: FormatError.Kind, mentions: [String] = [],
                   file: StaticString = #filePath, line: UInt = #line) {
    do {
        let g = try SWZReader.decode(bytes)
        XCTFail("decoded a corrupt file into a graph with \(g.nodes.count) nodes", file: file, line: line)
    } catch let e as FormatError {
        XCTAssertEqual(e.kind, kind, "wrong kind for: \(e.message)", file: file, line: line)
        for m in mentions {
            XCTAssertTrue(e.message.contains(m), "message '\(e.message)' does not mention '\(m)'", file: file, line: line)
        }
    } catch {
        XCTFail("threw a non-FormatError \(error)", file: file, line: line)
    }
}

/// A file built from a graph that skips validation (to reach the reader's own validation).
func unchecked(_ g: ModelGraph, compress: Bool = true) -> [UInt8] { try! SWZWriter.encodeUnchecked(g, compress: compress) }

/// A file whose graph section is the raw bytes `transform` makes of the sample graph's.
func withGraphBytes(_ transform: (inout [UInt8]) -> Void) -> [UInt8] {
    let g = Fixture.graph()
    var raw = try! SWZWriter.encodeGraph(g)
    transform(&raw)
    return try! SWZWriter.assemble(graphRaw: raw, tensors: g.tensors, compress: true)
}

/// Index of the first occurrence of `pattern` in `b`.
func find(_ b: [UInt8], _ pattern: [UInt8]) -> Int? {
    guard b.count >= pattern.count else { return nil }
    return (0...(b.count - pattern.count)).first { Array(b[$0..<($0 + pattern.count)]) == pattern }
}

/// The bytes of a length-prefixed graph-section string.
func lpString(_ s: String) -> [UInt8] {
    let u = Array(s.utf8)
    return [UInt8(u.count), 0, 0, 0] + u
}
