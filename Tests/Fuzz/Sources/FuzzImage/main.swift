// libFuzzer entry point for the Netpbm decoder and the image preprocessing. Every input must
// be rejected with an ImageError or decode to an image whose samples lie in [0, 1]; a decoded
// image is then preprocessed for a grayscale 28x28 input and an RGB 224x224 input resized to
// a shorter side of 256 (only the cropped window is ever computed). Any trap, sanitizer
// report, oversized allocation or timeout is a bug in WinoEngine's image code.
import WinoEngine
import WinoFormat

private let targets = [
    ModelMetadata(name: "gray", inputShape: [1, 28, 28], channelOrder: .gray),
    ModelMetadata(name: "rgb", inputShape: [3, 224, 224], channelOrder: .rgb, pixelRange: 255,
                  mean: [123.7, 116.3, 103.5], scale: [0.017, 0.018, 0.017], resizeShorterSide: 256),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let image: Image
    do {
        image = try PPMDecoder.decode(bytes, source: "fuzz")
    } catch is ImageError {
        return 0
    } catch {
        fatalError("non-ImageError thrown: \(error)")
    }
    precondition(image.pixels.count == image.width * image.height * image.channels, "sample count")
    precondition(image.pixels.allSatisfy { $0 >= 0 && $0 <= 1 }, "sample outside [0, 1]")
    for meta in targets where meta.inputShape[0] == image.channels {
        do {
            let t = try Preprocess.tensor(from: image, metadata: meta)
            precondition(t.count == meta.inputShape.reduce(1, *) && t.allSatisfy(\.isFinite), "preprocessed tensor")
        } catch is ImageError {
        } catch {
            fatalError("non-ImageError thrown by Preprocess: \(error)")
        }
    }
    return 0
}
