// The in-memory model: a graph of operator nodes over named activations, a
// set of named parameter tensors, and metadata describing the input.
// This is what a .swz file stores (Docs/FORMAT.md) and what the engine runs.
// Activations are NCHW float32 (N = batch, chosen per request); flat
// activations (after Flatten or a fully-connected node) are [N, F].

/// The operator of a graph node. Raw values are the op codes stored in .swz files.
public enum OpKind: UInt16, CaseIterable, Sendable, CustomStringConvertible {
    /// Direct 2-D convolution from spatial weights [K, C/groups, R, S].
    case conv = 1
    /// Winograd convolution from Winograd-domain weights [alpha, alpha, K, C/groups].
    case winogradConv = 2
    /// Rectified linear unit, max(x, 0).
    case relu = 3
    /// Max pooling over spatial windows.
    case maxPool = 4
    /// Average pooling over spatial windows.
    case avgPool = 5
    /// Local response normalisation across channels (AlexNet).
    case lrn = 6
    /// Fully connected layer: y = W x + b with W [outFeatures, inFeatures].
    case fullyConnected = 7
    /// Softmax over the channel/feature axis.
    case softmax = 8
    /// Flattens [N, C, H, W] to [N, C*H*W].
    case flatten = 9
    /// Dropout: the identity at inference.
    case dropout = 10
    /// Concatenation along the channel axis.
    case concat = 11
    /// Elementwise sum of two activations of equal shape.
    case add = 12
    /// Elementwise clamp to [min, max] (ReLU6 is min 0, max 6).
    case clip = 13
    /// Parametric ReLU: x when x >= 0, else slope * x; slope per channel, shared or per element.
    case prelu = 14

    /// The name used in files' error messages and in Docs/FORMAT.md.
    public var description: String {
        switch self {
        case .conv: return "Conv"
        case .winogradConv: return "WinogradConv"
        case .relu: return "Relu"
        case .maxPool: return "MaxPool"
        case .avgPool: return "AveragePool"
        case .lrn: return "LRN"
        case .fullyConnected: return "FullyConnected"
        case .softmax: return "Softmax"
        case .flatten: return "Flatten"
        case .dropout: return "Dropout"
        case .concat: return "Concat"
        case .add: return "Add"
        case .clip: return "Clip"
        case .prelu: return "PRelu"
        }
    }
}

/// A typed attribute value of a node.
public enum AttributeValue: Equatable, Sendable {
    /// A signed integer.
    case int(Int64)
    /// A list of signed integers.
    case ints([Int64])
    /// A 32-bit float.
    case float(Float)
    /// A string.
    case string(String)
}

/// One operator application: reads named activations, writes one activation.
public struct Node: Equatable, Sendable {
    /// Unique node name (also used in error messages and per-layer timings).
    public var name: String
    /// The operator.
    public var op: OpKind
    /// Names of the activations read (the model input or other nodes' outputs).
    public var inputs: [String]
    /// Name of the activation written.
    public var output: String
    /// Names of parameter tensors, in the order the operator defines
    /// (conv, winogradConv, fullyConnected: weight, then optional bias).
    public var weights: [String]
    /// Attributes, by name. Which names are allowed depends on `op` (see `OpSchema`).
    public var attributes: [String: AttributeValue]

    /// Creates a node.
    public init(name: String, op: OpKind, inputs: [String], output: String,
                weights: [String] = [], attributes: [String: AttributeValue] = [:]) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.output = output
        self.weights = weights
        self.attributes = attributes
    }
}

/// The Winograd transform a Winograd-domain tensor is expressed in.
/// Raw values are stored in .swz files; the exact matrices are in Docs/WINOGRAD.md.
public enum WinogradVariant: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    /// F(2x2, 3x3): alpha = 4.
    case f2x2_3x3 = 1
    /// F(4x4, 3x3): alpha = 6, points 0, +-1, +-2, inf (Lavin / wincnn matrices).
    case f4x4_3x3 = 2
    /// F(4x4, 5x5): alpha = 8, points 0, +-1, +-2, +-1/2, inf.
    case f4x4_5x5 = 3

    /// Output tile edge m.
    public var m: Int { self == .f2x2_3x3 ? 2 : 4 }
    /// Kernel edge r.
    public var r: Int { self == .f4x4_5x5 ? 5 : 3 }
    /// Input tile edge alpha = m + r - 1.
    public var alpha: Int { m + r - 1 }

    /// The notation used in docs and CLI output, e.g. "F(4x4,3x3)".
    public var description: String { "F(\(m)x\(m),\(r)x\(r))" }
}

/// A compressed-sparse-row matrix of 32-bit floats.
/// Row i holds entries `rowPtr[i] ..< rowPtr[i+1]` of `colIdx`/`values`;
/// column indices strictly increase within a row.
public struct CSRMatrix: Equatable, Sendable {
    /// Number of rows.
    public var rows: Int
    /// Number of columns.
    public var cols: Int
    /// Row pointers, `rows + 1` entries, starting at 0 and ending at `nnz`.
    public var rowPtr: [Int32]
    /// Column index of each stored entry.
    public var colIdx: [Int32]
    /// Value of each stored entry.
    public var values: [Float]

    /// Number of stored entries.
    public var nnz: Int { values.count }

    /// Creates a CSR matrix from its arrays (not validated; see `validate()`).
    public init(rows: Int, cols: Int, rowPtr: [Int32], colIdx: [Int32], values: [Float]) {
        self.rows = rows
        self.cols = cols
        self.rowPtr = rowPtr
        self.colIdx = colIdx
        self.values = values
    }

    /// Builds a CSR matrix from a dense row-major matrix, keeping entries != 0.
    public init(dense: [Float], rows: Int, cols: Int) {
        precondition(dense.count == rows * cols, "dense size does not match rows x cols")
        var rowPtr = [Int32](); rowPtr.reserveCapacity(rows + 1)
        var colIdx = [Int32](), values = [Float]()
        rowPtr.append(0)
        for i in 0..<rows {
            for j in 0..<cols where dense[i * cols + j] != 0 {
                colIdx.append(Int32(j))
                values.append(dense[i * cols + j])
            }
            rowPtr.append(Int32(values.count))
        }
        self.init(rows: rows, cols: cols, rowPtr: rowPtr, colIdx: colIdx, values: values)
    }

    /// The dense row-major equivalent.
    public func toDense() -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        for i in 0..<rows {
            for e in Int(rowPtr[i])..<Int(rowPtr[i + 1]) {
                out[i * cols + Int(colIdx[e])] = values[e]
            }
        }
        return out
    }

    /// Checks the CSR invariants; returns a description of the first violation, or nil.
    public func invariantViolation() -> String? {
        if rows < 0 || cols < 0 { return "negative dimensions \(rows)x\(cols)" }
        if rowPtr.count != rows + 1 { return "row pointer count \(rowPtr.count), expected \(rows + 1)" }
        if colIdx.count != values.count { return "\(colIdx.count) column indices for \(values.count) values" }
        if rowPtr[0] != 0 { return "row pointer 0 is \(rowPtr[0]), expected 0" }
        for i in 0..<rows {
            let a = Int(rowPtr[i]), b = Int(rowPtr[i + 1])
            if b < a { return "row pointers decrease at row \(i) (\(a) > \(b))" }
            if b > values.count { return "row pointer \(i + 1) = \(b) exceeds nnz \(values.count)" }
            var prev = -1
            for e in a..<b {
                let c = Int(colIdx[e])
                if c < 0 || c >= cols { return "column index \(c) out of range 0..<\(cols) in row \(i)" }
                if c <= prev { return "column indices not strictly increasing in row \(i)" }
                prev = c
            }
        }
        if Int(rowPtr[rows]) != values.count { return "last row pointer \(rowPtr[rows]) != nnz \(values.count)" }
        return nil
    }
}

/// How a tensor's values are stored.
public enum TensorData: Equatable, Sendable {
    /// All values, row-major over the tensor's shape.
    case dense([Float])
    /// A CSR matrix over the shape flattened to [product of all dims but the last, last dim].
    case csr(CSRMatrix)
}

/// How a tensor's values are stored in the file (computation is always in f32).
public enum ValueStorage: UInt8, Sendable, CaseIterable {
    /// IEEE-754 binary32 (dtype 0): lossless.
    case f32 = 0
    /// IEEE-754 binary16 (dtype 1, format 1.2): half the bytes; values must already be
    /// representable (see `Tensor.roundedToHalf()`).
    case f16 = 1
}

/// A named parameter tensor (weights or bias).
public struct Tensor: Equatable, Sendable {
    /// Unique name.
    public var name: String
    /// Logical shape, row-major.
    public var shape: [Int]
    /// The Winograd transform the values are expressed in, or nil for ordinary (spatial) values.
    /// A Winograd-domain weight has shape [alpha, alpha, K, C/groups].
    public var winograd: WinogradVariant?
    /// The values.
    public var data: TensorData
    /// How the values are stored in a file.
    public var storage: ValueStorage

    /// Creates a tensor.
    public init(name: String, shape: [Int], winograd: WinogradVariant? = nil, data: TensorData, storage: ValueStorage = .f32) {
        self.name = name
        self.shape = shape
        self.winograd = winograd
        self.data = data
        self.storage = storage
    }

    /// This tensor stored as f16: every value rounded to the nearest binary16 (ties to even).
    /// Values beyond the f16 range (|x| > 65504) become infinite, which writers reject.
    public func roundedToHalf() -> Tensor {
        var t = self
        t.storage = .f16
        switch data {
        case .dense(let v): t.data = .dense(v.map { Float(Float16($0)) })
        case .csr(var m):
            m.values = m.values.map { Float(Float16($0)) }
            t.data = .csr(m)
        }
        return t
    }

    /// Number of logical elements (product of the shape).
    public var count: Int { shape.reduce(1, *) }

    /// Number of stored values (all elements when dense, nonzeros when CSR).
    public var storedCount: Int {
        switch data {
        case .dense(let v): return v.count
        case .csr(let m): return m.nnz
        }
    }

    /// The values as a dense row-major array.
    public func denseValues() -> [Float] {
        switch data {
        case .dense(let v): return v
        case .csr(let m): return m.toDense()
        }
    }
}

/// Channel order the model expects its image input in.
public enum ChannelOrder: UInt8, Sendable, CaseIterable {
    /// Red, green, blue.
    case rgb = 0
    /// Blue, green, red (Caffe models).
    case bgr = 1
    /// One gray channel.
    case gray = 2
    /// Not an image: the input is a tensor of any channel count, fed as is (no preprocessing).
    case tensor = 3
}

/// What the model's input means and how its output is labelled.
/// An image pixel p in [0, 1] becomes `(p * pixelRange - mean[c]) * scale[c]`.
public struct ModelMetadata: Equatable, Sendable {
    /// Human-readable model name.
    public var name: String
    /// Input shape per sample: [channels, height, width].
    public var inputShape: [Int]
    /// Channel order of the input.
    public var channelOrder: ChannelOrder
    /// The value a full-intensity pixel maps to before mean subtraction (255 for Caffe, 1 for torchvision).
    public var pixelRange: Float
    /// Per-channel mean, subtracted after scaling by `pixelRange` (one entry per channel).
    public var mean: [Float]
    /// Per-channel multiplier applied after mean subtraction (one entry per channel).
    public var scale: [Float]
    /// Images are resized so that their shorter side is this long, then centre-cropped
    /// to the input size; 0 means "the input's shorter side".
    public var resizeShorterSide: Int
    /// Class labels, one per output, or empty.
    public var labels: [String]
    /// Free-form key/value pairs (description, licence, provenance).
    public var properties: [String: String]

    /// Creates metadata; `mean` defaults to zeros and `scale` to ones.
    public init(name: String, inputShape: [Int], channelOrder: ChannelOrder, pixelRange: Float = 1,
                mean: [Float]? = nil, scale: [Float]? = nil, resizeShorterSide: Int = 0,
                labels: [String] = [], properties: [String: String] = [:]) {
        self.name = name
        self.inputShape = inputShape
        self.channelOrder = channelOrder
        self.pixelRange = pixelRange
        let c = inputShape.first ?? 0
        self.mean = mean ?? [Float](repeating: 0, count: c)
        self.scale = scale ?? [Float](repeating: 1, count: c)
        self.resizeShorterSide = resizeShorterSide
        self.labels = labels
        self.properties = properties
    }
}

/// A whole model: metadata, nodes in execution (topological) order, and parameter tensors.
public struct ModelGraph: Equatable, Sendable {
    /// Input description and labels.
    public var metadata: ModelMetadata
    /// Name of the model's single input activation ([N] + metadata.inputShape).
    public var input: String
    /// Name of the activation returned as the model's output.
    public var output: String
    /// Nodes, each reading only the input or outputs of earlier nodes.
    public var nodes: [Node]
    /// Parameter tensors, each name unique.
    public var tensors: [Tensor]

    /// Creates a model graph (not validated; see `GraphValidator`).
    public init(metadata: ModelMetadata, input: String, output: String, nodes: [Node], tensors: [Tensor]) {
        self.metadata = metadata
        self.input = input
        self.output = output
        self.nodes = nodes
        self.tensors = tensors
    }

    /// The tensor of a given name, if any.
    public func tensor(named name: String) -> Tensor? {
        tensors.first { $0.name == name }
    }
}
