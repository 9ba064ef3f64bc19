// Training loop: shuffled mini-batches, SGD with a cosine learning rate, native pruning to a
// target sparsity then fine-tuning with the zero mask frozen; deterministic for a seed.
import Foundation
import WinoFormat
import WinoKernels

/// Settings of one `fit`.
public struct TrainConfig: Sendable {
    /// Passes over the training set.
    public var epochs = 10
    /// Samples per step.
    public var batchSize = 64
    /// Peak learning rate (cosine decay to zero over all steps).
    public var learningRate = 0.02
    /// SGD momentum.
    public var momentum = 0.9
    /// L2 weight decay on weights (not biases).
    public var weightDecay = 5e-4
    /// Seed of the shuffles (and of fresh weights).
    public var seed: UInt64 = 1
    /// Threads (the results do not depend on it).
    public var threads = 1
    /// Winograd-domain sparsity every Winograd layer must reach; nil trains without pruning.
    public var targetSparsity: Double?
    /// Per-layer targets overriding `targetSparsity`, by layer (node) name.
    public var layerSparsity: [String: Double] = [:]
    /// Epochs of the pruning phase (the rest fine-tunes with the mask frozen); default half.
    public var pruneEpochs: Int?
    /// L1 strength on Winograd weights during the pruning phase.
    public var l1 = 5e-5
    /// Stop after this many steps in all (smoke runs); nil for whole epochs.
    public var maxSteps: Int?
    /// Creates the defaults.
    public init() {}
}

/// What the progress callback sees.
public struct TrainProgress: Sendable {
    /// 1-based epoch and step within it.
    public var epoch: Int, epochs: Int, step: Int, steps: Int
    /// Running mean loss and accuracy of this epoch.
    public var loss: Double, accuracy: Double
    /// Winograd-domain sparsity per Winograd layer (name, fraction of zeros).
    public var sparsity: [(String, Double)]
    /// Training images per second in this epoch.
    public var imagesPerSecond: Double
    /// Test accuracy, set once at the end of an epoch when a test set was given.
    public var testAccuracy: Double?
    /// "prune", "fine-tune" or "train".
    public var phase: String
}

/// Trains a network and writes it as a model.
public final class Trainer {
    let net: Network<Float>
    /// Metadata written into exported models (input normalisation, labels).
    public var metadata: ModelMetadata
    let compute: Compute
    let pool: ThreadPool?
    /// Epochs completed (restored from a checkpoint).
    public private(set) var epochsDone = 0
    private var pruner: NativePruner?
    private var pruneStep = 0

    /// A fresh network from an architecture string (see `Trainer.architectureHelp`).
    public init(architecture: String, metadata: ModelMetadata, seed: UInt64, threads: Int) throws {
        net = try Architecture.build(architecture, inputShape: metadata.inputShape, seed: seed)
        self.metadata = metadata
        pool = threads > 1 ? ThreadPool(threads: threads) : nil
        compute = Compute(pool: pool)
    }

    /// A network initialised from a model; `winograd` names direct convolutions to turn into
    /// Winograd-domain layers ("auto": every 3x3/5x5 stride-1 conv with more than 3 inputs).
    /// `tile` is the Winograd tile of converted 3x3 layers: "f2" (F(2x2,3x3)) or "f4" (F(4x4,3x3),
    /// which SGD trains only at far lower rates; Docs/PRUNING.md).
    public init(model: ModelGraph, winograd: String?, tile: String = "f2", threads: Int) throws {
        guard tile == "f2" || tile == "f4" else { throw TrainError("unknown tile '\(tile)' (f2 or f4)") }
        let choice: ModelIO.WinogradChoice
        switch winograd {
        case nil, "none"?: choice = .none
        case "auto"?: choice = .auto
        case let s?:
            let names = s.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw TrainError("--winograd '\(s)' names no convolution (auto, none or comma-separated node names)") }
            choice = .named(Set(names))
        }
        net = try ModelIO.importGraph(model, winograd: choice, tile3x3: tile == "f2" ? .f2x2_3x3 : .f4x4_3x3)
        metadata = model.metadata
        pool = threads > 1 ? ThreadPool(threads: threads) : nil
        compute = Compute(pool: pool)
    }

    /// The grammar of architecture strings.
    public static var architectureHelp: String { Architecture.help }

    /// The trained model.
    public func export() -> ModelGraph { ModelIO.export(net, metadata: metadata) }

    /// Name, parameter count and Winograd-domain sparsity (nil for other layers) of each layer with weights.
    public var layerSummary: [(name: String, parameters: Int, winogradSparsity: Double?)] {
        net.layers.compactMap { l in
            guard let w = l.params.first else { return nil }
            return (l.name, l.params.reduce(0) { $0 + $1.value.count }, w.winograd != nil ? w.sparsity : nil)
        }
    }

    /// Accuracy of the current weights on `d` (this module's forward pass).
    public func accuracy(_ d: Dataset, batch: Int = 256) -> Double {
        var correct = 0
        var s = 0
        while s < d.count {
            let idx = Array(s..<min(s + batch, d.count))
            let logits = net.forward(d.tensor(idx, metadata: metadata), batch: idx.count, training: false, compute)
            let k = net.classes
            for (j, i) in idx.enumerated() {
                var arg = 0
                for c in 1..<k where logits[j * k + c] > logits[j * k + arg] { arg = c }
                if arg == Int(d.labels[i]) { correct += 1 }
            }
            s += batch
        }
        return Double(correct) / Double(max(1, d.count))
    }

    /// Trains for `config.epochs` epochs (continuing after `epochsDone` when resumed), calling
    /// `progress` after every step and at each epoch's end, and `endOfEpoch` after each epoch.
    public func fit(train: Dataset, test: Dataset?, config: TrainConfig,
                    progress: (TrainProgress) -> Void, endOfEpoch: (Int) throws -> Void = { _ in }) throws {
        guard train.rows * train.cols == net.inputShape.reduce(1, *) else {
            throw TrainError("training images are \(train.rows)x\(train.cols) but the model takes \(net.inputShape)")
        }
        // The test split too, before any training (it is first used after an epoch).
        if let test = test, test.rows * test.cols != net.inputShape.reduce(1, *) {
            throw TrainError("test images are \(test.rows)x\(test.cols) but the model takes \(net.inputShape)")
        }
        guard train.count >= config.batchSize, config.batchSize > 0 else { throw TrainError("batch size \(config.batchSize) for \(train.count) samples") }
        if let bad = train.labels.first(where: { Int($0) >= net.classes }) {
            throw TrainError("label \(bad) but the model has \(net.classes) classes")
        }
        let steps = train.count / config.batchSize
        let totalSteps = config.maxSteps ?? steps * config.epochs
        let wparams = net.winogradWeights
        let norms = wparams.map { p in NativePruner.positionNorms(alpha: p.winograd!.alpha, tile: tileOf(p)) }
        let pruneSteps = config.targetSparsity == nil ? 0
            : config.maxSteps.map { $0 / 2 } ?? steps * (config.pruneEpochs ?? max(1, config.epochs / 2))
        if let target = config.targetSparsity, pruner == nil {
            guard !wparams.isEmpty else { throw TrainError("--target-sparsity given but the model has no Winograd-domain layer (use --winograd with --init)") }
            let names = wparams.map { String($0.name.dropLast(2)) }
            if let bad = config.layerSparsity.keys.first(where: { !names.contains($0) }) {
                throw TrainError("--layer-sparsity names '\(bad)', which is not a Winograd-domain layer (those are: \(names.joined(separator: ", ")))")
            }
            let targets = names.map { config.layerSparsity[$0] ?? target }
            // Ramp over 80% of the pruning phase, then hold the target until the mask freezes.
            pruner = NativePruner(params: wparams, target: targets, rampSteps: max(1, pruneSteps * 4 / 5))
        }
        var sgd = SGD(momentum: config.momentum, weightDecay: config.weightDecay, l1: 0)
        guard epochsDone < config.epochs else {
            throw TrainError("the checkpoint has done \(epochsDone) epochs already: give --epochs above \(epochsDone) to go on")
        }
        var globalStep = epochsDone * steps
        for epoch in epochsDone..<config.epochs {
            var rng = SplitMix64(seed: config.seed &* 0x9E37_79B9 &+ UInt64(epoch) &+ 1)
            var order = Array(0..<train.count)
            order.shuffle(using: &rng)
            var lossSum = 0.0, correct = 0, seen = 0
            let t0 = Date()
            var phase = "train"
            for s in 0..<steps {
                if globalStep >= totalSteps { break }
                let idx = order[(s * config.batchSize)..<((s + 1) * config.batchSize)]
                let x = train.tensor(idx, metadata: metadata)
                let r = net.lossAndGradients(x, labels: idx.map { Int(train.labels[$0]) }, compute)
                guard r.loss.isFinite else {
                    throw TrainError("training diverged at epoch \(epoch + 1) step \(s + 1) (loss \(r.loss)); lower --lr"
                                     + (wparams.contains { $0.winograd!.alpha > 4 } ? " (F(4x4) Winograd-domain weights need a much smaller rate than F(2x2); see Docs/PRUNING.md)" : ""))
                }
                let lr = config.learningRate * 0.5 * (1 + cos(Double.pi * Double(globalStep) / Double(totalSteps)))
                let pruning = pruner != nil && globalStep < pruneSteps
                if pruner != nil && !pruning && wparams.contains(where: { $0.frozenZero == nil }) {
                    // Pruning is over: freeze the zeros before the first fine-tuning update.
                    for p in wparams { p.frozenZero = p.value.map { $0 == 0 } }
                }
                sgd.l1 = pruning ? config.l1 : 0
                sgd.step(net.params, lr: lr)
                if pruning {
                    pruner!.apply(wparams, norms: norms, step: pruneStep)
                    pruneStep += 1
                    phase = "prune"
                } else if pruner != nil {
                    phase = "fine-tune"
                }
                globalStep += 1
                lossSum += r.loss * Double(idx.count); correct += r.correct; seen += idx.count
                progress(TrainProgress(epoch: epoch + 1, epochs: config.epochs, step: s + 1, steps: steps,
                                       loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen),
                                       sparsity: wparams.map { (String($0.name.dropLast(2)), $0.sparsity) },
                                       imagesPerSecond: Double(seen) / max(1e-9, Date().timeIntervalSince(t0)),
                                       testAccuracy: nil, phase: phase))
            }
            epochsDone = epoch + 1
            if let t = test {
                progress(TrainProgress(epoch: epoch + 1, epochs: config.epochs, step: steps, steps: steps,
                                       loss: lossSum / Double(max(1, seen)), accuracy: Double(correct) / Double(max(1, seen)),
                                       sparsity: wparams.map { (String($0.name.dropLast(2)), $0.sparsity) },
                                       imagesPerSecond: Double(seen) / max(1e-9, Date().timeIntervalSince(t0)),
                                       testAccuracy: accuracy(t), phase: phase))
            }
            try endOfEpoch(epoch + 1)
            if globalStep >= totalSteps { break }
        }
    }

    /// One-shot pruning of every Winograd layer to `density` without retraining: "winograd"
    /// prunes the Winograd-domain weights by magnitude; "spatial" prunes the spatial filters
    /// (layers must have been converted from direct convolutions with `init(model:winograd:)`, whose
    /// spatial weights are kept) and transforms them. Returns each layer's spatial density (spatial only).
    public func pruneOneShot(method: String, density: Double, spatialSource: ModelGraph?) throws -> [String: Double] {
        guard net.layers.contains(where: { $0 is WinogradConvTrain<Float> }) else {
            throw TrainError("the model has no Winograd-domain layer to prune (choose convolutions with --winograd)")
        }
        var used = [String: Double]()
        for l in net.layers {
            guard let w = l as? WinogradConvTrain<Float> else { continue }
            switch method {
            case "winograd":
                OneShotPruning.magnitude(&w.weight.value, density: density)
            case "spatial":
                guard let g = spatialSource?.tensors.first(where: { $0.name == w.weight.name }), g.winograd == nil, g.shape.count == 4 else {
                    throw TrainError("spatial pruning needs the spatial weights of '\(w.name)' (initialise from a model with direct convolutions)")
                }
                let r = OneShotPruning.spatialThenTransform(g.denseValues(), k: w.k, c: w.inShape[0], tile: w.tile, density: density)
                w.weight.value = r.winograd
                used[w.name] = r.spatialDensity
            default:
                throw TrainError("unknown pruning method '\(method)' (winograd or spatial)")
            }
        }
        return used
    }

    var prunerState: NativePruner? { pruner }
    var pruneStepCount: Int { pruneStep }

    func restore(epochsDone: Int, pruner: (NativePruner, Int)?) {
        self.epochsDone = epochsDone
        if let (p, s) = pruner { self.pruner = p; pruneStep = s }
    }

    private func tileOf(_ p: Param<Float>) -> WinogradTile {
        for l in net.layers { if let w = l as? WinogradConvTrain<Float>, w.weight === p { return w.tile } }
        preconditionFailure("no layer owns \(p.name)")
    }
}
