// wino-convert as a user meets it: onnx -> inspect -> verify on the MNIST fixture,
// a pruned model failing verification, and bad input giving `Error: ...` and status 1.
import CLITestSupport
import Foundation
import XCTest

final class ConvertCLITests: XCTestCase {
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try CLITool("wino-convert").run(args)
    }

    func testConvertInspectVerify() throws {
        let onnx = try fixture("mnist/mnist.onnx", script: "mnist.py")
        let image = try fixture("mnist/digit0.pgm", script: "mnist.py")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wc-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let labels = dir.appendingPathComponent("labels.txt").path, swz = dir.appendingPathComponent("m.swz").path
        try (0...9).map(String.init).joined(separator: "\n").write(toFile: labels, atomically: true, encoding: .utf8)

        var r = try run(["onnx", onnx, "-o", swz, "--labels", labels, "--mean", "0.1307", "--scale", "3.2457", "--tile", "F2"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("WinogradConv F(2x2,3x3)"), r.out)

        r = try run(["inspect", swz, "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        let layers = json["layers"] as! [[String: Any]]
        XCTAssertEqual(layers.filter { $0["op"] as? String == "WinogradConv" }.count, 3)
        XCTAssertEqual((json["metadata"] as! [String: Any])["labels"] as? Int, 10)
        r = try run(["inspect", swz])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("F(2x2,3x3)") && r.out.contains("gray"), r.out)

        r = try run(["verify", swz, "--onnx", onnx, "--image", image])
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.contains("top-1 agreement: 1/1"), r.out)
        r = try run(["verify", swz, "--onnx", onnx, "--batch", "4", "--reference"])
        XCTAssertEqual(r.status, 0, r.out + r.err)

        // Heavily pruned: beyond the tolerance, so status 1.
        r = try run(["onnx", onnx, "-o", swz, "--sparsity", "0.9", "--fc-sparsity", "0.9", "--quiet"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "")
        r = try run(["verify", swz, "--onnx", onnx])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("Error: relative error"), r.err)
    }

    func testBadInputIsAnErrorWithStatusOne() throws {
        let onnx = try fixture("mnist/mnist.onnx", script: "mnist.py")
        let missing = try run(["onnx", "/nonexistent.onnx", "-o", "/tmp/x.swz"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("Error: cannot read '/nonexistent.onnx'"), missing.err)
        let notONNX = try run(["onnx", "\(packageRoot)/Package.swift", "-o", "/tmp/x.swz"])
        XCTAssertEqual(notONNX.status, 1)
        XCTAssertTrue(notONNX.err.contains("not a valid ONNX model"), notONNX.err)
        let badLayer = try run(["onnx", onnx, "-o", "/tmp/x.swz", "--layer-sparsity", "conv9=0.5"])
        XCTAssertEqual(badLayer.status, 1)
        XCTAssertTrue(badLayer.err.contains("'conv9'"), badLayer.err)
        let badTile = try run(["onnx", onnx, "-o", "/tmp/x.swz", "--tile", "F6"])
        XCTAssertNotEqual(badTile.status, 0)
        XCTAssertTrue(badTile.err.contains("--tile"), badTile.err)
        let badSwz = try run(["inspect", onnx])
        XCTAssertEqual(badSwz.status, 1)
        XCTAssertTrue(badSwz.err.hasPrefix("Error:"), badSwz.err)
        for (flag, value, fragment) in [("--threshold", "nan", "--threshold must be a finite number >= 0"),
                                        ("--threshold", "-1", "--threshold must be a finite number >= 0"),
                                        ("--scale", "0", "--scale values must be nonzero")] {
            let r = try run(["onnx", onnx, "-o", "/tmp/x.swz", "\(flag)=\(value)"])
            XCTAssertNotEqual(r.status, 0, "\(flag) \(value)")
            XCTAssertTrue(r.err.contains(fragment), r.err)
        }
        let toDirectory = try run(["onnx", onnx, "-o", NSTemporaryDirectory()])
        XCTAssertEqual(toDirectory.status, 1)
        XCTAssertTrue(toDirectory.err.contains("cannot rename") && toDirectory.err.contains("[ioFailed]"), toDirectory.err)
    }

    /// Labels files: CRLF line ends read like LF ones (they gave one label holding all ten);
    /// an empty line before a label, a control character, a directory or non-UTF-8 bytes are
    /// errors naming the file and line.
    func testLabelsFiles() throws {
        let onnx = try fixture("mnist/mnist.onnx", script: "mnist.py")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wl-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let labels = dir.appendingPathComponent("labels.txt").path, swz = dir.appendingPathComponent("m.swz").path
        try Data((0...9).map { "c\($0)\r\n" }.joined().utf8).write(to: URL(fileURLWithPath: labels))
        var r = try run(["onnx", onnx, "-o", swz, "--labels", labels, "--quiet"])
        XCTAssertEqual(r.status, 0, r.err)
        r = try run(["inspect", swz, "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual((json["metadata"] as! [String: Any])["labels"] as? Int, 10)

        let cases: [([UInt8], String)] = [
            (Array("a\n\nb\n".utf8), "line 2 is empty"),
            (Array("a\u{1}b\n".utf8), "line 1 holds a control character"),
            ([0x61, 0xFF, 0x0A], "is not UTF-8 text"),
        ]
        for (bytes, fragment) in cases {
            try Data(bytes).write(to: URL(fileURLWithPath: labels))
            r = try run(["onnx", onnx, "-o", swz, "--labels", labels])
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.err.contains("labels file '\(labels)'") && r.err.contains(fragment), r.err)
        }
        r = try run(["onnx", onnx, "-o", swz, "--labels", dir.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("is a directory, not a labels file"), r.err)
        r = try run(["onnx", onnx, "-o", swz, "--labels", "/dev/zero"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("is not a regular file (a device, pipe or socket), not a labels file"), r.err)
    }
}
