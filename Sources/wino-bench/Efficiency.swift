// wino-bench efficiency: how close the sparse product comes to the FMA peak.
// The product's time is the layer's time at the given density minus the time of the same
// layer keeping one weight per position and group that has any (`baselineWeights`): the same
// shapes, blocks and input transform (the engine transforms only positions with weights),
// the output transform, almost no product. Its FLOPs are counted on the nonzeros the
// baseline lacks: 2 x (nnz - baseline nnz) x tiles (real tiles, not padded lanes).
// The peak is measured on this thread with independent FMA chains (wk_fma_burn).
import ArgumentParser
import CWinoKernels
import Foundation
import WinoEngine
import WinoFormat

/// One row of the efficiency table.
struct EfficiencyRow: Codable {
    var layer: String
    var batch: Int
    var density: Double
    var nnz: Int
    var layer_ms: Double
    var no_product_ms: Double
    var product_share: Double
    var product_gflops: Double
    var peak_gflops: Double
    var product_efficiency: Double
}

struct Efficiency: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Single-thread sparse-product efficiency: GFLOP/s on the nonzeros against the measured FMA peak.")

    @Option(help: "Comma-separated layer names (default: all).")
    var layers: String?
    @Option(help: "Winograd-domain density.")
    var density = 0.1
    @Option(help: "Comma-separated batch sizes.")
    var batches = "1,8"
    @Option(help: "Minimum repetitions per measurement.")
    var reps = 10
    @Option(name: .customLong("min-seconds"), help: "Minimum time per measurement: pairs of runs go on until both minimums are met.")
    var minSeconds = 0.5
    @Option(help: "Output format: md, csv or json.")
    var format: OutputFormat = .md

    /// Winograd-domain weights `u` ([alpha, alpha, K, C / groups]) reduced to their first nonzero
    /// in each (position, group): the layer then stores V for the same positions as with `u`
    /// (a position no row of a group uses is not transformed) but computes almost no product.
    /// (With no weights at all, no position would be transformed, and the input transform's V
    /// stores would count as product time.)
    static func baselineWeights(_ u: [Float], shape s: ConvShape, alpha: Int) -> [Float] {
        let cg = s.c / s.groups, kg = s.k / s.groups
        var out = [Float](repeating: 0, count: u.count)
        for xi in 0..<(alpha * alpha) {
            for g in 0..<s.groups {
                let lo = (xi * s.k + g * kg) * cg, hi = lo + kg * cg
                if let i = u[lo..<hi].firstIndex(where: { $0 != 0 }) { out[i] = u[i] }
            }
        }
        return out
    }

    /// Measured single-thread FMA peak (GFLOP/s) of the kernels' instruction set: the best of 5 runs.
    static func peakGflops() -> Double {
        var sink = [Float](repeating: 1, count: 16)
        var best = 0.0
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let flops = wk_fma_burn(20_000_000, &sink)
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, flops / dt / 1e9)
        }
        return best
    }

    func run() throws {
        let names = layers.map { Set($0.split(separator: ",").map(String.init)) }
        let shapes = ConvShape.all.filter { names?.contains($0.name) ?? true }
        guard !shapes.isEmpty else { throw ValidationError("no known layer selected") }
        guard reps >= 1 else { throw ValidationError("--reps must be >= 1") }
        guard minSeconds.isFinite && minSeconds >= 0 && minSeconds <= 3600 else { throw ValidationError("--min-seconds must be in 0...3600") }
        let bs = batches.split(separator: ",").compactMap { Int($0) }
        let peak = Efficiency.peakGflops()
        var rows = [EfficiencyRow]()
        for s in shapes {
            let variant: WinogradVariant = s.r == 5 ? .f4x4_5x5 : .f4x4_3x3
            let w = prunedWinogradWeights(s, tile: variant, density: density, seed: 42)
            let base = Efficiency.baselineWeights(w.winograd, shape: s, alpha: variant.alpha)
            let nnz = w.winograd.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } - base.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
            let m = variant.m
            let tiles = ((s.h + m - 1) / m) * ((s.w + m - 1) / m)
            for b in bs {
                var rng = SplitMix(state: 7)
                let x = (0..<(b * s.c * s.h * s.w)).map { _ in Float.random(in: -1...1, using: &rng) }
                let full = try Model(graph: layerGraph(s, tile: variant, weights: w, density: density, direct: false),
                                     options: .init(threads: 1, checksOutput: false))
                let empty = try Model(graph: layerGraph(s, tile: variant, weights: (w.spatial, base), density: density, direct: false),
                                      options: .init(threads: 1, checksOutput: false))
                var out = [Float](repeating: 0, count: b * full.outputShape.reduce(1, *))
                // Interleaved runs, so that both see the same machine noise.
                var tf = [Double](), te = [Double]()
                // At least `reps` pairs over at least `minSeconds`: this machine's speed changes
                // in phases of seconds, and 10 pairs of a 0.3 ms layer all fell in one of them
                // (three runs of AlexNet conv2 and VGG16 conv4_1 minutes apart: 27-31% and 33-47%).
                let start = DispatchTime.now().uptimeNanoseconds
                func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
                try x.withUnsafeBufferPointer { xp in
                    try out.withUnsafeMutableBufferPointer { op in
                        var i = 0
                        while i < reps + 2 || (elapsed() < minSeconds && i < 100_000) {
                            defer { i += 1 }
                            for (model, isFull) in [(full, true), (empty, false)] {
                                let t0 = DispatchTime.now().uptimeNanoseconds
                                try model.predict(xp, batch: b, into: op)
                                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                                if i >= 2 { if isFull { tf.append(dt) } else { te.append(dt) } }
                            }
                        }
                    }
                }
                // The product's time: the median over adjacent pairs of their difference (both
                // calls of a pair see the same machine speed; the difference of the two medians
                // mixed fast and slow phases of this machine and once gave 98% of peak).
                let layerMs = Stats(tf).median, emptyMs = Stats(te).median
                let productMs = max(Stats(zip(tf, te).map { $0 - $1 }).median, 1e-9)
                let gflops = 2 * Double(nnz) * Double(tiles * b) / (productMs * 1e6)
                rows.append(EfficiencyRow(layer: s.name, batch: b, density: density, nnz: nnz, layer_ms: layerMs,
                                          no_product_ms: emptyMs, product_share: productMs / layerMs,
                                          product_gflops: gflops, peak_gflops: peak, product_efficiency: gflops / peak))
            }
        }
        switch format {
        case .json:
            try printJSON(rows)
        case .csv:
            print("layer,batch,density,nnz,layer_ms,no_product_ms,product_share,product_gflops,peak_gflops,product_efficiency")
            for r in rows {
                print(String(format: "%@,%d,%.2f,%d,%.4f,%.4f,%.3f,%.2f,%.2f,%.3f", r.layer, r.batch, r.density, r.nnz, r.layer_ms,
                             r.no_product_ms, r.product_share, r.product_gflops, r.peak_gflops, r.product_efficiency))
            }
        case .md:
            print(String(format: "Measured FMA peak, one thread (%@): %.1f GFLOP/s", String(cString: wk_isa_name()), peak))
            print("")
            print("| layer | batch | density | nonzeros | layer ms | without product ms | product share | product GFLOP/s (nonzeros) | of FMA peak |")
            print("|---|---|---|---|---|---|---|---|---|")
            for r in rows {
                print(String(format: "| %@ | %d | %.2f | %d | %.3f | %.3f | %.0f%% | %.1f | %.0f%% |", r.layer, r.batch, r.density, r.nnz,
                             r.layer_ms, r.no_product_ms, r.product_share * 100, r.product_gflops, r.product_efficiency * 100))
            }
        }
    }
}
