// 64-byte aligned float storage. `UnsafeMutablePointer.allocate` only
// guarantees 16-byte alignment, which costs ~40% in SIMD kernels (RESEARCH.md §5).

/// An owned, zero-initialised, 64-byte aligned array of floats.
public final class AlignedBuffer: @unchecked Sendable {
    /// Number of floats.
    public let count: Int
    /// Base address (64-byte aligned; valid while the buffer lives).
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` zeroed floats.
    public init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Allocates and fills with `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let b = src.baseAddress { pointer.update(from: b, count: values.count) }
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    /// The contents as an array.
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
