// wino-bench: effective GFLOP/s of the sparse Winograd path against baselines
// measured in the same run (our dense path, onnxruntime, DeepSparse, oneDNN).
import ArgumentParser
import Foundation
import WinoEngine
import WinoFormat
import WinoKernels

struct WinoBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wino-bench",
        abstract: "Benchmarks of wino's convolution backends against baselines measured in the same run.",
        subcommands: [Layers.self, ModelBench.self, Check.self, Efficiency.self, Ceiling.self])
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case md, csv, json }

/// Timing statistics of repeated runs, in milliseconds.
struct Stats: Codable {
    var median: Double, min: Double, max: Double
    init(median: Double, min: Double, max: Double) { self.median = median; self.min = min; self.max = max }
    init(_ samples: [Double]) {
        let s = samples.sorted()
        median = s[s.count / 2]; min = s.first!; max = s.last!
    }
}

/// One result row.
struct Row: Codable {
    var layer: String
    var batch: Int
    var threads: Int
    var density: Double
    var median_ms: Double
    var min_ms: Double
    var max_ms: Double
    var effective_gflops: Double
    var dense_winograd_ms: Double?
    var dense_winograd_ratio: Double?
    var direct_ms: Double?
    var direct_ratio: Double?
    var onnxruntime_ms: Double?
    /// Ratios: the median over rounds of the baseline's round median / ours (`InterleavedResult.ratio`).
    var onnxruntime_ratio: Double?
    /// onnxruntime's overall median / ours (affected by the machine's drift where the ratio above is not).
    var onnxruntime_ratio_of_medians: Double?
    /// DeepSparse on the layer with 90% of its spatial weights pruned (magnitude), and its ratio.
    var deepsparse_ms: Double?
    var deepsparse_ratio: Double?
    /// DeepSparse on the dense layer, and its ratio (DeepSparse's sparse kernels do not always
    /// beat its dense ones; the lower of the two ratios is against DeepSparse's best).
    var deepsparse_dense_ms: Double?
    var deepsparse_dense_ratio: Double?
    /// oneDNN's dense convolution: its Winograd where it has one for the shape and CPU, else
    /// its `auto` choice (onednn_impl names what ran, e.g. "brgconv:avx2", or "winograd: ...").
    var onednn_ms: Double?
    var onednn_ratio: Double?
    var onednn_impl: String?
}

/// Prints `rows` as pretty-printed JSON with sorted keys (every subcommand's `--format json`);
/// throws where a value cannot be encoded (a non-finite number).
func printJSON<T: Encodable>(_ rows: [T]) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try enc.encode(rows), as: UTF8.self))
}

func printRows(_ rows: [Row], format: OutputFormat) throws {
    func f(_ x: Double?, _ digits: Int = 2) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "-" }
    switch format {
    case .json:
        try printJSON(rows)
    case .csv:
        print("layer,batch,threads,density,median_ms,min_ms,max_ms,effective_gflops,dense_winograd_ms,dense_winograd_ratio,direct_ms,direct_ratio,onnxruntime_ms,onnxruntime_ratio,onnxruntime_ratio_of_medians,deepsparse_ms,deepsparse_ratio,deepsparse_dense_ms,deepsparse_dense_ratio,onednn_ms,onednn_ratio,onednn_impl")
        for r in rows {
            print([r.layer, "\(r.batch)", "\(r.threads)", "\(r.density)", f(r.median_ms, 4), f(r.min_ms, 4), f(r.max_ms, 4),
                   f(r.effective_gflops, 1), f(r.dense_winograd_ms, 4), f(r.dense_winograd_ratio), f(r.direct_ms, 4),
                   f(r.direct_ratio), f(r.onnxruntime_ms, 4), f(r.onnxruntime_ratio), f(r.onnxruntime_ratio_of_medians),
                   f(r.deepsparse_ms, 4), f(r.deepsparse_ratio), f(r.deepsparse_dense_ms, 4), f(r.deepsparse_dense_ratio),
                   f(r.onednn_ms, 4), f(r.onednn_ratio), r.onednn_impl ?? "-"].joined(separator: ","))
        }
    case .md:
        print("| layer | batch | threads | density | median ms (min-max) | effective GFLOP/s | vs own dense Winograd | vs own direct | vs onnxruntime | vs DeepSparse 90% / dense | vs oneDNN |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows {
            print("| \(r.layer) | \(r.batch) | \(r.threads) | \(r.density) | \(f(r.median_ms, 3)) (\(f(r.min_ms, 3))-\(f(r.max_ms, 3))) | \(f(r.effective_gflops, 0)) | \(f(r.dense_winograd_ratio))x | \(f(r.direct_ratio))x | \(f(r.onnxruntime_ratio))x | \(f(r.deepsparse_ratio))x / \(f(r.deepsparse_dense_ratio))x | \(f(r.onednn_ratio))x |")
        }
    }
}

struct Layers: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Per-layer convolution benchmarks (AlexNet conv2-5, VGG16 conv1_2-conv5_1).")

    @Option(help: "Comma-separated layer names (default: all). Known: \(ConvShape.all.map(\.name).joined(separator: ", ")).")
    var layers: String?
    @Option(help: "Comma-separated Winograd-domain densities.")
    var densities = "1.0,0.3,0.1,0.05"
    @Option(help: "Comma-separated thread counts.")
    var threads = "1,2"
    @Option(help: "Comma-separated batch sizes.")
    var batches = "1,8"
    @Option(help: "Minimum repetitions per measurement.")
    var reps = 10
    @Option(help: "Tile for 3x3 layers: F2 or F4.")
    var tile = "F4"
    @Flag(help: "Also time our direct (im2col) convolution.")
    var direct = false
    @Flag(help: "Skip the onnxruntime baseline.")
    var noOnnxruntime = false
    @Option(help: "Python interpreter with deepsparse installed: adds DeepSparse baselines (the layer with 90% of its spatial weights pruned, and dense).")
    var deepsparsePython: String?
    @Option(help: "Python interpreter with pip's onednn-cpu-gomp installed: adds oneDNN's dense convolution (its Winograd where it has one, else its auto choice).")
    var onednnPython: String?
    @Flag(help: "Skip our dense Winograd baseline.")
    var noDense = false
    @Option(help: "Output format: md, csv or json.")
    var format: OutputFormat = .md

    func run() throws {
        let names = layers.map { Set($0.split(separator: ",").map(String.init)) }
        let shapes = ConvShape.all.filter { names?.contains($0.name) ?? true }
        guard !shapes.isEmpty else { throw ValidationError("no known layer selected") }
        let dens = densities.split(separator: ",").compactMap { Double($0) }
        let ths = threads.split(separator: ",").compactMap { Int($0) }
        let bs = batches.split(separator: ",").compactMap { Int($0) }

        let ort = noOnnxruntime ? nil : BaselineServer.onnxruntime()
        let ds = deepsparsePython.flatMap { BaselineServer.deepsparse(python: $0) }
        let dnn = onednnPython.flatMap { BaselineServer.onednn(python: $0) }
        var rows = [Row]()
        for s in shapes {
            let variant: WinogradVariant = s.r == 5 ? .f4x4_5x5 : (tile == "F2" ? .f2x2_3x3 : .f4x4_3x3)
            var weights = [Double: (spatial: [Float], winograd: [Float])]()
            for d in dens + [1.0] where weights[d] == nil { weights[d] = prunedWinogradWeights(s, tile: variant, density: d, seed: 42) }
            for b in bs {
                var rngState = SplitMix(state: 7)
                let x = (0..<(b * s.c * s.h * s.w)).map { _ in Float.random(in: -1...1, using: &rngState) }
                // The layer's output goes to a 64-byte aligned buffer, as it does inside a model
                // (the engine's activation buffers): large outputs are then written with
                // non-temporal stores (WinogradConvLayer.streamBytes), which need whole lines.
                var out = AlignedBuffer(count: 0)
                for t in ths {
                    // Every side of this (layer, batch, threads) is timed in alternating rounds.
                    func runner(_ g: ModelGraph) throws -> Runner {
                        // (No output check: onnxruntime, the baseline, does not scan its output.)
                        let m = try Model(graph: g, options: .init(threads: t, checksOutput: false))
                        if out.count < b * m.outputShape.reduce(1, *) { out = AlignedBuffer(count: b * m.outputShape.reduce(1, *)) }
                        for _ in 0..<2 { _ = try m.predict(x, batch: b) }   // warm-up (first-call setup)
                        let buffer = out, op = UnsafeMutableBufferPointer(start: out.pointer, count: b * m.outputShape.reduce(1, *))
                        return { n in
                            try withExtendedLifetime(buffer) {
                                try x.withUnsafeBufferPointer { xp in
                                    try timedRuns(n) { try m.predict(xp, batch: b, into: op) }
                                }
                            }
                        }
                    }
                    let id = "\(s.name)/\(b)/\(t)"
                    let conv: [String: Any] = ["op": "conv", "id": id, "c": s.c, "k": s.k, "h": s.h, "w": s.w, "r": s.r,
                                               "pad": s.pad, "groups": s.groups, "batch": b, "threads": t]
                    let ortLoaded = ort?.load(conv) ?? false
                    let dsLoaded = ds?.load(conv.merging(["id": id + "/90", "sparsity": 0.9]) { $1 }) ?? false
                    let dsDenseLoaded = ds?.load(conv) ?? false
                    // oneDNN's Winograd (the issue's dense peer) where it has one; else its own choice.
                    var dnnImpl: String?
                    if let dnn = dnn {
                        if let r = dnn.loadReply(conv.merging(["algorithm": "winograd"]) { $1 }, quiet: true) {
                            dnnImpl = "winograd: \(r["implementation"] as? String ?? "?")"
                        } else if let r = dnn.loadReply(conv.merging(["algorithm": "auto"]) { $1 }, quiet: false) {
                            dnnImpl = r["implementation"] as? String ?? "?"
                        }
                    }
                    let sparse = dens.filter { $0 != 1.0 || noDense }
                    var runners: [Runner?] = [
                        noDense ? nil : try runner(layerGraph(s, tile: variant, weights: weights[1.0]!, density: 1, direct: false)),
                        direct ? try runner(layerGraph(s, tile: variant, weights: weights[1.0]!, density: 1, direct: true)) : nil,
                        ortLoaded ? ort!.runner(id) : nil,
                        dsLoaded ? ds!.runner(id + "/90") : nil,
                        dsDenseLoaded ? ds!.runner(id) : nil,
                        dnnImpl != nil ? dnn!.runner(id) : nil,
                    ]
                    for d in sparse { runners.append(try runner(layerGraph(s, tile: variant, weights: weights[d]!, density: d, direct: false))) }
                    let result = try interleaved(reps: reps, runners)
                    if ortLoaded { ort!.drop(id) }
                    if dsLoaded { ds!.drop(id + "/90") }
                    if dsDenseLoaded { ds!.drop(id) }
                    if dnnImpl != nil { dnn!.drop(id) }
                    let stats = result.stats
                    let dense = stats[0], dir = stats[1], o = stats[2]
                    for d in dens {
                        let ours = d == 1.0 && !noDense ? 0 : 6 + sparse.firstIndex(of: d)!
                        let st = stats[ours]!
                        rows.append(Row(layer: s.name, batch: b, threads: t, density: d, median_ms: st.median, min_ms: st.min,
                                        max_ms: st.max, effective_gflops: s.flopsPerImage * Double(b) / (st.median * 1e6),
                                        dense_winograd_ms: dense?.median, dense_winograd_ratio: result.ratio(0, over: ours),
                                        direct_ms: dir?.median, direct_ratio: result.ratio(1, over: ours),
                                        onnxruntime_ms: o?.median, onnxruntime_ratio: result.ratio(2, over: ours),
                                        onnxruntime_ratio_of_medians: o.map { $0.median / st.median },
                                        deepsparse_ms: stats[3]?.median, deepsparse_ratio: result.ratio(3, over: ours),
                                        deepsparse_dense_ms: stats[4]?.median, deepsparse_dense_ratio: result.ratio(4, over: ours),
                                        onednn_ms: stats[5]?.median, onednn_ratio: result.ratio(5, over: ours), onednn_impl: dnnImpl))
                        if format == .md {
                            FileHandle.standardError.write(Data(String(format: "%@ b%d t%d d%.2f: %.3f ms, %.0f GFLOP/s\n",
                                s.name, b, t, d, st.median, rows.last!.effective_gflops).utf8))
                        }
                    }
                }
            }
        }
        try printRows(rows, format: format)
    }
}

struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model",
        abstract: "Whole-model images/s and per-layer times, optionally against onnxruntime and DeepSparse on the equivalent ONNX model.")
    @Argument(help: "Model file (.swz).")
    var model: String
    @Option(help: "Equivalent ONNX model for the onnxruntime baseline.")
    var onnx: String?
    @Option(help: "Python interpreter with deepsparse installed: adds DeepSparse on the ONNX model, dense and pruned.")
    var deepsparsePython: String?
    @Option(help: "For DeepSparse's pruned run: the fraction of the weights of every Conv but the first and every Gemm/MatMul set to zero (magnitude).")
    var deepsparseSparsity = 0.9
    @Option(help: "Batch size.")
    var batch = 1
    @Option(help: "Threads.")
    var threads = 1
    @Option(help: "Minimum repetitions.")
    var reps = 10

    func run() throws {
        let m = try Model(contentsOf: model, options: .init(threads: threads))
        var rng = SplitMix(state: 3)
        let x = (0..<(batch * m.inputShape.reduce(1, *))).map { _ in Float.random(in: -1...1, using: &rng) }
        for _ in 0..<2 { _ = try m.predict(x, batch: batch) }   // warm-up (first-call setup)
        var out = [Float](repeating: 0, count: batch * m.outputShape.reduce(1, *))
        let ours: Runner = { n in
            try x.withUnsafeBufferPointer { xp in
                try out.withUnsafeMutableBufferPointer { op in try timedRuns(n) { try m.predict(xp, batch: batch, into: op) } }
            }
        }
        // Ours and the baselines in alternating rounds (same machine load for all).
        let ort = onnx == nil ? nil : BaselineServer.onnxruntime()
        let ds = onnx == nil ? nil : deepsparsePython.flatMap { BaselineServer.deepsparse(python: $0) }
        let request: [String: Any] = ["op": "model", "id": "m", "path": onnx ?? "", "shape": [batch] + m.inputShape, "threads": threads]
        let ortLoaded = ort?.load(request) ?? false
        let dsLoaded = ds?.load(request.merging(["id": "m/pruned", "sparsity": deepsparseSparsity]) { $1 }) ?? false
        let dsDenseLoaded = ds?.load(request) ?? false
        let result = try interleaved(reps: reps, [ours, ortLoaded ? ort!.runner("m") : nil, dsLoaded ? ds!.runner("m/pruned") : nil,
                                                   dsDenseLoaded ? ds!.runner("m") : nil])
        let stats = result.stats
        let st = stats[0]!
        var perLayer = [String: [Double]]()
        var order = [(name: String, op: String)]()
        for _ in 0..<max(3, reps / 2) {
            for t in try m.predictWithTimings(x, batch: batch).timings {
                if perLayer[t.name] == nil { order.append((t.name, "\(t.op)")) }
                perLayer[t.name, default: []].append(t.seconds * 1000)
            }
        }
        print("model \(model): batch \(batch), threads \(threads)")
        print(String(format: "wino:        median %.3f ms (%.3f-%.3f), %.1f images/s", st.median, st.min, st.max, Double(batch) * 1000 / st.median))
        if let o = stats[1] {
            print(String(format: "onnxruntime: median %.3f ms (%.3f-%.3f), %.1f images/s; wino is %.2fx faster (timed in alternating rounds: the median of the %d rounds' ratios; the ratio of the medians is %.2fx)",
                         o.median, o.min, o.max, Double(batch) * 1000 / o.median, result.ratio(1, over: 0)!,
                         result.roundMedians[0].count, o.median / st.median))
        }
        for (i, label) in [(2, String(format: "DeepSparse, %.0f%% pruned", deepsparseSparsity * 100)), (3, "DeepSparse, dense")] {
            guard let o = stats[i] else { continue }
            print(String(format: "%@: median %.3f ms (%.3f-%.3f), %.1f images/s; wino is %.2fx faster (median of the rounds' ratios; ratio of the medians %.2fx)",
                         label as NSString, o.median, o.min, o.max, Double(batch) * 1000 / o.median, result.ratio(i, over: 0)!, o.median / st.median))
        }
        print("per layer (median ms):")
        for (name, op) in order {
            let label = "\(name) (\(op))"
            print("  " + label.padding(toLength: max(28, label.count), withPad: " ", startingAt: 0)
                  + String(format: "%8.3f", Stats(perLayer[name]!).median))
        }
    }
}

WinoBench.main()
