// wino-convert onnx IN.onnx -o OUT.swz [metadata and pruning flags]
import ArgumentParser
import Foundation
import WinoConvert
import WinoFormat

struct OnnxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onnx",
        abstract: "Convert an ONNX model to a .swz file (Winograd-encoded, optionally pruned).",
        discussion: """
        Eligible convolutions (stride 1, 3x3 or 5x5) become Winograd layers; weights are pruned by magnitude.
        Example: wino-convert onnx alexnet.onnx -o alexnet.swz --sparsity 0.9 --fc-sparsity 0.9 --layer-sparsity conv3=0.93
        """)

    @Argument(help: "ONNX model file.") var input: String
    @Option(name: .shortAndLong, help: "Output .swz file.") var output: String
    @Option(help: "Text file with one class label per line.") var labels: String?
    @Option(help: "Per-sample input size C,H,W (or F), for inputs with symbolic dimensions.") var inputSize: String?
    @Option(help: "Per-channel mean (comma-separated, or one value), subtracted after --pixel-range scaling.") var mean: String?
    @Option(help: "Per-channel multiplier (comma-separated, or one value), applied after the mean.") var scale: String?
    @Option(help: "Input channel order: rgb, bgr, gray or tensor.") var channelOrder: String?
    @Option(help: "Value of a full-intensity pixel (255 for Caffe models, 1 for torchvision).") var pixelRange: Float = 1
    @Option(help: "Resize images so their shorter side has this length before centre-cropping.") var resize: Int = 0
    @Option(help: "Winograd tile for 3x3 convolutions: F2 or F4.") var tile: String = "F4"
    @Option(help: "Fraction of Winograd-domain weights zeroed in every Winograd layer.") var sparsity: Double = 0
    @Option(help: "Zero Winograd weights with score below this (instead of --sparsity).") var threshold: Double?
    @Option(help: "Per-layer sparsity NAME=S (repeatable), for Winograd, direct conv or fully-connected layers.")
    var layerSparsity: [String] = []
    @Option(help: "Fraction of fully-connected weights zeroed (stored CSR).") var fcSparsity: Double = 0
    @Flag(help: "Scale Winograd scores per position by the norm of (A (x) A) rows (RESEARCH.md section 1).")
    var normalizePositions = false
    @Flag(help: "Keep all convolutions direct (no Winograd encoding).") var noWinograd = false
    @Flag(help: "Store tensors without zlib compression.") var noCompress = false
    @Flag(help: "Store conv and FC weights as f16 (lossy, half the value bytes; computation stays f32).") var f16 = false
    @Flag(help: "Print nothing but errors.") var quiet = false

    func validate() throws {
        guard ["F2", "F4"].contains(tile.uppercased()) else { throw ValidationError("--tile must be F2 or F4") }
        guard (0...1).contains(sparsity), (0...1).contains(fcSparsity) else { throw ValidationError("sparsities must be within 0...1") }
        if threshold != nil && sparsity > 0 { throw ValidationError("give --sparsity or --threshold, not both") }
        if let t = threshold, !(t.isFinite && t >= 0) { throw ValidationError("--threshold must be a finite number >= 0") }
        guard (0...65536).contains(resize) else { throw ValidationError("--resize must be within 0...65536") }
    }

    func run() throws {
        var imp = ImportOptions()
        if let s = inputSize { imp.inputSize = try ints(s, "--input-size") }
        var meta = MetadataOptions()
        if let l = labels {
            meta.labels = try readLabels(l)
        }
        if let m = mean { meta.mean = try floats(m, "--mean") }
        if let s = scale {
            let values = try floats(s, "--scale")
            meta.scale = values
            if values.contains(0) { throw ToolError("--scale values must be nonzero (0 makes every input the same)") }
        }
        if let c = channelOrder {
            let orders: [String: ChannelOrder] = ["rgb": .rgb, "bgr": .bgr, "gray": .gray, "tensor": .tensor]
            guard let o = orders[c.lowercased()] else { throw ToolError("--channel-order must be rgb, bgr, gray or tensor, not '\(c)'") }
            meta.channelOrder = o
        }
        meta.pixelRange = pixelRange
        meta.resizeShorterSide = resize
        var enc = EncodeOptions()
        enc.tile3x3 = tile.uppercased() == "F2" ? .f2x2_3x3 : .f4x4_3x3
        enc.winograd = !noWinograd
        enc.sparsity = sparsity
        enc.threshold = threshold
        enc.fcSparsity = fcSparsity
        enc.normalizePositions = normalizePositions
        enc.halfPrecisionWeights = f16
        for item in layerSparsity {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let v = Double(parts[1]) else { throw ToolError("--layer-sparsity expects NAME=S, got '\(item)'") }
            enc.layerSparsity[parts[0]] = v
        }
        let bar = ProgressBar(enabled: !quiet && isatty(2) == 1)
        let (graph, reports, _) = try Converter.convert(onnx: input, importOptions: imp, metadata: meta, encode: enc,
                                                        progress: bar.update)
        try SWZWriter.write(graph, to: output, compress: !noCompress)
        if quiet { return }
        let onnxBytes = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
        let swzBytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        for r in reports {
            let kind = r.winograd.map { "WinogradConv \($0)" } ?? "\(r.op)"
            print("\(r.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(kind.padding(toLength: 26, withPad: " ", startingAt: 0)) density \(String(format: "%.4f", r.density))  nnz \(r.nnz)/\(r.count)")
        }
        let ratio = onnxBytes > 0 ? String(format: " (%.1f%% of the ONNX file's %d bytes)", 100 * Double(swzBytes) / Double(onnxBytes), onnxBytes) : ""
        print("wrote \(output): \(swzBytes) bytes\(ratio)")
    }
}

/// The labels of a text file, one per line (LF or CRLF), surrounding blanks trimmed; trailing
/// empty lines are ignored, an empty line before a label is an error naming it.
func readLabels(_ path: String) throws -> [String] {
    let data: [UInt8]
    do {
        data = try InputFile.read(path, maxBytes: 64 << 20, what: "a labels file")
    } catch let e as InputFileError {
        throw ToolError("labels file: \(e.message)")
    }
    guard let text = String(validating: data, as: UTF8.self) else {
        throw ToolError("labels file '\(path)' is not UTF-8 text")
    }
    var labels = text.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline })
        .map { $0.trimmingCharacters(in: .whitespaces) }
    while labels.last == "" { labels.removeLast() }
    if let empty = labels.firstIndex(of: "") {
        throw ToolError("labels file '\(path)': line \(empty + 1) is empty (one label per line)")
    }
    if let bad = labels.firstIndex(where: { $0.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } }) {
        throw ToolError("labels file '\(path)': line \(bad + 1) holds a control character")
    }
    return labels
}

struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func ints(_ s: String, _ what: String) throws -> [Int] {
    let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0! >= 1 }) else { throw ToolError("\(what) expects positive integers separated by commas, got '\(s)'") }
    return v.map { $0! }
}

func floats(_ s: String, _ what: String) throws -> [Float] {
    let v = s.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0!.isFinite }) else { throw ToolError("\(what) expects numbers separated by commas, got '\(s)'") }
    return v.map { $0! }
}
