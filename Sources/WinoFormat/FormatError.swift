/// Why a model file or graph was rejected. Every error names what is wrong and
/// where (byte offset, tensor or node name) in `message`.
public struct FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The category of a rejection; tests match on it.
    public enum Kind: String, Sendable {
        /// The file ends before a structure it declares.
        case truncated
        /// The file does not start with the .swz magic.
        case badMagic
        /// The endianness marker is not the little-endian one.
        case badEndianness
        /// The major version is not one this reader understands.
        case unsupportedVersion
        /// A header field has an impossible value.
        case badHeader
        /// An offset or size points outside the file or its section.
        case outOfRange
        /// Two sections or tensor payloads overlap.
        case overlap
        /// A declared size exceeds the reader's limits.
        case limitExceeded
        /// zlib data is corrupt or inflates to another size than declared.
        case inflate
        /// A CRC32 does not match.
        case checksum
        /// A CSR matrix breaks its invariants.
        case badCSR
        /// A code (op, dtype, encoding, variant, channel order) is unknown.
        case unknownCode
        /// Two tensors, nodes or activations share a name.
        case duplicateName
        /// A referenced tensor or activation does not exist.
        case missingName
        /// The graph has a cycle.
        case cycle
        /// An attribute is not defined for the op.
        case unknownAttribute
        /// An attribute or required attribute is missing, mistyped or out of range.
        case badAttribute
        /// Shapes are inconsistent.
        case shapeMismatch
        /// A weight is NaN or infinite.
        case nonFinite
        /// A string is empty, too long or not UTF-8.
        case badString
        /// Metadata is inconsistent (mean/scale counts, labels, input shape).
        case badMetadata
        /// The file system refused to create, write or rename a file (SWZWriter).
        case ioFailed
    }

    /// The category.
    public var kind: Kind
    /// What is wrong and where.
    public var message: String

    /// Creates an error. The message stays one printable line whatever a file put in the strings
    /// it quotes: control characters are written as `\u{XX}` and a message longer than
    /// `maxMessageLength` characters is cut with "...".
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = FormatError.printable(message)
    }

    /// The longest message kept whole.
    public static let maxMessageLength = 1000

    /// `text` with control characters written as `\u{XX}`, cut with "..." after
    /// `maxMessageLength` characters: safe to print on one line whatever a file held.
    public static func printable(_ text: String) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= maxMessageLength { out += "..."; break }
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }

    /// The message, prefixed with the kind.
    public var description: String { "\(message) [\(kind.rawValue)]" }
}
