// The whole conversion: import ONNX, attach metadata, Winograd-encode and prune.
import WinoFormat

/// Input and label metadata given on the command line.
public struct MetadataOptions: Sendable {
    /// Class labels, one per output value.
    public var labels: [String] = []
    /// Channel order; default rgb for 3 channels, gray for 1, tensor otherwise.
    public var channelOrder: ChannelOrder?
    /// Per-channel mean (one value is repeated for every channel).
    public var mean: [Float]?
    /// Per-channel scale (one value is repeated for every channel).
    public var scale: [Float]?
    /// Value of a full-intensity pixel before mean subtraction.
    public var pixelRange: Float = 1
    /// Resize images so their shorter side is this long before centre-cropping (0 = input size).
    public var resizeShorterSide = 0

    /// Creates empty metadata options.
    public init() {}
}

/// ONNX to .swz graph conversion.
public enum Converter {
    /// Imports `path`, fills metadata and encodes; returns the graph, per-layer reports and the import.
    public static func convert(onnx path: String, importOptions: ImportOptions = ImportOptions(),
                               metadata: MetadataOptions = MetadataOptions(), encode: EncodeOptions = EncodeOptions(),
                               progress: ((Int, Int, String) -> Void)? = nil) throws -> (ModelGraph, [LayerReport], ImportedModel) {
        let imported = try ONNXImporter.importModel(path: path, options: importOptions)
        var g = imported.graph
        g.metadata = try makeMetadata(base: g.metadata, options: metadata)
        g.metadata.properties["source"] = "ONNX (opset \(imported.opset)\(imported.producer.isEmpty ? "" : ", producer \(imported.producer)"))"
        g.metadata.properties["converter"] = "wino-convert"
        var (encoded, reports) = try WinogradEncoder.encode(g, options: encode, progress: progress)
        if encode.halfPrecisionWeights {
            let weightNames = Set(encoded.nodes.filter { [.conv, .winogradConv, .fullyConnected].contains($0.op) }.compactMap { $0.weights.first })
            for i in encoded.tensors.indices where weightNames.contains(encoded.tensors[i].name) {
                let t = encoded.tensors[i]
                let big = t.denseValues().first { abs($0) > 65504 }
                if let big = big { throw ConvertError("weight '\(t.name)' holds \(big), beyond the f16 range; convert without --f16") }
                encoded.tensors[i] = t.roundedToHalf()
            }
            encoded.metadata.properties["weights"] = "f16 (rounded from f32 by wino-convert --f16)"
        }
        return (encoded, reports, imported)
    }

    /// Metadata for the imported input shape with the command-line settings applied.
    public static func makeMetadata(base: ModelMetadata, options o: MetadataOptions) throws -> ModelMetadata {
        let c = base.inputShape[0]
        let order = o.channelOrder ?? (c == 3 ? .rgb : c == 1 ? .gray : .tensor)
        func perChannel(_ v: [Float]?, _ what: String, _ def: Float) throws -> [Float] {
            guard let v = v else { return [Float](repeating: def, count: c) }
            if v.count == 1 { return [Float](repeating: v[0], count: c) }
            guard v.count == c else { throw ConvertError("--\(what) has \(v.count) values; the model input has \(c) channels") }
            return v
        }
        var m = ModelMetadata(name: base.name, inputShape: base.inputShape, channelOrder: order, pixelRange: o.pixelRange,
                              mean: try perChannel(o.mean, "mean", 0), scale: try perChannel(o.scale, "scale", 1),
                              resizeShorterSide: o.resizeShorterSide, labels: o.labels)
        m.properties = base.properties
        return m
    }
}
