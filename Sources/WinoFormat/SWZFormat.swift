// Constants and reader limits of the .swz v1 container (Docs/FORMAT.md).

/// Fixed values of the .swz format, version 1.
public enum SWZFormat {
    /// The 8 magic bytes every .swz file starts with: 0x89 'S' 'W' 'Z' CR LF 0x1A LF.
    public static let magic: [UInt8] = [0x89, 0x53, 0x57, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The endianness marker, stored little-endian as bytes 04 03 02 01.
    public static let endianMarker: UInt32 = 0x0102_0304
    /// The major version this library reads and writes.
    public static let majorVersion: UInt16 = 1
    /// The highest minor version this library writes: 2 when a tensor is stored as f16, else 1.
    public static let minorVersion: UInt16 = 2
    /// Size of the fixed header in bytes.
    public static let headerSize = 128
    /// Alignment of the data section and of every tensor payload within it.
    public static let alignment = 64
    /// Largest expansion a zlib stream can achieve (deflate's limit is about 1032:1);
    /// a declared raw size above `maxZlibRatio * stored + 64` is rejected.
    public static let maxZlibRatio = 1032

    // Header field offsets.
    static let offEndian = 8, offMajor = 12, offMinor = 14, offFlags = 16, offTensorCount = 20
    static let offFileSize = 24, offGraphOffset = 32, offGraphStored = 40, offGraphRaw = 48
    static let offTableOffset = 56, offTableSize = 64, offDataOffset = 72, offDataSize = 80
    static let offGraphCRC = 88, offTableCRC = 92, offReserved = 96, offHeaderCRC = 124
    /// Smallest possible tensor table entry (1-byte name, rank 1).
    static let minTableEntry = 1 + 1 + 8 + 8 + 8 + 8 + 8 + 8 + 4
    /// Attribute type tags.
    static let attrInt: UInt8 = 1, attrInts: UInt8 = 2, attrFloat: UInt8 = 3, attrString: UInt8 = 4
}

/// Caps the reader applies before allocating anything a file declares.
/// The defaults fit every model this project ships with a wide margin.
public struct SWZLimits: Sendable, Equatable {
    /// Largest file `SWZReader.read(path:)` loads.
    public var maxFileBytes: Int = 1 << 34
    /// Largest inflated graph section.
    public var maxGraphBytes: Int = 16 << 20
    /// Largest number of tensors.
    public var maxTensorCount: Int = 1 << 16
    /// Largest number of nodes.
    public var maxNodeCount: Int = 1 << 16
    /// Largest raw (inflated) payload of one tensor.
    public var maxTensorRawBytes: Int = 1 << 32
    /// Largest sum of all tensors' raw payloads.
    public var maxTotalRawBytes: Int = 1 << 34
    /// Longest string (model name, label, property, attribute value) in bytes.
    public var maxStringBytes: Int = 1 << 20
    /// Largest element count of any list in the graph section (labels, properties, inputs, attribute ints).
    public var maxListCount: Int = 1 << 24

    /// Whether CRC-32s are checked. Turn off only to let a fuzzer reach the checks behind them;
    /// every other check still runs, so the reader stays safe on any input.
    public var verifyChecksums: Bool = true

    /// The default limits.
    public init() {}
}
