// wino-bench ceiling: the most the sparse product can reach on this core. The product kernel
// the layers use (`wk_product_ceiling`: this instruction set's, 8-bit channel indices) runs
// alone on one Winograd position whose V (16 KiB), weights and M (20-38 KiB together) stay in
// or next to the L1 (32 KiB here): no input or output transform, no misses beyond the L2, no
// threads. What remains is the kernel's own cost per
// entry (the column index, the weight's broadcast, one FMA per vector of tiles) and per row
// (partial sums, their reduction, the store), so the figure depends on the block width (tiles
// per row of V) and the row length. `wino-bench efficiency` measures the layers' products
// against the FMA peak; this says how much of that peak the kernel's structure leaves them.
import ArgumentParser
import CWinoKernels
import Foundation

/// One row of the ceiling table.
struct CeilingRow: Codable {
    var tiles: Int
    var channels: Int
    var row_length: Int
    var rows: Int
    var gflops: Double
    var peak_gflops: Double
    var of_peak: Double
}

struct Ceiling: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Single-thread ceiling of the sparse product: its kernel alone on data in or next to the L1, against the measured FMA peak.")

    @Option(help: "Comma-separated block widths (tiles per row of V): 16, 32 or 64.")
    var tiles = "16,32,64"
    @Option(help: "Comma-separated entries per CSR row (at most the channels: 4096 / tiles, at most 256).")
    var rowLengths = "16,48,128"
    @Option(help: "Rounds per row (each a short FMA-peak burst and 40 kernel samples of 16 calls); the fastest counts.")
    var rounds = 41
    @Option(help: "Output format: md, csv or json.")
    var format: OutputFormat = .md

    /// GFLOP/s of one short burst of independent FMA chains (about 1 ms with AVX2).
    static func burstGflops() -> Double {
        var sink = [Float](repeating: 1, count: 16)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let flops = wk_fma_burn(500_000, &sink)
        return flops / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) / 1e9
    }

    /// CSR rows per call: with rows of 48 entries their weights (5 bytes an entry) take 7.5 KiB.
    static let rows = 32

    func run() throws {
        let widths = tiles.split(separator: ",").compactMap { Int($0) }
        let lengths = rowLengths.split(separator: ",").compactMap { Int($0) }
        guard !widths.isEmpty, widths.allSatisfy({ [16, 32, 64].contains($0) }) else {
            throw ValidationError("--tiles takes 16, 32 and 64")
        }
        guard !lengths.isEmpty, lengths.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--row-lengths must be >= 1") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be >= 1") }
        guard wk_isa() != 0 else {
            throw ValidationError("the portable kernels are in use (no AVX2 or AVX-512): no SIMD product to measure")
        }
        // This machine's speed drifts between phases lasting seconds, and a phase can slow
        // the FMA units more than the kernel's loads (or the reverse), so the ratio of two
        // figures from the same moment is no steadier than either. A ceiling is the best the
        // kernel can do: each row takes the fastest of its samples, spread over rounds, and the
        // peak is the fastest FMA burst of all rounds (bursts of about 1 ms beside the samples).
        let perRound = 40
        var rows = [CeilingRow]()
        var peak = 0.0
        for t in widths {
            // V of channels x t floats: 16 KiB, half the L1 of the machines we measured.
            let channels = min(256, 4096 / t)
            for len in Set(lengths.map { min($0, channels) }).sorted() {
                var best = 0.0
                for _ in 0..<rounds {
                    peak = max(peak, Ceiling.burstGflops())
                    let seconds = wk_product_ceiling(Int32(t), Int32(channels), Int32(len), Int32(Ceiling.rows), Int32(perRound))
                    guard seconds > 0 else {
                        throw ValidationError(seconds == -2
                            ? "the product kernel gave wrong sums (tiles \(t), row length \(len)): not a ceiling"
                            : "wk_product_ceiling refused tiles \(t), row length \(len)")
                    }
                    best = max(best, 2 * Double(Ceiling.rows * len * t) / seconds / 1e9)
                }
                rows.append(CeilingRow(tiles: t, channels: channels, row_length: len, rows: Ceiling.rows, gflops: best,
                                       peak_gflops: 0, of_peak: 0))
            }
        }
        for i in rows.indices {
            rows[i].peak_gflops = peak
            rows[i].of_peak = rows[i].gflops / peak
        }
        switch format {
        case .json:
            try printJSON(rows)
        case .csv:
            print("tiles,channels,row_length,rows,gflops,peak_gflops,of_peak")
            for r in rows {
                print(String(format: "%d,%d,%d,%d,%.2f,%.2f,%.3f", r.tiles, r.channels, r.row_length, r.rows, r.gflops,
                             r.peak_gflops, r.of_peak))
            }
        case .md:
            print(String(format: "Measured FMA peak, one thread (%@): %.1f GFLOP/s", String(cString: wk_isa_name()), rows.first?.peak_gflops ?? 0))
            print("")
            print("| tiles per block | channels | entries per row | GFLOP/s | of FMA peak |")
            print("|---|---|---|---|---|")
            for r in rows {
                print(String(format: "| %d | %d | %d | %.1f | %.0f%% |", r.tiles, r.channels, r.row_length, r.gflops, r.of_peak * 100))
            }
        }
    }
}
