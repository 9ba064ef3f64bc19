// Errors of the ONNX import and the conversion: each names the node, op,
// attribute or tensor at fault.

/// Why an ONNX model could not be converted.
public struct ConvertError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong and where.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
