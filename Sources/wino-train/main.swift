// wino-train: train and natively prune Winograd-domain CNNs on IDX data (MNIST, Fashion-MNIST),
// evaluate models with the inference engine, and make the one-shot pruning baselines.
import ArgumentParser
import Foundation
import WinoEngine
import WinoFormat
import WinoTrain

struct WinoTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wino-train",
        abstract: "Trains and natively prunes Winograd-domain CNNs; evaluates models.",
        subcommands: [Fit.self, Eval.self, Prune.self])
}

let fashionLabels = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

func stderr(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

func loadModel(_ path: String) throws -> ModelGraph { try SWZReader.read(path: path) }

func writeModel(_ g: ModelGraph, _ path: String) throws {
    try SWZWriter.write(g, to: path)
}

/// Prints an evaluation: accuracy and the confusion matrix with class labels.
func report(_ r: EvaluationResult, labels: [String]) {
    print(String(format: "accuracy %.2f%% (%d images)", r.accuracy * 100, r.count))
    print("confusion matrix (rows: true class, columns: predicted):")
    let names = (0..<r.confusion.count).map { $0 < labels.count ? labels[$0] : "class \($0)" }
    let w = max(12, names.map(\.count).max() ?? 0)
    print("".padding(toLength: w, withPad: " ", startingAt: 0) + (0..<names.count).map { String(format: "%6d", $0) }.joined())
    for (i, row) in r.confusion.enumerated() {
        print(names[i].padding(toLength: w, withPad: " ", startingAt: 0) + row.map { String(format: "%6d", $0) }.joined())
    }
}

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a model (from an architecture or an existing model), optionally natively pruned.")

    @Option(help: "Folder with the four IDX files (train-images-idx3-ubyte.gz, ...).")
    var data = "/usr/share/datasets/fashion-mnist"
    @Option(help: ArgumentHelp("Architecture of a new model.", discussion: Trainer.architectureHelp))
    var arch: String?
    @Option(name: .customLong("init"), help: "Start from this model (.swz) instead of --arch.")
    var initModel: String?
    @Option(help: "With --init: direct convolutions to make Winograd-domain layers: auto, none or comma-separated node names.")
    var winograd = "none"
    @Option(help: "Winograd tile of converted 3x3 convolutions: f2 (F(2x2,3x3)) or f4 (F(4x4,3x3), needs a far lower --lr).")
    var tile = "f2"
    @Option(help: "Epochs.")
    var epochs = 10
    @Option(help: "Winograd-domain sparsity each Winograd layer must reach (native pruning), e.g. 0.9.")
    var targetSparsity: Double?
    @Option(help: "Per-layer target overriding --target-sparsity, NAME=S (repeatable), e.g. conv3=0.95.")
    var layerSparsity: [String] = []
    @Option(help: "Epochs of the pruning phase before fine-tuning with the mask frozen (default: half).")
    var pruneEpochs: Int?
    @Option(help: "Mini-batch size.")
    var batch = 64
    @Option(help: "Peak learning rate (cosine decay).")
    var lr = 0.02
    @Option(help: "Momentum.")
    var momentum = 0.9
    @Option(help: "L2 weight decay.")
    var weightDecay = 5e-4
    @Option(help: "L1 strength on Winograd weights while pruning.")
    var l1 = 5e-5
    @Option(help: "Seed (weights and shuffles).")
    var seed: UInt64 = 1
    @Option(help: "Threads (results do not depend on it).")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Stop after this many steps (smoke runs).")
    var maxSteps: Int?
    @Option(help: "Use only the first N training images.")
    var trainLimit: Int?
    @Option(help: "Evaluate on only the first N test images after each epoch.")
    var testLimit: Int?
    @Option(help: "Write a checkpoint into this folder after every epoch.")
    var checkpoint: String?
    @Option(help: "Continue from the checkpoint in this folder.")
    var resume: String?
    @Option(name: .shortAndLong, help: "Output model (.swz).")
    var output: String
    @Option(help: "Metadata property KEY=VALUE to store in the model (repeatable), e.g. description=... or licence=...")
    var property: [String] = []
    @Option(help: "Model name stored in the file (default: kept from --init, else 'wino-train model').")
    var name: String?

    mutating func validate() throws {
        for p in property where !p.contains("=") || p.hasPrefix("=") { throw ValidationError("--property '\(p)' is not KEY=VALUE with a non-empty KEY") }
        if resume == nil && (arch == nil) == (initModel == nil) { throw ValidationError("give exactly one of --arch and --init (or --resume)") }
        if let s = targetSparsity, !(0..<1).contains(s) { throw ValidationError("--target-sparsity must be in [0, 1)") }
        guard epochs > 0, batch > 0, threads > 0 else { throw ValidationError("--epochs, --batch and --threads must be positive") }
        guard epochs <= 1_000_000 else { throw ValidationError("--epochs must be at most 1000000") }
        guard batch <= 1 << 16 else { throw ValidationError("--batch must be at most 65536") }
        guard threads <= 256 else { throw ValidationError("--threads must be in 1...256") }
        if let p = pruneEpochs, !(0...epochs).contains(p) { throw ValidationError("--prune-epochs must be in 0...--epochs") }
        guard lr.isFinite && lr > 0 else { throw ValidationError("--lr must be a finite number > 0") }
        guard momentum.isFinite && (0..<1).contains(momentum) else { throw ValidationError("--momentum must be in [0, 1)") }
        guard weightDecay.isFinite && weightDecay >= 0 else { throw ValidationError("--weight-decay must be a finite number >= 0") }
        guard l1.isFinite && l1 >= 0 else { throw ValidationError("--l1 must be a finite number >= 0") }
        guard ["f2", "f4"].contains(tile) else { throw ValidationError("--tile must be f2 or f4") }
    }

    func run() throws {
        let trainer: Trainer
        if let r = resume {
            trainer = try Trainer.resume(r, threads: threads)
            stderr("resuming from \(r) after epoch \(trainer.epochsDone)\n")
        } else if let a = arch {
            var meta = ModelMetadata(name: "wino-train model", inputShape: [1, 28, 28], channelOrder: .gray, pixelRange: 1,
                                     mean: [0.2860], scale: [1 / 0.3530], labels: fashionLabels)
            meta.properties["architecture"] = a
            trainer = try Trainer(architecture: a, metadata: meta, seed: seed, threads: threads)
        } else {
            trainer = try Trainer(model: try loadModel(initModel!), winograd: winograd, tile: tile, threads: threads)
        }
        var (train, test) = try IDX.loadSplits(dir: data)
        if let n = trainLimit { train = train.prefix(n) }
        if let n = testLimit { test = test.prefix(n) }
        var config = TrainConfig()
        config.epochs = epochs; config.batchSize = batch; config.learningRate = lr; config.momentum = momentum
        config.weightDecay = weightDecay; config.l1 = l1; config.seed = seed; config.threads = threads
        config.targetSparsity = targetSparsity; config.pruneEpochs = pruneEpochs; config.maxSteps = maxSteps
        for l in layerSparsity {
            let kv = l.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let v = Double(kv[1]), (0..<1).contains(v) else {
                throw ValidationError("--layer-sparsity '\(l)' is not NAME=S with S in [0, 1)")
            }
            config.layerSparsity[kv[0]] = v
        }
        if !layerSparsity.isEmpty && targetSparsity == nil { throw ValidationError("--layer-sparsity needs --target-sparsity") }
        let tty = isatty(2) != 0
        var lastLine = Date.distantPast
        let start = Date()
        try trainer.fit(train: train, test: test, config: config, progress: { p in
            let sp = p.sparsity.map { String(format: "%@ %.1f%%", $0.0, $0.1 * 100) }.joined(separator: " ")
            var line = String(format: "epoch %d/%d step %d/%d [%@] loss %.4f acc %.2f%% %@%.0f img/s",
                              p.epoch, p.epochs, p.step, p.steps, p.phase, p.loss, p.accuracy * 100,
                              sp.isEmpty ? "" : "sparsity " + sp + " ", p.imagesPerSecond)
            if let t = p.testAccuracy {
                line += String(format: " | test acc %.2f%% | %.0f s", t * 100, Date().timeIntervalSince(start))
                stderr((tty ? "\r\u{1B}[K" : "") + line + "\n")
            } else if tty, Date().timeIntervalSince(lastLine) > 0.2 || p.step == p.steps {
                stderr("\r\u{1B}[K" + line); lastLine = Date()
            } else if !tty, p.step % 200 == 0 {
                stderr(line + "\n")
            }
        }, endOfEpoch: { _ in
            if let c = checkpoint { try trainer.saveCheckpoint(c) }
        })
        if tty { stderr("\n") }
        // Evaluate the written model with the inference engine, and record the figures in it.
        var g = trainer.export()
        let r = try Evaluation.evaluate(try Model(graph: g, options: .init(threads: threads)), graph: g, data: test)
        g.metadata.properties["provenance"] = "wino-train " + CommandLine.arguments.dropFirst().joined(separator: " ")
        if let n = name { g.metadata.name = n }
        for p in property {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            g.metadata.properties[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        g.metadata.properties["test_accuracy"] = String(format: "%.4f", r.accuracy)
        g.metadata.properties["test_images"] = "\(r.count)"
        for l in trainer.layerSummary { if let s = l.winogradSparsity { g.metadata.properties["sparsity." + l.name] = String(format: "%.4f", s) } }
        try writeModel(g, output)
        for l in trainer.layerSummary {
            print(String(format: "%-10@ %9d parameters", l.name as NSString, l.parameters)
                  + (l.winogradSparsity.map { String(format: ", Winograd-domain sparsity %.2f%%", $0 * 100) } ?? ""))
        }
        print(String(format: "test accuracy %.2f%% (%d images, engine); %.0f s; wrote %@", r.accuracy * 100, r.count,
                     Date().timeIntervalSince(start), output))
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Accuracy and confusion matrix of a model on the IDX test set.")
    @Argument(help: "Model file (.swz).")
    var model: String
    @Option(help: "Folder with t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz].")
    var data = "/usr/share/datasets/fashion-mnist"
    @Option(help: "Evaluate only the first N test images.")
    var limit: Int?
    @Option(help: "Threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be in 1...256") }
        if let n = limit, n < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let g = try loadModel(model)
        var test = try IDX.loadTest(dir: data)
        if let n = limit { test = test.prefix(n) }
        let r = try Evaluation.evaluate(try Model(graph: g, options: .init(threads: threads)), graph: g, data: test)
        report(r, labels: g.metadata.labels)
    }
}

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One-shot pruning without retraining (the baselines of native pruning).",
        discussion: "winograd: convert the chosen direct convolutions to the Winograd domain, then keep the largest-magnitude weights. spatial: prune the spatial filters by magnitude so that their Winograd transforms have at most the density, then transform.")
    @Option(name: .customLong("init"), help: "Model with direct convolutions (.swz).")
    var initModel: String
    @Option(help: "Direct convolutions to convert: auto or comma-separated node names.")
    var winograd = "auto"
    @Option(help: "Winograd tile of converted 3x3 convolutions: f2 or f4.")
    var tile = "f2"
    @Option(help: "winograd or spatial.")
    var method = "winograd"
    @Option(help: "Winograd-domain density to keep, e.g. 0.1.")
    var density: Double
    @Option(name: .shortAndLong, help: "Output model (.swz).")
    var output: String
    @Option(help: "Model name stored in the file (default: kept from --init).")
    var name: String?

    func validate() throws {
        guard (0...1).contains(density) else { throw ValidationError("--density must be in [0, 1]") }
        guard ["winograd", "spatial"].contains(method) else { throw ValidationError("--method must be winograd or spatial") }
        guard ["f2", "f4"].contains(tile) else { throw ValidationError("--tile must be f2 or f4") }
    }

    func run() throws {
        let src = try loadModel(initModel)
        let t = try Trainer(model: src, winograd: winograd, tile: tile, threads: 1)
        let used = try t.pruneOneShot(method: method, density: density, spatialSource: src)
        var g = t.export()
        if let n = name { g.metadata.name = n }
        try writeModel(g, output)
        for l in t.layerSummary {
            if let s = l.winogradSparsity {
                print(String(format: "%@: Winograd-domain density %.2f%%", l.name, (1 - s) * 100)
                      + (used[l.name].map { String(format: " (spatial density %.2f%%)", $0 * 100) } ?? ""))
            }
        }
        print("wrote \(output)")
    }
}

do {
    var command = try WinoTrainCommand.parseAsRoot()
    try command.run()
} catch let e as TrainError {
    stderr("Error: \(e)\n"); exit(1)
} catch let e as DataError {
    stderr("Error: \(e)\n"); exit(1)
} catch let e as FormatError {
    stderr("Error: \(e)\n"); exit(1)
} catch {
    WinoTrainCommand.exit(withError: error)
}
