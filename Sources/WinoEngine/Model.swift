// The public entry point: load a model once, predict from any number of threads.
import WinoFormat
import WinoKernels
#if canImport(Glibc)
import Glibc
#endif

/// Why a prediction could not run.
public struct EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// A class the model assigns to an input, with its probability.
public struct Classification: Equatable, Sendable {
    /// Index of the class in the model's output.
    public var index: Int
    /// The class label from the model's metadata ("class N" when it has none).
    public var label: String
    /// The output value (a probability when the model ends in Softmax).
    public var probability: Float
}

/// Time spent in one layer.
public struct LayerTiming: Sendable {
    /// Node name.
    public var name: String
    /// Operator.
    public var op: OpKind
    /// Seconds.
    public var seconds: Double
}

/// A loaded, validated, immutable model. `predict` may be called concurrently from
/// many threads; each call uses its own workspace, taken from a reuse pool.
public final class Model: @unchecked Sendable {
    /// Load-time options.
    public struct Options: Sendable {
        /// Threads used by each prediction (1 = run on the calling thread only).
        /// A service running many requests at once should keep this at 1.
        public var threads: Int
        /// Upper bound on the activation and scratch memory of one request (bytes). A model or
        /// batch that would need more is rejected with an error instead of exhausting memory.
        public var maxWorkspaceBytes: Int
        /// How direct convolutions are run: `.auto` lets the planner run eligible ones (3x3/5x5,
        /// stride 1, at least 8 in- and out-channels per group, outputs of at least 4x4, dense
        /// weights) as dense Winograd F(4x4) convolutions; `.asStored` runs every node as its op says.
        public var planner: ConvPlanner
        /// Whether `predict` throws for an output holding NaN or an infinity, which finite inputs
        /// give when weights or the input scale overflow Float. It costs one read of the output:
        /// nothing next to a classifier's run, a pass over memory for a large feature map (wino-bench
        /// turns it off to time single layers, as onnxruntime, its baseline, does not check).
        public var checksOutput: Bool
        /// Creates options.
        public init(threads: Int = 1, maxWorkspaceBytes: Int = 4 << 30, planner: ConvPlanner = .auto,
                    checksOutput: Bool = true) {
            self.threads = max(1, threads)
            self.maxWorkspaceBytes = maxWorkspaceBytes
            self.planner = planner
            self.checksOutput = checksOutput
        }
    }

    /// The graph as loaded.
    public let graph: ModelGraph
    /// Input description, labels and properties.
    public var metadata: ModelMetadata { graph.metadata }
    /// Per-sample input shape [C, H, W].
    public var inputShape: [Int] { graph.metadata.inputShape }
    /// Per-sample output shape.
    public var outputShape: [Int] { plan.outputShape }
    /// The options the model was loaded with.
    public let options: Options
    /// Largest batch accepted by `predict`.
    public static let maxBatch = 4096

    let plan: Plan
    /// Workspace bytes one sample needs (activations plus scratch, an upper bound).
    private let perSampleBytes: Int
    private let pool: ThreadPool?
    private var idle: [Workspace] = []
    private var lock = pthread_mutex_t()

    /// Loads and validates a .swz file.
    public convenience init(contentsOf path: String, options: Options = Options()) throws {
        try self.init(graph: SWZReader.read(path: path), options: options)
    }

    /// Validates a graph and prepares it for execution.
    public init(graph: ModelGraph, options: Options = Options()) throws {
        let shapes = try GraphValidator.validate(graph)
        self.graph = graph
        self.options = options
        plan = try Plan(graph: graph, shapes: shapes, planner: options.planner, threads: options.threads)
        perSampleBytes = plan.workspaceBytesPerSample(threads: options.threads)
        firstLayerChecksInput = plan.steps.first.map { [plan] in $0.inputs == [plan.inputSlot] && $0.layer.checksOwnInput } ?? false
        guard perSampleBytes <= options.maxWorkspaceBytes else {
            throw EngineError("model '\(graph.metadata.name)' needs \(perSampleBytes >> 20) MiB of activations and scratch per sample, over the limit of \(options.maxWorkspaceBytes >> 20) MiB (Options.maxWorkspaceBytes)")
        }
        pool = options.threads > 1 ? ThreadPool(threads: options.threads) : nil
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    /// One line per executed layer: name, op and how it runs (fusions and backends).
    public var layerDescriptions: [String] {
        plan.steps.map { "\($0.layer.name) (\($0.layer.op)): \($0.layer.explanation)" }
    }

    /// Runs the model on `batch` samples laid out [batch] + inputShape (NCHW) and
    /// returns the output, [batch] + outputShape.
    ///
    /// - Throws: `EngineError` for a batch or input size that does not fit the model, an input
    ///   holding NaN or an infinity, an output that overflowed Float (NaN or infinite; unless
    ///   `Options.checksOutput` is off), or a new batch size whose workspace needs more memory
    ///   than the process can still allocate.
    public func predict(_ input: [Float], batch: Int = 1) throws -> [Float] {
        let count = plan.slotSizes[plan.outputSlot] * batch
        try checkBatch(batch, inputCount: input.count)
        return try [Float](unsafeUninitializedCapacity: count) { out, initialized in
            try input.withUnsafeBufferPointer { try run($0, batch: batch, into: out, timings: nil) }
            initialized = count
        }
    }

    /// Runs the model reading `input` ([batch] + inputShape) and writing the output
    /// ([batch] + outputShape values) straight into `output`: no copies and, once a
    /// workspace for this batch size exists, no memory allocation.
    public func predict(_ input: UnsafeBufferPointer<Float>, batch: Int = 1,
                        into output: UnsafeMutableBufferPointer<Float>) throws {
        try checkBatch(batch, inputCount: input.count)
        guard output.count == plan.slotSizes[plan.outputSlot] * batch else {
            throw EngineError("output buffer has \(output.count) values; the model produces \(batch) x \(outputShape) = \(plan.slotSizes[plan.outputSlot] * batch)")
        }
        try run(input, batch: batch, into: output, timings: nil)
    }

    /// Like `predict`, also returning the time spent in each layer.
    public func predictWithTimings(_ input: [Float], batch: Int = 1) throws -> (output: [Float], timings: [LayerTiming]) {
        var t = [LayerTiming]()
        let count = plan.slotSizes[plan.outputSlot] * batch
        try checkBatch(batch, inputCount: input.count)
        let out = try [Float](unsafeUninitializedCapacity: count) { out, initialized in
            try input.withUnsafeBufferPointer { try run($0, batch: batch, into: out, timings: &t) }
            initialized = count
        }
        return (out, t)
    }

    /// The `top` most likely classes for one sample (input laid out as inputShape).
    public func classify(_ input: [Float], top: Int = 5) throws -> [Classification] {
        Model.topClasses(try predict(input, batch: 1), labels: metadata.labels, top: top)
    }

    /// The `top` largest entries of `scores`, labelled, in decreasing order (ties: lower index first).
    public static func topClasses(_ scores: [Float], labels: [String], top: Int) -> [Classification] {
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return order.prefix(max(0, top)).map {
            Classification(index: $0, label: $0 < labels.count ? labels[$0] : "class \($0)", probability: scores[$0])
        }
    }

    private func takeWorkspace(batch: Int) throws -> Workspace {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let i = idle.firstIndex(where: { $0.batch == batch }) { return idle.remove(at: i) }
        // A new workspace: an error, not an aborting allocation, where the memory is not there.
        do {
            try SystemMemory.require(perSampleBytes * batch, for: "batch \(batch)'s activations and scratch")
        } catch let e as MemoryError {
            throw EngineError(e.message)
        }
        return Workspace(plan: plan, batch: batch, threads: pool?.threadCount ?? 1)
    }

    private func returnWorkspace(_ ws: Workspace) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if idle.count < 64 { idle.append(ws) }
    }

    private func checkBatch(_ batch: Int, inputCount: Int) throws {
        guard batch >= 1 && batch <= Model.maxBatch else {
            throw EngineError("batch \(batch) is outside 1...\(Model.maxBatch)")
        }
        guard perSampleBytes * batch <= options.maxWorkspaceBytes else {
            throw EngineError("batch \(batch) needs \(perSampleBytes * batch >> 20) MiB of activations and scratch, over the limit of \(options.maxWorkspaceBytes >> 20) MiB (Options.maxWorkspaceBytes)")
        }
        let perSample = plan.slotSizes[plan.inputSlot]
        guard inputCount == perSample * batch else {
            throw EngineError("input has \(inputCount) values; the model expects \(batch) x \(inputShape) = \(perSample * batch)")
        }
    }

    /// Inputs of at least this many values are checked for non-finite values by all threads.
    static let parallelScanMinimum = 1 << 18

    /// Whether the model's first layer checks the input for non-finite values as it reads it
    /// (a stride-1 Winograd convolution), instead of a separate pass over the input before the
    /// first layer. Either way `predict` throws for an
    /// input holding NaN or an infinity, naming the first such value. (The separate pass read a
    /// batch of 8 VGG16 conv2_1 inputs, 25 MB, from memory: 1-3% of the layer's time in paired
    /// wino-bench runs, 2 threads; the layer reads each value just before it transforms it.)
    public let firstLayerChecksInput: Bool

    /// Throws the error naming the first non-finite value of `input` (which has one).
    private func rejectNonFinite(_ input: UnsafeBufferPointer<Float>) throws {
        let i = input.firstIndex { !$0.isFinite } ?? 0
        throw EngineError("input value \(i) is \(input[i])")
    }

    private func run(_ input: UnsafeBufferPointer<Float>, batch: Int, into output: UnsafeMutableBufferPointer<Float>,
                     timings: UnsafeMutablePointer<[LayerTiming]>?) throws {
        // Non-finite inputs (exponent bits all ones): checked by the first layer as it reads
        // them (`firstLayerChecksInput`), else by one pass here, split over the pool's threads
        // when the input is large (a VGG16 conv2_1 input of 3.2 MB took 4.5% of the layer's
        // single-threaded time, all of it on one thread).
        if !firstLayerChecksInput {
            let parts = pool != nil && input.count >= Model.parallelScanMinimum ? pool!.threadCount : 1
            var found = false
            if parts == 1 {
                found = anyNonFinite(input.baseAddress!, count: input.count)
            } else {
                withUnsafeTemporaryAllocation(of: Bool.self, capacity: parts) { flags in
                    let f = flags.baseAddress!
                    parallelFor(pool, parts) { part, _ in
                        f[part] = anyNonFinite(input.baseAddress!, count: input.count, slice: part, of: parts)
                    }
                    found = flags.contains(true)
                }
            }
            if found { try rejectNonFinite(input) }
        }
        let ws = try takeWorkspace(batch: batch)
        defer { returnWorkspace(ws) }
        let table = ws.slotTable
        // The layers read the caller's input in place and the last layer writes the caller's output.
        table[plan.inputSlot] = UnsafeMutablePointer(mutating: input.baseAddress!)
        if plan.outputSlot != plan.inputSlot { table[plan.outputSlot] = output.baseAddress! }
        defer {
            table[plan.inputSlot] = ws.slots[plan.inputSlot].pointer
            table[plan.outputSlot] = ws.slots[plan.outputSlot].pointer
        }
        var ctx = RunContext(pool: pool, threads: ws.scratchPointers.count, scratch: ws.scratchPointers,
                             shared: ws.shared.pointer)
        for (i, step) in plan.steps.enumerated() {
            let checking = i == 0 && firstLayerChecksInput
            if checking {
                ws.inputCheck.reset()
                ctx.inputCheck = ws.inputCheck
            }
            let io = LayerIO(inputs: InputList(slots: table, indices: step.inputs), output: table[step.output], batch: batch)
            if let t = timings {
                let t0 = monotonicSeconds()
                step.layer.run(io, ctx)
                t.pointee.append(LayerTiming(name: step.layer.name, op: step.layer.op, seconds: monotonicSeconds() - t0))
            } else {
                step.layer.run(io, ctx)
            }
            if checking {
                ctx.inputCheck = nil
                // The layer ran on the bad values (harmlessly); nothing after it does.
                if ws.inputCheck.found { try rejectNonFinite(input) }
            }
        }
        if plan.outputSlot == plan.inputSlot {
            // A model whose output is its input (flatten/dropout only).
            output.baseAddress!.update(from: input.baseAddress!, count: output.count)
        }
        // Finite inputs can still overflow (weights or a metadata scale near Float's limits):
        // an answer made of NaN or infinities is an error, not a result.
        if options.checksOutput && anyNonFinite(UnsafePointer(output.baseAddress!), count: output.count) {
            let i = output.firstIndex { !$0.isFinite } ?? 0
            let per = output.count / batch
            throw EngineError("output value \(i % per)\(batch > 1 ? " of sample \(i / per)" : "") is \(output[i]): the model's arithmetic overflowed Float on a finite input (weights or input scale too large)")
        }
    }
}

/// Seconds from a monotonic clock.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
