// Flatten (C, H, W) to features: the data is already in that order.

/// Reshapes to one feature vector per sample.
final class FlattenTrain<T: TrainScalar>: TrainLayer<T> {
    override var outShape: [Int] { [inShape.reduce(1, *)] }
    override func forward(_ x: [T], batch: Int, training: Bool, _ c: Compute) -> [T] { x }
    override func backward(_ dy: [T], batch: Int, _ c: Compute) -> [T] { dy }
}
