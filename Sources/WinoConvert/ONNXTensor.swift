// Decoding of ONNX TensorProtos (initializers, Constant values, test-data
// .pb files) into shapes and values. Every declared size is checked against
// the bytes present before anything is allocated; external data is refused.
import Foundation
import SwiftProtobuf

/// A decoded ONNX tensor: its shape and its values as Float (float, double,
/// float16 is not accepted) or as Int64 (int32, int64: shapes and indices).
public struct ONNXTensor: Equatable, Sendable {
    /// Tensor name.
    public var name: String
    /// Shape; [] for a scalar.
    public var dims: [Int]
    /// Values of a floating-point tensor, row-major.
    public var floats: [Float]
    /// Values of an integer tensor, row-major.
    public var ints: [Int64]

    /// Number of elements.
    public var count: Int { dims.reduce(1, *) }

    /// Largest number of elements accepted in one tensor.
    public static let maxElements = 1 << 31

    /// Creates a tensor from its parts.
    public init(name: String, dims: [Int], floats: [Float], ints: [Int64]) {
        self.name = name
        self.dims = dims
        self.floats = floats
        self.ints = ints
    }

    /// Decodes a serialized TensorProto (the input_N.pb / output_N.pb files of ONNX test data).
    public init(serialized bytes: [UInt8]) throws {
        let proto: Onnx_TensorProto
        do {
            proto = try Onnx_TensorProto(serializedBytes: bytes)
        } catch {
            throw ConvertError("not a valid ONNX TensorProto: \(error)")
        }
        try self.init(proto: proto)
    }

    init(proto t: Onnx_TensorProto) throws {
        name = t.name
        let what = "tensor '\(t.name)'"
        if t.dataLocation == .external || !t.externalData.isEmpty {
            throw ConvertError("\(what) keeps its data in an external file; external data is not supported (save the model with all tensors inside the .onnx file)")
        }
        var n = 1
        for d in t.dims {
            guard d >= 0, d <= Int64(Self.maxElements) else { throw ConvertError("\(what) declares dimension \(d)") }
            let (p, o) = n.multipliedReportingOverflow(by: Int(d))
            guard !o, p <= Self.maxElements else { throw ConvertError("\(what) declares shape \(t.dims): more than 2^31 elements") }
            n = p
        }
        dims = t.dims.map { Int($0) }
        floats = []
        ints = []
        let raw = t.rawData
        func checkCount(_ have: Int, _ unit: String) throws {
            guard have == n else { throw ConvertError("\(what) has shape \(dims) (\(n) elements) but holds \(have) \(unit)") }
        }
        switch Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) {
        case .float?:
            if !raw.isEmpty {
                try checkCount(raw.count / 4, "float32 values in raw_data"); guard raw.count % 4 == 0 else { throw ConvertError("\(what): raw_data is not a whole number of float32 values") }
                floats = Self.littleEndianFloats(raw, count: n)
            } else {
                try checkCount(t.floatData.count, "values in float_data")
                floats = t.floatData
            }
        case .double?:
            if !raw.isEmpty {
                try checkCount(raw.count / 8, "float64 values in raw_data"); guard raw.count % 8 == 0 else { throw ConvertError("\(what): raw_data is not a whole number of float64 values") }
                floats = raw.withUnsafeBytes { b in (0..<n).map { Float(Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) } }
            } else {
                try checkCount(t.doubleData.count, "values in double_data")
                floats = t.doubleData.map { Float($0) }
            }
        case .int64?:
            if !raw.isEmpty {
                try checkCount(raw.count / 8, "int64 values in raw_data"); guard raw.count % 8 == 0 else { throw ConvertError("\(what): raw_data is not a whole number of int64 values") }
                ints = raw.withUnsafeBytes { b in (0..<n).map { Int64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) } }
            } else {
                try checkCount(t.int64Data.count, "values in int64_data")
                ints = t.int64Data
            }
        case .int32?:
            if !raw.isEmpty {
                try checkCount(raw.count / 4, "int32 values in raw_data"); guard raw.count % 4 == 0 else { throw ConvertError("\(what): raw_data is not a whole number of int32 values") }
                ints = raw.withUnsafeBytes { b in (0..<n).map { Int64(Int32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) } }
            } else {
                try checkCount(t.int32Data.count, "values in int32_data")
                ints = t.int32Data.map { Int64($0) }
            }
        default:
            throw ConvertError("\(what) has data type \(t.dataType), which is not supported (float, double, int32, int64 are)")
        }
        if let i = floats.firstIndex(where: { !$0.isFinite }) {
            throw ConvertError("\(what) value \(i) is \(floats[i])")
        }
    }

    /// `count` float32 values from little-endian bytes (a bulk copy on little-endian hosts).
    static func littleEndianFloats(_ raw: Data, count n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBytes { dst in raw.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<(n * 4)])) } }
        #if _endian(big)
        for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: out[i].bitPattern)) }
        #endif
        return out
    }

    /// Whether the tensor holds floating-point values.
    public var isFloat: Bool { ints.isEmpty && (count == 0 || !floats.isEmpty) }
}
