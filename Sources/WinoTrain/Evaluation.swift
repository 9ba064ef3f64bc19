// Accuracy and confusion matrix of a model file, run by the inference engine itself.
import WinoEngine
import WinoFormat

/// Accuracy and confusion matrix of a model on a labelled set.
public struct EvaluationResult: Sendable {
    /// Fraction of samples whose top class is the label.
    public var accuracy: Double
    /// confusion[true][predicted] counts.
    public var confusion: [[Int]]
    /// Number of samples.
    public var count: Int
}

/// Evaluates models with the engine (the same code path `wino-infer` uses).
public enum Evaluation {
    /// Runs `model` over `data` in batches of `batch`; inputs are normalised with the model's metadata.
    public static func evaluate(_ model: Model, graph: ModelGraph, data: Dataset, batch: Int = 500) throws -> EvaluationResult {
        let meta = graph.metadata
        let per = data.rows * data.cols
        guard meta.inputShape.reduce(1, *) == per, meta.inputShape.first == 1 else {
            throw TrainError("the model takes \(meta.inputShape) inputs; the data has 1x\(data.rows)x\(data.cols) images")
        }
        let classes = model.outputShape.reduce(1, *)
        if let bad = data.labels.first(where: { Int($0) >= classes }) {
            throw TrainError("label \(bad) but the model has \(classes) outputs")
        }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var correct = 0
        var s = 0
        while s < data.count {
            let n = min(batch, data.count - s)
            let y = try model.predict(data.tensor(s..<(s + n), metadata: meta), batch: n)
            for j in 0..<n {
                var arg = 0
                for c in 1..<classes where y[j * classes + c] > y[j * classes + arg] { arg = c }
                let label = Int(data.labels[s + j])
                confusion[label][arg] += 1
                if arg == label { correct += 1 }
            }
            s += n
        }
        return EvaluationResult(accuracy: Double(correct) / Double(max(1, data.count)), confusion: confusion, count: data.count)
    }
}
