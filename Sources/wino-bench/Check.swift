// wino-bench check: every convolution kernel variant this CPU can run, against the Double
// reference, on edge-case shapes, with bit-identity across thread counts.
import ArgumentParser
import CWinoKernels
import Foundation
import WinoEngine
import WinoFormat
import WinoReference

/// Verifies the kernels on this CPU: for each instruction set it supports (AVX-512 included,
/// whatever WINO_AVX512 says; with --emulate-avx512, the AVX-512 body compiled for AVX2 where
/// the CPU lacks AVX-512), each case runs with 1..N threads, must match the Double reference
/// within tolerance and give the same bits for every thread count; a hash of its output bits
/// lets runs on different machines be compared.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Checks every kernel variant this CPU supports against the Double reference and across thread counts.")

    @Option(help: "Comma-separated thread counts (first one gives the bits the others must equal).")
    var threads = "1,2,3,4,8,16"

    @Flag(help: "On a CPU with AVX2 but not AVX-512, also run the AVX-512 kernels' body compiled for AVX2 (wk_emulate_avx512). Its output hashes equal those of a real AVX-512 run.")
    var emulateAvx512 = false

    struct Case {
        var name: String, c: Int, k: Int, h: Int, w: Int, r: Int, pad: Int, groups: Int
        var stride = 1
        var tile: WinogradVariant?
        var density: Double
        var batch: Int
    }

    static let cases: [Case] = [
        Case(name: "F2 3x3 odd", c: 19, k: 37, h: 23, w: 21, r: 3, pad: 1, groups: 1, tile: .f2x2_3x3, density: 0.1, batch: 2),
        Case(name: "F2 3x3 dense", c: 19, k: 37, h: 23, w: 21, r: 3, pad: 1, groups: 1, tile: .f2x2_3x3, density: 1, batch: 1),
        Case(name: "F4 3x3 sparse", c: 33, k: 40, h: 27, w: 29, r: 3, pad: 1, groups: 1, tile: .f4x4_3x3, density: 0.1, batch: 2),
        Case(name: "F4 3x3 empty", c: 8, k: 9, h: 13, w: 13, r: 3, pad: 1, groups: 1, tile: .f4x4_3x3, density: 0, batch: 1),
        Case(name: "F4 3x3 dense", c: 33, k: 40, h: 27, w: 29, r: 3, pad: 1, groups: 1, tile: .f4x4_3x3, density: 1, batch: 1),
        Case(name: "F4 3x3 groups", c: 32, k: 48, h: 14, w: 14, r: 3, pad: 1, groups: 2, tile: .f4x4_3x3, density: 0.3, batch: 3),
        Case(name: "F4 3x3 wide", c: 16, k: 32, h: 70, w: 150, r: 3, pad: 1, groups: 1, tile: .f4x4_3x3, density: 0.1, batch: 1),
        Case(name: "F4 3x3 narrow", c: 16, k: 20, h: 40, w: 9, r: 3, pad: 1, groups: 1, tile: .f4x4_3x3, density: 0.5, batch: 2),
        Case(name: "F4 5x5 groups", c: 24, k: 40, h: 27, w: 27, r: 5, pad: 2, groups: 2, tile: .f4x4_5x5, density: 0.1, batch: 2),
        Case(name: "direct 11x11 s4", c: 3, k: 16, h: 67, w: 67, r: 11, pad: 0, groups: 1, stride: 4, tile: nil, density: 1, batch: 2),
        Case(name: "direct 1x1", c: 40, k: 24, h: 15, w: 17, r: 1, pad: 0, groups: 1, tile: nil, density: 1, batch: 2),
    ]

    func graph(_ t: Case) -> ModelGraph {
        var rng = SplitMix(state: UInt64(t.c * 1000 + t.k))
        let cg = t.c / t.groups
        let w: Tensor
        if let tile = t.tile {
            let a = tile.alpha
            var u = (0..<(a * a * t.k * cg)).map { _ in Float.random(in: -1...1, using: &rng) }
            for i in u.indices where Double.random(in: 0..<1, using: &rng) >= t.density { u[i] = 0 }
            w = t.density < 1
                ? Tensor(name: "w", shape: [a, a, t.k, cg], winograd: tile, data: .csr(CSRMatrix(dense: u, rows: a * a * t.k, cols: cg)))
                : Tensor(name: "w", shape: [a, a, t.k, cg], winograd: tile, data: .dense(u))
        } else {
            w = Tensor(name: "w", shape: [t.k, cg, t.r, t.r],
                       data: .dense((0..<(t.k * cg * t.r * t.r)).map { _ in Float.random(in: -1...1, using: &rng) }))
        }
        let b = Tensor(name: "b", shape: [t.k], data: .dense((0..<t.k).map { _ in Float.random(in: -1...1, using: &rng) }))
        let p = Int64(t.pad)
        var attrs: [String: AttributeValue] = ["pads": .ints([p, p, p, p]), "group": .int(Int64(t.groups)), "relu": .int(0)]
        if t.tile == nil { attrs["strides"] = .ints([Int64(t.stride), Int64(t.stride)]) }
        let node = Node(name: "conv", op: t.tile == nil ? .conv : .winogradConv, inputs: ["x"], output: "y",
                        weights: ["w", "b"], attributes: attrs)
        let meta = ModelMetadata(name: t.name, inputShape: [t.c, t.h, t.w], channelOrder: .tensor)
        return ModelGraph(metadata: meta, input: "x", output: "y", nodes: [node], tensors: [w, b])
    }

    func run() throws {
        let ths = threads.split(separator: ",").compactMap { Int($0) }
        guard !ths.isEmpty else { throw ValidationError("no thread counts") }
        wk_emulate_avx512(emulateAvx512 ? 1 : 0)
        defer { wk_emulate_avx512(0) }
        wk_limit_isa(2)
        let cpuMax = Int(wk_isa())
        let emulated = wk_avx512_emulated() != 0
        wk_reset_isa()
        print("CPU supports up to instruction set \(cpuMax)\(emulated ? " (AVX-512 emulated with AVX2)" : "") (0 portable, 1 AVX2+FMA, 2 AVX-512); threads \(ths)")
        print("Output hash: FNV-1a of the output's bits; the same case and instruction set give the same hash on every machine.")
        print("| case | isa | rel L2 vs Double reference | tolerance | bits equal across threads | output hash |")
        print("|---|---|---|---|---|---|")
        var failures = 0
        for t in Self.cases {
            let g = graph(t)
            var rng = SplitMix(state: 99)
            let x = (0..<(t.batch * t.c * t.h * t.w)).map { _ in Float.random(in: -1...1, using: &rng) }
            let want = try ReferenceExecutor(graph: g).run(x, batch: t.batch)
            let tol = t.r == 5 ? 3e-5 : 1e-5
            for isa in 0...cpuMax {
                wk_limit_isa(Int32(isa))
                defer { wk_reset_isa() }
                var first: [Float]?
                var same = true
                var worst = 0.0
                for th in ths {
                    let m = try Model(graph: g, options: .init(threads: th))
                    let got = try m.predict(x, batch: t.batch)
                    var num = 0.0, den = 0.0
                    for i in got.indices { num += (Double(got[i]) - want[i]) * (Double(got[i]) - want[i]); den += want[i] * want[i] }
                    worst = max(worst, (num / max(den, 1e-300)).squareRoot())
                    if let f = first { same = same && f.elementsEqual(got) { $0.bitPattern == $1.bitPattern } } else { first = got }
                }
                let ok = worst <= tol && same
                if !ok { failures += 1 }
                var hash: UInt64 = 0xcbf2_9ce4_8422_2325
                for v in first ?? [] { hash = (hash ^ UInt64(v.bitPattern)) &* 0x100_0000_01b3 }
                let label = isa == 2 && emulated ? "2 (emulated)" : "\(isa)"
                print("| \(t.name) | \(label) | \(String(format: "%.2e", worst)) | \(tol) | \(same ? "yes" : "NO")\(ok ? "" : " FAIL") | \(String(format: "%016llx", hash)) |")
            }
        }
        print(failures == 0 ? "all checks passed" : "\(failures) checks FAILED")
        if failures > 0 { throw ExitCode(1) }
    }
}
