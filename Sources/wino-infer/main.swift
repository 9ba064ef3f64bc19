// wino-infer IMAGE MODEL: classify a Netpbm image with a .swz model.
import ArgumentParser
import Foundation
import WinoEngine
import WinoFormat

struct WinoInfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wino-infer",
        abstract: "Classify an image (PPM/PGM) with a sparse Winograd model (.swz).",
        discussion: "Prints the top classes as `rank  label  probability`. Exit status 1 on any error.")

    @Argument(help: "Image file: PPM (P6/P3) for colour models, PGM (P5/P2) for grayscale models.")
    var image: String

    @Argument(help: "Model file (.swz).")
    var model: String

    @Option(name: .long, help: "Number of classes to print.")
    var top: Int = 5

    @Option(name: .long, help: "Threads per prediction.")
    var threads: Int = 1

    @Flag(name: .long, help: "Print machine-readable JSON (top classes with index, label, probability; timings).")
    var json = false

    @Flag(name: .long, help: "Print per-layer timings.")
    var time = false

    @Flag(name: .long, help: "Print how each layer is executed (backend, fusions, sparsity).")
    var explain = false

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be in 1...256") }
    }

    func run() throws {
        do {
            try classify()
        } catch let e as ExitCode {
            throw e
        } catch {
            var message = "\(error)"
            if image.hasSuffix(".swz") && !model.hasSuffix(".swz") {
                message += " (arguments are IMAGE MODEL: did you swap them?)"
            }
            FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
            throw ExitCode(1)
        }
    }

    func classify() throws {
        let t0 = Date()
        let net: Model
        do {
            net = try Model(contentsOf: model, options: .init(threads: threads))
        } catch let e as FormatError {
            throw ToolError(e.message.contains(model) ? e.message : "\(model): \(e.message)")
        }
        let t1 = Date()
        let picture = try PPMDecoder.read(path: image)
        let input = try Preprocess.tensor(from: picture, metadata: net.metadata)
        let t2 = Date()
        let (scores, timings) = try net.predictWithTimings(input)
        let t3 = Date()
        let best = Model.topClasses(scores, labels: net.metadata.labels, top: top)
        let ms = { (a: Date, b: Date) in b.timeIntervalSince(a) * 1000 }

        if json {
            let out = Output(
                model: model, image: image,
                top: best.enumerated().map { Entry(rank: $0.offset + 1, index: $0.element.index, label: $0.element.label,
                                                   probability: Double($0.element.probability)) },
                timing: Timing(load_ms: ms(t0, t1), preprocess_ms: ms(t1, t2), inference_ms: ms(t2, t3)),
                layers: time ? timings.map { LayerOut(name: $0.name, op: "\($0.op)", ms: $0.seconds * 1000) } : nil,
                explain: explain ? net.layerDescriptions : nil)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(out), as: UTF8.self))
            return
        }
        if explain {
            print("model: \(net.metadata.name), input \(net.inputShape), \(threads) thread(s)")
            for line in net.layerDescriptions { print("  " + line) }
            print("")
        }
        let width = max(5, best.map { $0.label.count }.max() ?? 5)
        for (i, c) in best.enumerated() {
            let label = c.label.padding(toLength: width, withPad: " ", startingAt: 0)
            print("\(i + 1)  \(label)  \(String(format: "%.4f", c.probability))")
        }
        if time {
            print("")
            print(String(format: "load %.2f ms, preprocess %.2f ms, inference %.3f ms", ms(t0, t1), ms(t1, t2), ms(t2, t3)))
            for t in timings {
                print(String(format: "  %-16@ %-16@ %9.3f ms", t.name as NSString, "\(t.op)" as NSString, t.seconds * 1000))
            }
        }
    }
}

struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

struct Entry: Encodable { var rank: Int; var index: Int; var label: String; var probability: Double }
struct Timing: Encodable { var load_ms: Double; var preprocess_ms: Double; var inference_ms: Double }
struct LayerOut: Encodable { var name: String; var op: String; var ms: Double }
struct Output: Encodable {
    var model: String; var image: String; var top: [Entry]; var timing: Timing
    var layers: [LayerOut]?; var explain: [String]?
}

WinoInfer.main()
