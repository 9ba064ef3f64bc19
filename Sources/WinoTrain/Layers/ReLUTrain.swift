// ReLU, y = max(x, 0); dx = dy where y > 0.

/// Rectified linear unit.
final class ReLUTrain<T: TrainScalar>: TrainLayer<T> {
    private var y: [T] = []

    override func forward(_ x: [T], batch: Int, training: Bool, _ c: Compute) -> [T] {
        let out = x.map { $0 > 0 ? $0 : 0 }
        if training { y = out }
        return out
    }

    override func backward(_ dy: [T], batch: Int, _ c: Compute) -> [T] {
        var dx = dy
        for i in dx.indices where !(y[i] > 0) { dx[i] = 0 }
        return dx
    }
}
