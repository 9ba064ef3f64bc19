// Trainable layers: the base class and the parameter type.

/// A trainable tensor: values, the gradient of the last backward pass, the SGD velocity
/// and, once pruning has frozen it, the mask of entries that must stay zero.
final class Param<T: TrainScalar> {
    /// Name in the model file (e.g. "conv2.w").
    let name: String
    /// Shape as stored in the model file.
    let shape: [Int]
    /// Values.
    var value: [T]
    /// Gradient of the loss over the last batch.
    var grad: [T]
    /// Momentum buffer.
    var velocity: [T]
    /// Whether weight decay and regularisation apply (weights yes, biases no).
    let decays: Bool
    /// Winograd tile when the values are Winograd-domain weights [alpha, alpha, K, C].
    let winograd: WinogradShape?
    /// Entries pinned at zero (native pruning's fine-tuning phase), or nil.
    var frozenZero: [Bool]?

    init(name: String, shape: [Int], value: [T], decays: Bool, winograd: WinogradShape? = nil) {
        precondition(value.count == shape.reduce(1, *))
        self.name = name; self.shape = shape; self.value = value
        grad = [T](repeating: 0, count: value.count)
        velocity = [T](repeating: 0, count: value.count)
        self.decays = decays; self.winograd = winograd
    }

    /// Fraction of entries that are exactly zero.
    var sparsity: Double {
        value.isEmpty ? 0 : Double(value.lazy.filter { $0 == 0 }.count) / Double(value.count)
    }
}

/// The geometry of Winograd-domain weights: alpha^2 positions of K x C.
struct WinogradShape {
    var alpha: Int, k: Int, c: Int
}

/// One layer of a sequential network. Shapes exclude the batch dimension.
class TrainLayer<T: TrainScalar> {
    /// Node name in the model file.
    let name: String
    /// Input shape (C, H, W) or (features).
    let inShape: [Int]
    /// Output shape.
    var outShape: [Int] { inShape }

    init(name: String, inShape: [Int]) {
        self.name = name; self.inShape = inShape
    }

    /// The layer's parameters (weights first).
    var params: [Param<T>] { [] }

    /// Computes the output of `batch` samples, keeping what backward needs when `training`.
    func forward(_ x: [T], batch: Int, training: Bool, _ c: Compute) -> [T] { fatalError("abstract") }

    /// Given dL/dy, sets each parameter's `grad` and returns dL/dx.
    func backward(_ dy: [T], batch: Int, _ c: Compute) -> [T] { fatalError("abstract") }
}
