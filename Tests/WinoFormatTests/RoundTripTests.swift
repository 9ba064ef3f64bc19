import XCTest
@testable import WinoFormat

final class RoundTripTests: XCTestCase {
    func testCompressedRoundTrip() throws {
        let g = Fixture.graph()
        XCTAssertEqual(try SWZReader.decode(try SWZWriter.encode(g, compress: true)), g)
    }

    func testUncompressedRoundTrip() throws {
        let g = Fixture.graph()
        let bytes = try SWZWriter.encode(g, compress: false)
        XCTAssertEqual(try SWZReader.decode(bytes), g)
        let info = try SWZReader.inspect(bytes)
        XCTAssertTrue(info.tensors.allSatisfy { !$0.compressed && $0.storedBytes == $0.rawBytes })
    }

    func testEncodingIsDeterministic() throws {
        XCTAssertEqual(try SWZWriter.encode(Fixture.graph()), try SWZWriter.encode(Fixture.graph()))
    }

    func testLayoutInfo() throws {
        let bytes = Fixture.file(compress: true)
        let info = try SWZReader.inspect(bytes)
        XCTAssertEqual(info.major, 1); XCTAssertEqual(info.minor, 1)
        XCTAssertEqual(info.fileSize, bytes.count)
        XCTAssertEqual(info.tensors.map(\.name), ["w1", "b1", "w2", "fc", "fcb"])
        let w2 = info.tensors[2]
        XCTAssertTrue(w2.isCSR); XCTAssertEqual(w2.winograd, .f2x2_3x3); XCTAssertEqual(w2.indexWidth, 2)
        XCTAssertEqual(info.tensors[3].nnz, 20)
        XCTAssertEqual(info.tensors[3].rawBytes, 4 * 11 + 2 * 20 + 4 * 20)
        for t in info.tensors { XCTAssertEqual(t.fileOffset % 64, 0, t.name) }
        XCTAssertEqual(Array(bytes[0..<8]), [0x89, 0x53, 0x57, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(bytes[8..<12]), [4, 3, 2, 1])
    }

    func testAllWinogradVariantsAndWideIndices() throws {
        var g = Fixture.graph()
        for v in WinogradVariant.allCases {
            let a = v.alpha
            var d = Fixture.values(a * a * 4 * 3, seed: UInt64(v.rawValue))
            for i in d.indices where i % 2 == 1 { d[i] = 0 }
            g.tensors.append(Tensor(name: "wino \(v)", shape: [a, a, 4, 3], winograd: v,
                                    data: .csr(CSRMatrix(dense: d, rows: a * a * 4, cols: 3))))
        }
        // 70000 columns: 32-bit column indices.
        var wide = [Float](repeating: 0, count: 2 * 70000)
        wide[5] = 1; wide[69_999] = 2; wide[70_000 + 65_537] = -3
        g.tensors.append(Tensor(name: "wide", shape: [2, 70000], data: .csr(CSRMatrix(dense: wide, rows: 2, cols: 70000))))
        // Exactly 65536 columns: still 16-bit.
        var edge = [Float](repeating: 0, count: 65536)
        edge[65535] = 7
        g.tensors.append(Tensor(name: "edge", shape: [1, 65536], data: .csr(CSRMatrix(dense: edge, rows: 1, cols: 65536))))
        // An empty CSR matrix and a rank-5 dense tensor.
        g.tensors.append(Tensor(name: "zeros", shape: [3, 5], data: .csr(CSRMatrix(dense: [Float](repeating: 0, count: 15), rows: 3, cols: 5))))
        g.tensors.append(Tensor(name: "r5", shape: [1, 2, 1, 2, 3], data: .dense(Fixture.values(12, seed: 9))))
        for compress in [false, true] {
            let bytes = try SWZWriter.encode(g, compress: compress)
            XCTAssertEqual(try SWZReader.decode(bytes), g)
            let info = try SWZReader.inspect(bytes)
            XCTAssertEqual(info.tensors.first { $0.name == "wide" }?.indexWidth, 4)
            XCTAssertEqual(info.tensors.first { $0.name == "edge" }?.indexWidth, 2)
        }
    }

    func testMetadataRoundTrip() throws {
        var g = Fixture.graph()
        g.metadata.channelOrder = .rgb
        g.metadata.pixelRange = 1
        g.metadata.mean = [0.485, 0.456, 0.406]
        g.metadata.scale = [1 / 0.229, 1 / 0.224, 1 / 0.225]
        g.metadata.resizeShorterSide = 0
        g.metadata.properties = ["a": "1", "z": String(repeating: "long ", count: 1000), "\u{1F600}": "emoji"]
        let back = try SWZReader.decode(try SWZWriter.encode(g))
        XCTAssertEqual(back.metadata, g.metadata)
        g.metadata.labels = []
        XCTAssertEqual(try SWZReader.decode(try SWZWriter.encode(g)), g)
    }

    func testGrayModelWithAddConcatAndAvgPool() throws {
        let meta = ModelMetadata(name: "gray", inputShape: [1, 4, 4], channelOrder: .gray)
        let nodes = [
            Node(name: "a", op: .relu, inputs: ["x"], output: "a"),
            Node(name: "b", op: .add, inputs: ["a", "x"], output: "b", attributes: ["relu": .int(1)]),
            Node(name: "c", op: .concat, inputs: ["a", "b"], output: "c"),
            Node(name: "d", op: .avgPool, inputs: ["c"], output: "d", attributes: ["global": .int(1), "count_include_pad": .int(0)]),
        ]
        let g = ModelGraph(metadata: meta, input: "x", output: "d", nodes: nodes, tensors: [])
        let bytes = try SWZWriter.encode(g)
        XCTAssertEqual(try SWZReader.decode(bytes), g)
        XCTAssertEqual(try SWZReader.inspect(bytes).tensors.count, 0)
    }

    /// No op accepts a string attribute yet, so this checks the graph section codec directly.
    func testAllAttributeTypesInGraphSection() throws {
        var g = Fixture.graph()
        g.nodes[0].attributes["s"] = .string("h\u{e9}llo")
        g.nodes[0].attributes["i"] = .int(Int64.min)
        g.nodes[0].attributes["l"] = .ints([Int64.max, -1, 0])
        g.nodes[0].attributes["f"] = .float(-0.0)
        g.nodes[0].attributes["e"] = .ints([])
        let raw = try SWZWriter.encodeGraph(g)
        var back = try raw.withUnsafeBytes { try Parser(file: $0, limits: SWZLimits()).parseGraph($0) }
        back.tensors = g.tensors
        XCTAssertEqual(back, g)
        // Through the whole reader, the graph validator then rejects the unknown attribute.
        assertRejects(unchecked(g), .unknownAttribute, mentions: ["conv1", "'e'"])
    }

    func testWriteAndReadFile() throws {
        let path = NSTemporaryDirectory() + "wino-roundtrip-\(getpid()).swz"
        defer { unlink(path) }
        try SWZWriter.write(Fixture.graph(), to: path)
        XCTAssertEqual(try SWZReader.read(path: path), Fixture.graph())
    }

    func testWriterValidatesFirst() {
        var g = Fixture.graph()
        g.nodes[1].inputs = ["nowhere"]
        XCTAssertThrowsError(try SWZWriter.encode(g)) { e in
            XCTAssertEqual((e as? FormatError)?.kind, .missingName)
        }
    }

    func testMinorVersionIsAccepted() throws {
        var b = Fixture.file()
        put16(&b, H.minor, 7)
        fixHeaderCRC(&b)
        XCTAssertEqual(try SWZReader.inspect(b).minor, 7)
    }
}

/// Regenerates the fuzzer's seed corpus: `WINO_FUZZ_CORPUS=Tests/Fuzz/corpus swift test --filter FuzzSeeds`.
final class FuzzSeeds: XCTestCase {
    func testWriteSeeds() throws {
        guard let dir = ProcessInfo.processInfo.environment["WINO_FUZZ_CORPUS"] else { return }
        let g = Fixture.graph()
        var small = g
        small.metadata.labels = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
        small.metadata.properties = ["k": "v"]
        let gray = ModelGraph(metadata: ModelMetadata(name: "g", inputShape: [1, 4, 4], channelOrder: .gray),
                              input: "x", output: "y", nodes: [
                                  Node(name: "a", op: .relu, inputs: ["x"], output: "a"),
                                  Node(name: "b", op: .add, inputs: ["a", "x"], output: "b"),
                                  Node(name: "y", op: .concat, inputs: ["a", "b"], output: "y"),
                              ], tensors: [])
        for (name, graph, compress) in [("tiny-plain", small, false), ("tiny-zlib", small, true), ("gray", gray, true)] {
            try SWZWriter.write(graph, to: "\(dir)/\(name).swz", compress: compress)
        }
    }
}
