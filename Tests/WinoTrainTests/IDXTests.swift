// The IDX reader: real files, and one test per kind of bad file.
import Foundation
import XCTest
@testable import WinoTrain

final class IDXTests: XCTestCase {
    let dir = NSTemporaryDirectory() + "wino-idx-\(getpid())"

    override func setUp() { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func idx(rank: Int, dims: [Int], data: [UInt8], type: UInt8 = 8) -> [UInt8] {
        var b: [UInt8] = [0, 0, type, UInt8(rank)]
        for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return b + data
    }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let p = dir + "/" + name
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }

    func assertError(_ body: @autoclosure () throws -> Any, contains: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            XCTAssertTrue("\(e)".contains(contains), "message '\(e)' lacks '\(contains)'", file: file, line: line)
        }
    }

    func testRoundTripPlainAndGzip() throws {
        let images = write("im", idx(rank: 3, dims: [2, 2, 3], data: Array(0..<12)))
        let labels = write("lb", idx(rank: 1, dims: [2], data: [3, 9]))
        let d = try IDX.load(images: images, labels: labels)
        XCTAssertEqual(d.count, 2); XCTAssertEqual(d.rows, 2); XCTAssertEqual(d.cols, 3)
        XCTAssertEqual(d.labels, [3, 9]); XCTAssertEqual(d.images, Array(0..<12))
        // gzip through the system tool
        let p = Process(); p.executableURL = URL(fileURLWithPath: "/bin/gzip"); p.arguments = ["-k", images]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(try IDX.load(images: images + ".gz", labels: labels).images, Array(0..<12))
    }

    func testBadFiles() throws {
        let labels = write("lb", idx(rank: 1, dims: [2], data: [1, 2]))
        assertError(try IDX.load(images: dir + "/missing", labels: labels), contains: "cannot read")
        assertError(try IDX.load(images: write("magic", [1, 2, 3, 4, 0, 0, 0, 0]), labels: labels), contains: "not an IDX file")
        assertError(try IDX.load(images: write("type", idx(rank: 3, dims: [2, 1, 1], data: [0, 0], type: 0x0d)), labels: labels), contains: "element type")
        assertError(try IDX.load(images: write("rank", idx(rank: 2, dims: [2, 1], data: [0, 0])), labels: labels), contains: "rank 2")
        assertError(try IDX.load(images: write("short", [0, 0, 8, 3, 0, 0]), labels: labels), contains: "truncated header")
        assertError(try IDX.load(images: write("trunc", idx(rank: 3, dims: [2, 2, 2], data: [1, 2, 3])), labels: labels), contains: "truncated")
        assertError(try IDX.load(images: write("trail", idx(rank: 3, dims: [1, 1, 1], data: [1, 2])), labels: labels), contains: "trailing")
        assertError(try IDX.load(images: write("huge", idx(rank: 3, dims: [60000, 30000, 30000], data: [])), labels: labels), contains: "more than")
        let im = write("ok", idx(rank: 3, dims: [3, 1, 1], data: [1, 2, 3]))
        assertError(try IDX.load(images: im, labels: labels), contains: "3 images but")
        let im2 = write("ok2", idx(rank: 3, dims: [2, 1, 1], data: [1, 2]))
        assertError(try IDX.load(images: im2, labels: write("lab", idx(rank: 1, dims: [2], data: [1, 10]))), contains: "label 10")
        assertError(try IDX.load(images: write("gz", [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]), labels: labels), contains: "gzip")
        assertError(try IDX.loadSplits(dir: dir + "/nowhere"), contains: "no train-images-idx3-ubyte")
        // Not regular files: named, nothing read (/dev/zero was read until memory ran out).
        assertError(try IDX.load(images: "/dev/zero", labels: labels), contains: "'/dev/zero' is not a regular file (a device, pipe or socket), not an IDX file")
        assertError(try IDX.load(images: dir, labels: labels), contains: "is a directory, not an IDX file")
        assertError(try IDX.load(images: dir + "/missing", labels: labels), contains: "No such file or directory")
    }
}
