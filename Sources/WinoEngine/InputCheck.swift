// The check that a request's input holds only finite values (Model.run), done either by
// one pass over the input or by the model's first layer as it reads its input
// (`Layer.checksOwnInput`).

/// Whether any of the `count` floats at `p` is non-finite (exponent bits all ones): the
/// largest exponent field, one branch-free integer pass that the compiler vectorises. (An OR
/// of per-value tests was compiled into a scalar loop with an early exit, 10x slower.)
@inline(__always)
func anyNonFinite(_ p: UnsafePointer<Float>, count: Int) -> Bool {
    p.withMemoryRebound(to: UInt32.self, capacity: count) { bits in
        var exponent: UInt32 = 0
        for b in UnsafeBufferPointer(start: bits, count: count) { exponent = max(exponent, b & 0x7f80_0000) }
        return exponent == 0x7f80_0000
    }
}

/// Whether slice `slice` of `slices` equal slices of the `count` values at `p` holds a
/// non-finite value (the slices partition the values).
func anyNonFinite(_ p: UnsafePointer<Float>, count: Int, slice: Int, of slices: Int) -> Bool {
    let lo = count * slice / slices, hi = count * (slice + 1) / slices
    return anyNonFinite(p + lo, count: hi - lo)
}

/// Per-thread flags of a first layer's input check, one cache line (16 values) apart so that
/// threads never write to the same line: thread t sets `flags[16 * t]` to 1 when it finds a
/// non-finite input value.
struct InputCheckFlags {
    /// 16 x threads values.
    let flags: UnsafeMutablePointer<UInt32>
    /// Number of threads.
    let threads: Int

    /// Marks thread `thread`'s share as holding a non-finite value.
    @inline(__always)
    func mark(_ thread: Int) { flags[16 * thread] = 1 }

    /// Clears every thread's flag.
    func reset() { for t in 0..<threads { flags[16 * t] = 0 } }

    /// Whether any thread found a non-finite value.
    var found: Bool { (0..<threads).contains { flags[16 * $0] != 0 } }
}
