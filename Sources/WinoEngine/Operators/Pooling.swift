// Shared geometry of pooling windows. Legend: output (oy, ox) covers input rows
// oy*sh - pt ..< oy*sh - pt + kh (columns likewise), clipped to the input;
// "padded extent" clips instead to -pt ..< H + pb (Caffe's average divisor).
import WinoFormat

/// The input range one pooling window covers along one axis.
struct PoolSpan {
    /// Valid input indices.
    var lo: Int, hi: Int
    /// Count of positions inside the padded extent.
    var paddedCount: Int

    init(out o: Int, kernel k: Int, stride s: Int, padBefore p0: Int, padAfter p1: Int, size n: Int) {
        let start = o * s - p0, end = start + k
        lo = max(start, 0)
        hi = min(end, n)
        paddedCount = min(end, n + p1) - start
    }
}
