// Softmax cross-entropy over logits [batch][classes].

enum SoftmaxCrossEntropy {
    /// Mean loss over the batch, dL/dlogits, and the number of correct argmax predictions.
    static func evaluate<T: TrainScalar>(_ logits: [T], labels: [Int], classes: Int) -> (loss: Double, grad: [T], correct: Int) {
        let batch = labels.count
        var grad = [T](repeating: 0, count: logits.count)
        var loss = 0.0, correct = 0
        for b in 0..<batch {
            let row = b * classes
            var mx = logits[row], arg = 0
            for j in 1..<classes where logits[row + j] > mx { mx = logits[row + j]; arg = j }
            if arg == labels[b] { correct += 1 }
            var sum = 0.0
            for j in 0..<classes { sum += Double(logits[row + j] - mx).exp }
            loss += sum.log - Double(logits[row + labels[b]] - mx)
            for j in 0..<classes {
                let p = Double(logits[row + j] - mx).exp / sum
                grad[row + j] = T((p - (j == labels[b] ? 1 : 0)) / Double(batch))
            }
        }
        return (loss / Double(batch), grad, correct)
    }
}

extension Double {
    var exp: Double { Foundation.exp(self) }
    var log: Double { Foundation.log(self) }
}

import Foundation
