// Image -> model input: channel check, bilinear resize, centre crop, normalisation.
//
// Legend: the image is h x w with C_img channels (HWC, samples p in [0, 1]); the model input is
// C x H x W (metadata.inputShape, CHW). S = metadata.resizeShorterSide.
// 1. Resize (aspect ratio kept, the longer side rounded to nearest) so that the shorter side is S,
//    or, when S is 0 or that would not cover H x W, to the smallest size covering H x W
//    (scale = max(H / h, W / w)). Bilinear with half-pixel centres:
//    src = (dst + 0.5) * in / out - 0.5, clamped to [0, in - 1].
// 2. Centre-crop H x W at offset ((h' - H) / 2, (w' - W) / 2), rounded down.
// Only the cropped window is ever computed, so the resized image is never materialised.
// 3. out[c, y, x] = (p * pixelRange - mean[c]) * scale[c], where model channel c reads image
//    channel c for .rgb, 2 - c for .bgr and 0 for .gray.

import WinoFormat

/// Turns a decoded `Image` into a model's input tensor as its `ModelMetadata` describes.
public enum Preprocess {
    /// The model input for `image`: `metadata.inputShape` (C, H, W) floats in CHW order.
    ///
    /// The image is resized with bilinear interpolation (half-pixel centres, borders clamped) so that
    /// its shorter side is `metadata.resizeShorterSide` (or, when that is 0, so that it just covers
    /// the input), keeping its aspect ratio; then centre-cropped to H x W; then each model channel `c`
    /// becomes `(p * pixelRange - mean[c]) * scale[c]`, taking the blue channel first for `.bgr`.
    /// When the requested shorter side would leave the image smaller than the input, the image is
    /// instead scaled just enough to cover it.
    ///
    /// - Throws: `ImageError` when the image's channel count does not match the model
    ///   (1 for `.gray`, 3 for `.rgb` / `.bgr`) or the metadata cannot describe an image input.
    public static func tensor(from image: Image, metadata: ModelMetadata) throws -> [Float] {
        let shape = metadata.inputShape
        guard shape.count == 3 else {
            throw ImageError("model input shape \(shape) is not [channels, height, width]")
        }
        let (C, H, W) = (shape[0], shape[1], shape[2])
        let maxDim = PPMDecoder.maxDimension
        guard (1...maxDim).contains(H), (1...maxDim).contains(W), H * W <= PPMDecoder.maxPixels else {
            throw ImageError("model input size \(H)x\(W) is not a supported image size")
        }
        guard metadata.channelOrder != .tensor else {
            throw ImageError("the model's input is a \(C)-channel tensor, not an image: feed it with Model.predict")
        }
        let expected = metadata.channelOrder == .gray ? 1 : 3
        guard C == expected else {
            throw ImageError("model input has \(C) channels but its channel order "
                             + "\(metadata.channelOrder) needs \(expected)")
        }
        guard metadata.mean.count == C, metadata.scale.count == C else {
            throw ImageError("model metadata has \(metadata.mean.count) mean and \(metadata.scale.count) "
                             + "scale values for \(C) channels")
        }
        guard image.channels == C else {
            throw ImageError(C == 1
                ? "image has 3 channels (PPM colour) but the model expects 1 (grayscale PGM)"
                : "image has 1 channel (grayscale PGM) but the model expects 3 (PPM colour)")
        }
        let S = metadata.resizeShorterSide
        guard (0...(1 << 20)).contains(S) else {
            throw ImageError("model resizeShorterSide \(S) is out of range 0...\(1 << 20)")
        }
        let (h, w) = (image.height, image.width)
        guard h >= 1, w >= 1, image.pixels.count == h * w * image.channels else {
            throw ImageError("image is \(w)x\(h) with \(image.channels) channels but holds "
                             + "\(image.pixels.count) samples")
        }

        // Resized size (rh, rw); all products stay below 2^37.
        var (rh, rw) = S > 0 ? shorterSide(S, h: h, w: w) : (0, 0)
        if rh < H || rw < W {
            if H * w >= W * h {  // H / h >= W / w: the height decides
                (rh, rw) = (H, roundedRatio(w * H, h))
            } else {
                (rh, rw) = (roundedRatio(h * W, w), W)
            }
        }
        let (top, left) = ((rh - H) / 2, (rw - W) / 2)

        // Per-axis bilinear taps for the cropped window.
        let rows = taps(count: H, offset: top, input: h, output: rh)
        let cols = taps(count: W, offset: left, input: w, output: rw)

        let ci = image.channels
        var out = [Float](repeating: 0, count: C * H * W)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<C {
                    let from = metadata.channelOrder == .bgr ? 2 - c : c
                    let range = metadata.pixelRange, mean = metadata.mean[c], scale = metadata.scale[c]
                    for y in 0..<H {
                        let r = rows[y]
                        let row0 = r.lo * w, row1 = r.hi * w
                        for x in 0..<W {
                            let k = cols[x]
                            let p00 = src[(row0 + k.lo) * ci + from], p01 = src[(row0 + k.hi) * ci + from]
                            let p10 = src[(row1 + k.lo) * ci + from], p11 = src[(row1 + k.hi) * ci + from]
                            let upper = p00 + k.t * (p01 - p00)
                            let lower = p10 + k.t * (p11 - p10)
                            let p = upper + r.t * (lower - upper)
                            dst[(c * H + y) * W + x] = (p * range - mean) * scale
                        }
                    }
                }
            }
        }
        return out
    }

    /// One output coordinate's source taps: indices `lo`, `hi` and the weight `t` of `hi`.
    struct Tap {
        var lo: Int
        var hi: Int
        var t: Float
    }

    /// Taps for output coordinates offset..<offset+count of a resize from `input` to `output`.
    static func taps(count: Int, offset: Int, input: Int, output: Int) -> [Tap] {
        if input == output {  // no resize: exact copy
            return (0..<count).map { Tap(lo: offset + $0, hi: offset + $0, t: 0) }
        }
        let ratio = Double(input) / Double(output)
        return (0..<count).map { i in
            let s = min(max((Double(offset + i) + 0.5) * ratio - 0.5, 0), Double(input - 1))
            let lo = Int(s)  // s >= 0, so truncation is floor
            return Tap(lo: lo, hi: min(lo + 1, input - 1), t: Float(s - Double(lo)))
        }
    }

    /// The size with shorter side `S` and the aspect ratio of h x w (longer side rounded).
    static func shorterSide(_ S: Int, h: Int, w: Int) -> (Int, Int) {
        h <= w ? (S, roundedRatio(w * S, h)) : (roundedRatio(h * S, w), S)
    }

    /// a / b rounded to nearest (halves up) for a >= 0, b > 0.
    static func roundedRatio(_ a: Int, _ b: Int) -> Int {
        (2 * a + b) / (2 * b)
    }
}
