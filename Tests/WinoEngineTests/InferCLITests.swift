// wino-infer as a user meets it: the README's run, the options, and every kind of
// bad input giving a one-line error and exit status 1.
import CLITestSupport
import Foundation
import XCTest

final class InferCLITests: XCTestCase {

    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try CLITool("wino-infer").run(args)
    }

    let model = "Models/fmnist/fmnist.swz"

    func testClassifiesShippedImage() throws {
        let r = try run(["Models/fmnist/samples/ankle-boot.pgm", model])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        XCTAssertTrue(lines[0].hasPrefix("1  Ankle boot"), r.out)
    }

    func testJSONTopAndTimingOptions() throws {
        let r = try run(["Models/fmnist/samples/trouser.pgm", model, "--json", "--top", "3", "--time", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.err)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let top = try XCTUnwrap(obj["top"] as? [[String: Any]])
        XCTAssertEqual(top.count, 3)
        XCTAssertEqual(top[0]["label"] as? String, "Trouser")
        XCTAssertEqual(top[0]["index"] as? Int, 1)
        XCTAssertNotNil(obj["timing"])
        XCTAssertEqual((obj["layers"] as? [Any])?.count, 9)   // conv1-3 and pool1-3, fc1 fc2 prob: ReLUs fused, flatten free
    }

    func testExplainNamesBackends() throws {
        let r = try run(["Models/fmnist/samples/bag.pgm", model, "--explain"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("Winograd F(2x2,3x3) conv") && r.out.contains("CSR 10.0% dense"), r.out)
        XCTAssertTrue(r.out.contains("direct conv 3x3") && r.out.contains("planner: 1 in / 32 out channels"), r.out)
    }

    func assertFails(_ args: [String], mentions needle: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertEqual(r.status, 1, "exit status for \(args): \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.hasPrefix("Error: "), r.err, file: file, line: line)
        XCTAssertTrue(r.err.contains(needle), "\(r.err) should mention \(needle)", file: file, line: line)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one-line error: \(r.err)", file: file, line: line)
        XCTAssertEqual(r.out, "", file: file, line: line)
    }

    func tempFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wino-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func testMissingModel() throws {
        try assertFails(["Models/fmnist/samples/bag.pgm", "no/such/model.swz"], mentions: "no/such/model.swz")
    }

    func testModelIsADirectory() throws {
        try assertFails(["Models/fmnist/samples/bag.pgm", "Models"], mentions: "directory")
    }

    func testEmptyModelFile() throws {
        try assertFails(["Models/fmnist/samples/bag.pgm", try tempFile("empty.swz", [])], mentions: "empty.swz")
    }

    func testModelThatIsNotSWZ() throws {
        try assertFails(["Models/fmnist/samples/bag.pgm", "Models/README.md"], mentions: "not a .swz")
    }

    func testMissingImage() throws {
        try assertFails(["nope.pgm", model], mentions: "nope.pgm")
    }

    func testMalformedImages() throws {
        try assertFails([try tempFile("magic.pgm", Array("P9\n2 2\n255\n".utf8)), model], mentions: "magic.pgm")
        try assertFails([try tempFile("trunc.pgm", Array("P5\n28 28\n255\n".utf8) + [1, 2, 3]), model], mentions: "truncated")
        try assertFails([try tempFile("maxval.pgm", Array("P5\n2 2\n0\n".utf8) + [0, 0, 0, 0]), model], mentions: "maxval")
        try assertFails([try tempFile("huge.pgm", Array("P5\n60000 60000\n255\n".utf8)), model], mentions: "huge.pgm")
        try assertFails([try tempFile("colour.ppm", Array("P6\n2 2\n255\n".utf8) + [UInt8](repeating: 9, count: 12)), model],
                        mentions: "channels")
    }

    func testSwappedArgumentsGetAHint() throws {
        try assertFails([model, "Models/fmnist/samples/bag.pgm"], mentions: "swap")
    }
}
