// A sequential network of trainable layers, ending in logits.

/// A feed-forward stack of layers; the loss is softmax cross-entropy on the last output.
final class Network<T: TrainScalar> {
    /// The layers in order.
    let layers: [TrainLayer<T>]
    /// Input shape (C, H, W).
    let inputShape: [Int]
    /// Number of classes (logits).
    var classes: Int { layers.last!.outShape.reduce(1, *) }

    init(inputShape: [Int], layers: [TrainLayer<T>]) {
        self.inputShape = inputShape; self.layers = layers
    }

    /// All parameters, in layer order.
    var params: [Param<T>] { layers.flatMap(\.params) }

    /// Winograd-domain weight parameters.
    var winogradWeights: [Param<T>] { params.filter { $0.winograd != nil } }

    /// Logits of `batch` samples.
    func forward(_ x: [T], batch: Int, training: Bool, _ c: Compute) -> [T] {
        var h = x
        for l in layers { h = Network.forward(l, h, batch: batch, training: training, c) }
        return h
    }

    /// One forward and backward pass: sets every parameter's gradient; returns loss and correct count.
    @discardableResult
    func lossAndGradients(_ x: [T], labels: [Int], _ c: Compute) -> (loss: Double, correct: Int) {
        let logits = forward(x, batch: labels.count, training: true, c)
        let r = SoftmaxCrossEntropy.evaluate(logits, labels: labels, classes: classes)
        var g = r.grad
        for l in layers.reversed() { g = Network.backward(l, g, batch: labels.count, c) }
        return (r.loss, r.correct)
    }

    // Calls through the concrete final classes, so that the generic layer code is specialised
    // for the element type (a call through the base class would run the unspecialised generic body).
    static func forward(_ l: TrainLayer<T>, _ x: [T], batch: Int, training: Bool, _ c: Compute) -> [T] {
        switch l {
        case let l as WinogradConvTrain<T>: return l.forward(x, batch: batch, training: training, c)
        case let l as DirectConvTrain<T>: return l.forward(x, batch: batch, training: training, c)
        case let l as DenseTrain<T>: return l.forward(x, batch: batch, training: training, c)
        case let l as ReLUTrain<T>: return l.forward(x, batch: batch, training: training, c)
        case let l as MaxPoolTrain<T>: return l.forward(x, batch: batch, training: training, c)
        case let l as FlattenTrain<T>: return l.forward(x, batch: batch, training: training, c)
        default: return l.forward(x, batch: batch, training: training, c)
        }
    }

    static func backward(_ l: TrainLayer<T>, _ dy: [T], batch: Int, _ c: Compute) -> [T] {
        switch l {
        case let l as WinogradConvTrain<T>: return l.backward(dy, batch: batch, c)
        case let l as DirectConvTrain<T>: return l.backward(dy, batch: batch, c)
        case let l as DenseTrain<T>: return l.backward(dy, batch: batch, c)
        case let l as ReLUTrain<T>: return l.backward(dy, batch: batch, c)
        case let l as MaxPoolTrain<T>: return l.backward(dy, batch: batch, c)
        case let l as FlattenTrain<T>: return l.backward(dy, batch: batch, c)
        default: return l.backward(dy, batch: batch, c)
        }
    }
}
