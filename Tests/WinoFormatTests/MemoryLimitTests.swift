// Files that declare more than the process can allocate: an error before inflating, never an
// aborting allocation (a 4.5 MB file of zlib-compressed zeros can declare 4 GiB of tensors).
import CLITestSupport
import XCTest
@testable import WinoFormat
#if canImport(Glibc)
import Glibc
#endif

final class MemoryLimitTests: XCTestCase {
    func testAvailableMemoryIsKnownAndFollowsTheAddressSpaceLimit() throws {
        let free = try XCTUnwrap(SystemMemory.availableBytes())
        XCTAssertGreaterThan(free, 0)
        let ran = try withAddressSpaceHeadroom(64 << 20) {
            let limited = try XCTUnwrap(SystemMemory.availableBytes())
            XCTAssertLessThanOrEqual(limited, 64 << 20)
            XCTAssertGreaterThan(limited, 32 << 20)
            XCTAssertThrowsError(try SystemMemory.require(128 << 20, for: "a test")) { error in
                XCTAssertTrue("\(error)".hasPrefix("not enough memory for a test: 128 MiB needed, "), "\(error)")
            }
            XCTAssertNoThrow(try SystemMemory.require(1 << 20, for: "a test"))
        }
        if !ran { throw XCTSkip("the address-space limit cannot be set here") }
    }

    /// A 32 MiB tensor of zeros compresses to a few KB; with 8 MiB left to allocate, reading
    /// the file throws limitExceeded naming the need, before any tensor is inflated. With the
    /// memory there, the same bytes decode.
    func testTensorsBeyondAvailableMemoryAreAnError() throws {
        let n = 8 << 20
        let g = ModelGraph(metadata: ModelMetadata(name: "zeros", inputShape: [1024, 1, 1], channelOrder: .tensor),
                           input: "x", output: "p",
                           nodes: [Node(name: "flat", op: .flatten, inputs: ["x"], output: "v"),
                                   Node(name: "fc", op: .fullyConnected, inputs: ["v"], output: "f", weights: ["w", "b"]),
                                   Node(name: "prob", op: .softmax, inputs: ["f"], output: "p")],
                           tensors: [Tensor(name: "w", shape: [n / 1024, 1024], data: .dense([Float](repeating: 0, count: n))),
                                     Tensor(name: "b", shape: [n / 1024], data: .dense([Float](repeating: 0, count: n / 1024)))])
        let bytes = try SWZWriter.encode(g)
        XCTAssertLessThan(bytes.count, 1 << 20)
        let ran = try withAddressSpaceHeadroom(8 << 20) {
            XCTAssertThrowsError(try SWZReader.decode(bytes)) { error in
                guard let e = error as? FormatError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.kind, .limitExceeded)
                XCTAssertTrue(e.message.hasPrefix("not enough memory for the model's 2 tensors: 65 MiB needed"), e.message)
            }
        }
        if !ran { throw XCTSkip("the address-space limit cannot be set here") }
        XCTAssertEqual(try SWZReader.decode(bytes).tensors.count, 2)
    }
}
