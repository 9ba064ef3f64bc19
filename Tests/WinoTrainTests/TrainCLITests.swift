// wino-train as a user meets it: eval prints accuracy and a confusion matrix; bad data files and
// models that cannot be trained give a one-line error and exit status 1.
import CLITestSupport
import Foundation
import XCTest

final class TrainCLITests: XCTestCase {
    let tmp = NSTemporaryDirectory() + "wino-train-cli-\(getpid())"

    override func setUp() { try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true) }
    override func tearDown() { try? FileManager.default.removeItem(atPath: tmp) }

    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try CLITool("wino-train").run(args)
    }

    func assertFails(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertEqual(r.status, 1, r.err, file: file, line: line)
        XCTAssertTrue(r.err.hasPrefix("Error: ") && r.err.contains(mentions), "stderr: \(r.err)", file: file, line: line)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one line: \(r.err)", file: file, line: line)
    }

    func write(_ name: String, _ bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: tmp + "/" + name, contents: Data(bytes))
    }

    func testEvalPrintsAccuracyAndConfusionMatrix() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else { throw XCTSkip("no Fashion-MNIST") }
        let r = try run(["eval", "Models/fmnist/fmnist.swz", "--limit", "200"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("accuracy") && r.out.contains("(200 images)"), r.out)
        XCTAssertTrue(r.out.contains("Ankle boot") && r.out.contains("confusion matrix"), r.out)
    }

    func testBadDataFiles() throws {
        try assertFails(["eval", "Models/fmnist/fmnist.swz", "--data", tmp + "/none"], mentions: "t10k-images-idx3-ubyte")
        write("t10k-images-idx3-ubyte", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3])
        write("t10k-labels-idx1-ubyte", [0, 0, 8, 1, 0, 0, 0, 2, 1, 2])
        try assertFails(["eval", "Models/fmnist/fmnist.swz", "--data", tmp], mentions: "truncated")
        write("t10k-images-idx3-ubyte", [0x50, 0x4b, 3, 4, 0, 0, 0, 0])
        try assertFails(["eval", "Models/fmnist/fmnist.swz", "--data", tmp], mentions: "not an IDX file")
        write("t10k-images-idx3-ubyte", [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28] + [UInt8](repeating: 0, count: 3 * 784))
        try assertFails(["eval", "Models/fmnist/fmnist.swz", "--data", tmp], mentions: "3 images but")
        try assertFails(["fit", "--data", tmp, "--arch", "conv4,fc10", "-o", tmp + "/m.swz"], mentions: "train-images-idx3-ubyte")
    }

    /// Values no training can use are refused before any work (each ran before, or trapped:
    /// --threads 1000 stopped in pthread_create under a memory limit).
    func testBadArgumentsAreRefused() throws {
        let fit = ["fit", "--arch", "conv4,pool,fc10", "-o", tmp + "/m.swz"]
        let cases: [([String], String)] = [
            (fit + ["--threads", "1000"], "--threads must be in 1...256"),
            (fit + ["--lr=-1"], "--lr must be a finite number > 0"),
            (fit + ["--lr", "nan"], "--lr must be a finite number > 0"),
            (fit + ["--momentum", "5"], "--momentum must be in [0, 1)"),
            (fit + ["--l1=-1"], "--l1 must be a finite number >= 0"),
            (fit + ["--weight-decay", "inf"], "--weight-decay must be a finite number >= 0"),
            (fit + ["--epochs", "1000000000000"], "--epochs must be at most 1000000"),
            (fit + ["--property", "=v"], "is not KEY=VALUE with a non-empty KEY"),
            (fit + ["--tile", "f9"], "--tile must be f2 or f4"),
            (["eval", "Models/fmnist/fmnist.swz", "--threads", "100000"], "--threads must be in 1...256"),
            (["prune", "--init", "Models/fmnist/fmnist.swz", "--density", "0.1", "--method", "foo", "-o", tmp + "/p.swz"],
             "--method must be winograd or spatial"),
        ]
        for (args, fragment) in cases {
            let r = try run(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.err.contains(fragment), "\(args): \(r.err)")
        }
        try assertFails(["prune", "--init", "Models/fmnist/fmnist.swz", "--winograd", ",", "--density", "0.1", "-o", tmp + "/p.swz"],
                        mentions: "names no convolution")
    }

    func testBadModelsAndArchitectures() throws {
        try assertFails(["eval", "Models/fmnist/samples/bag.pgm"], mentions: "bag.pgm")
        try assertFails(["fit", "--arch", "conv4,zz,fc10", "-o", tmp + "/m.swz"], mentions: "'zz' is not known")
        try assertFails(["fit", "--init", "Models/fmnist/fmnist.swz", "--winograd", "nosuch", "-o", tmp + "/m.swz"], mentions: "nosuch")
    }
}
