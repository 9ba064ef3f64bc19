// wino-convert inspect MODEL.swz [--json]: per-layer storage and the metadata.
import ArgumentParser
import Foundation
import WinoFormat

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show a .swz file's layers (kind, shapes, tile, density, bytes) and metadata.")

    @Argument(help: "Model file (.swz).") var model: String
    @Flag(help: "Print JSON.") var json = false

    struct TensorOut: Encodable {
        var name: String; var shape: [Int]; var encoding: String; var dtype: String; var tile: String?
        var nnz: Int; var density: Double; var raw_bytes: Int; var stored_bytes: Int
    }
    struct LayerOut: Encodable {
        var name: String; var op: String; var inputs: [[Int]]; var output: [Int]; var tensors: [TensorOut]
    }
    struct MetaOut: Encodable {
        var name: String; var input_shape: [Int]; var channel_order: String; var pixel_range: Float
        var mean: [Float]; var scale: [Float]; var resize: Int; var labels: Int; var properties: [String: String]
    }
    struct FileOut: Encodable {
        var file: String; var version: String; var file_bytes: Int; var graph_bytes: Int
        var tensor_raw_bytes: Int; var tensor_stored_bytes: Int; var metadata: MetaOut; var layers: [LayerOut]
    }

    func run() throws {
        let info = try SWZReader.inspect(path: model)
        let g = info.graph
        let shapes = try GraphValidator.validate(g)
        let byName = Dictionary(info.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let layers = g.nodes.map { n in
            LayerOut(name: n.name, op: "\(n.op)", inputs: n.inputs.map { shapes[$0] ?? [] }, output: shapes[n.output] ?? [],
                     tensors: n.weights.compactMap { byName[$0] }.map { t in
                        let count = t.shape.reduce(1, *), nnz = t.isCSR ? t.nnz : count
                        return TensorOut(name: t.name, shape: t.shape, encoding: t.isCSR ? "csr" : "dense", dtype: t.storage == .f16 ? "f16" : "f32", tile: t.winograd.map { "\($0)" },
                                         nnz: nnz, density: count == 0 ? 0 : Double(nnz) / Double(count),
                                         raw_bytes: t.rawBytes, stored_bytes: t.storedBytes)
                     })
        }
        let m = g.metadata
        let orders: [ChannelOrder: String] = [.rgb: "rgb", .bgr: "bgr", .gray: "gray", .tensor: "tensor"]
        let out = FileOut(file: model, version: "\(info.major).\(info.minor)", file_bytes: info.fileSize, graph_bytes: info.graphStoredBytes,
                          tensor_raw_bytes: info.tensors.reduce(0) { $0 + $1.rawBytes },
                          tensor_stored_bytes: info.tensors.reduce(0) { $0 + $1.storedBytes },
                          metadata: MetaOut(name: m.name, input_shape: m.inputShape, channel_order: orders[m.channelOrder] ?? "?",
                                            pixel_range: m.pixelRange, mean: m.mean, scale: m.scale, resize: m.resizeShorterSide,
                                            labels: m.labels.count, properties: m.properties),
                          layers: layers)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(out), as: UTF8.self))
            return
        }
        print("\(model): .swz \(out.version), \(out.file_bytes) bytes (graph \(out.graph_bytes), tensors \(out.tensor_stored_bytes) stored / \(out.tensor_raw_bytes) raw)")
        print("model '\(m.name)': input \(m.inputShape) \(out.metadata.channel_order), pixel range \(m.pixelRange), mean \(m.mean), scale \(m.scale), resize \(m.resizeShorterSide), \(m.labels.count) labels")
        for (k, v) in m.properties.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
        print("")
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s.padding(toLength: n, withPad: " ", startingAt: 0) }
        print(pad("layer", 20) + pad("kind", 16) + pad("input -> output", 32) + pad("tile", 12) + pad("density", 9) + pad("nnz", 11) + pad("dtype", 6) + pad("raw B", 12) + "stored B")
        for l in layers {
            let w = l.tensors.first
            let io = "\(l.inputs.first ?? []) -> \(l.output)"
            let raw = l.tensors.reduce(0) { $0 + $1.raw_bytes }, stored = l.tensors.reduce(0) { $0 + $1.stored_bytes }
            print(pad(l.name, 20) + pad(l.op, 16) + pad(io, 32) + pad(w?.tile ?? "-", 12)
                  + pad(w.map { String(format: "%.4f", $0.density) } ?? "-", 9) + pad(w.map { "\($0.nnz)" } ?? "-", 11) + pad(w?.dtype ?? "-", 6)
                  + pad(w == nil ? "-" : "\(raw)", 12) + (w == nil ? "-" : "\(stored)"))
        }
    }
}
