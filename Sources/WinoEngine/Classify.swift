// Image classification convenience on top of `Model.predict`.
import WinoFormat

extension Model {
    /// Preprocesses `image` as the model's metadata prescribes (resize, centre crop,
    /// channel order, mean and scale), runs the model and returns the `top` classes.
    public func classify(image: Image, top: Int = 5) throws -> [Classification] {
        try classify(Preprocess.tensor(from: image, metadata: metadata), top: top)
    }
}
