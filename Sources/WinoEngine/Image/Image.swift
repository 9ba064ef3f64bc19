// A decoded raster image and the error type of image decoding and preprocessing.
//
// Layout: `pixels` is interleaved HWC, row-major from the top-left corner:
// the sample of channel c at column x, row y is pixels[(y * width + x) * channels + c].
// Samples are normalised to [0, 1] (file sample / maxval), independent of the file's bit depth.

/// A decoded image: `height` rows of `width` pixels, each with `channels` samples in [0, 1].
///
/// Pixels are stored interleaved (HWC): the sample of channel `c` at column `x`, row `y` is
/// `pixels[(y * width + x) * channels + c]`. Colour images have 3 channels (red, green, blue);
/// grayscale images have 1.
public struct Image: Sendable, Equatable {
    /// Number of columns.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// Samples per pixel: 3 for RGB (PPM), 1 for grayscale (PGM).
    public let channels: Int
    /// Interleaved HWC samples, each in [0, 1]; `width * height * channels` of them.
    public var pixels: [Float]

    /// Creates an image from interleaved HWC samples.
    ///
    /// - Precondition: `width, height >= 1`, `channels` is 1 or 3, and
    ///   `pixels.count == width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [Float]) {
        precondition(width >= 1 && height >= 1, "Image: width and height must be positive")
        precondition(channels == 1 || channels == 3, "Image: channels must be 1 or 3")
        precondition(pixels.count == width * height * channels,
                     "Image: pixels.count \(pixels.count) != \(width) x \(height) x \(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The sample of channel `channel` at column `x`, row `y` (all zero-based).
    public func sample(x: Int, y: Int, channel: Int = 0) -> Float {
        pixels[(y * width + x) * channels + channel]
    }
}

/// A malformed, unsupported or unreadable image, or an image that does not fit the model.
///
/// `message` is one line naming the file (where known), what is wrong and where, e.g.
/// `cat.ppm: truncated pixel data: expected 150528 bytes after the header at offset 15, found 1000`.
public struct ImageError: Error, CustomStringConvertible, Equatable {
    /// The one-line explanation.
    public var message: String

    /// Creates an error with the given one-line message.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
