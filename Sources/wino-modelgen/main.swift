// wino-modelgen MODEL.json OUT.swz
// Writes the shipped Fashion-MNIST model (Models/fmnist/fmnist.swz) with the project's
// own .swz writer from the weights that Models/scripts/train_fmnist.py produces.
// Winograd-domain conv weights and the pruned fc1 are stored as CSR, fc2 dense.
import Foundation
import WinoFormat

struct ToolError: Error, CustomStringConvertible {
    var description: String
}

func layer(_ json: [String: Any], _ name: String) throws -> (shape: [Int], weight: [Float], bias: [Float], variant: String?) {
    guard let l = json[name] as? [String: Any], let shape = l["shape"] as? [Int],
          let w = l["weight"] as? [Double], let b = l["bias"] as? [Double] else {
        throw ToolError(description: "layer '\(name)' is missing shape, weight or bias")
    }
    guard w.count == shape.reduce(1, *) else {
        throw ToolError(description: "layer '\(name)' has \(w.count) weights for shape \(shape)")
    }
    return (shape, w.map { Float($0) }, b.map { Float($0) }, l["variant"] as? String)
}

func csr(_ name: String, _ shape: [Int], _ w: [Float], winograd: WinogradVariant? = nil) -> Tensor {
    let cols = shape.last!
    return Tensor(name: name, shape: shape, winograd: winograd,
                  data: .csr(CSRMatrix(dense: w, rows: w.count / cols, cols: cols)))
}

func main() throws {
    let args = CommandLine.arguments
    guard args.count == 3 else { throw ToolError(description: "usage: wino-modelgen MODEL.json OUT.swz") }
    let data = try Data(contentsOf: URL(fileURLWithPath: args[1]))
    guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw ToolError(description: "\(args[1]) is not a JSON object")
    }
    let c1 = try layer(json, "conv1"), c2 = try layer(json, "conv2")
    let f1 = try layer(json, "fc1"), f2 = try layer(json, "fc2")
    guard c1.variant == "F(2x2,3x3)", c2.variant == "F(4x4,3x3)" else {
        throw ToolError(description: "unexpected Winograd variants \(c1.variant ?? "-"), \(c2.variant ?? "-")")
    }
    guard let mean = json["mean"] as? Double, let std = json["std"] as? Double, let labels = json["labels"] as? [String],
          let acc = json["accuracy"] as? [String: Any], let dense = acc["dense"] as? Double, let pruned = acc["pruned"] as? Double
    else { throw ToolError(description: "mean, std, labels or accuracy missing") }

    let tensors = [
        csr("conv1.w", c1.shape, c1.weight, winograd: .f2x2_3x3), Tensor(name: "conv1.b", shape: [c1.bias.count], data: .dense(c1.bias)),
        csr("conv2.w", c2.shape, c2.weight, winograd: .f4x4_3x3), Tensor(name: "conv2.b", shape: [c2.bias.count], data: .dense(c2.bias)),
        csr("fc1.w", f1.shape, f1.weight), Tensor(name: "fc1.b", shape: [f1.bias.count], data: .dense(f1.bias)),
        Tensor(name: "fc2.w", shape: f2.shape, data: .dense(f2.weight)), Tensor(name: "fc2.b", shape: [f2.bias.count], data: .dense(f2.bias)),
    ]
    let pad: AttributeValue = .ints([1, 1, 1, 1])
    let pool: [String: AttributeValue] = ["kernel": .ints([2, 2]), "strides": .ints([2, 2])]
    let nodes = [
        Node(name: "conv1", op: .winogradConv, inputs: ["image"], output: "conv1", weights: ["conv1.w", "conv1.b"],
             attributes: ["pads": pad, "relu": .int(1)]),
        Node(name: "pool1", op: .maxPool, inputs: ["conv1"], output: "pool1", attributes: pool),
        Node(name: "conv2", op: .winogradConv, inputs: ["pool1"], output: "conv2", weights: ["conv2.w", "conv2.b"],
             attributes: ["pads": pad, "relu": .int(1)]),
        Node(name: "pool2", op: .maxPool, inputs: ["conv2"], output: "pool2", attributes: pool),
        Node(name: "flatten", op: .flatten, inputs: ["pool2"], output: "features"),
        Node(name: "fc1", op: .fullyConnected, inputs: ["features"], output: "fc1", weights: ["fc1.w", "fc1.b"],
             attributes: ["relu": .int(1)]),
        Node(name: "fc2", op: .fullyConnected, inputs: ["fc1"], output: "logits", weights: ["fc2.w", "fc2.b"]),
        Node(name: "prob", op: .softmax, inputs: ["logits"], output: "prob"),
    ]
    let meta = ModelMetadata(
        name: "fmnist-winograd-cnn", inputShape: [1, 28, 28], channelOrder: .gray, pixelRange: 1,
        mean: [Float(mean)], scale: [Float(1 / std)], labels: labels,
        properties: [
            "description": "Small CNN for Fashion-MNIST (28x28 gray, white object on black). conv1 F(2x2,3x3) and conv2 F(4x4,3x3) Winograd-domain weights, magnitude-pruned in the Winograd domain without retraining; fc1 pruned to CSR.",
            "provenance": "Trained with Models/scripts/train_fmnist.py (numpy, seed 1234) on the Debian package dataset-fashion-mnist; written by wino-modelgen.",
            "licence": "Weights: CC0. Training data: Fashion-MNIST, MIT licence (Zalando Research).",
            "test_accuracy_dense": String(format: "%.4f", dense),
            "test_accuracy": String(format: "%.4f", pruned),
        ])
    let graph = ModelGraph(metadata: meta, input: "image", output: "prob", nodes: nodes, tensors: tensors)
    try SWZWriter.write(graph, to: args[2])
    let size = (try FileManager.default.attributesOfItem(atPath: args[2])[.size] as? Int) ?? 0
    print("wrote \(args[2]): \(size) bytes, test accuracy \(pruned) (dense \(dense))")
}

do { try main() } catch {
    FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
    exit(1)
}
