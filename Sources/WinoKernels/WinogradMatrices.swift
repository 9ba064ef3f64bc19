// GENERATED FILE - DO NOT EDIT.
// Regenerate with: python3 scripts/winograd_matrices.py --swift > Sources/WinoKernels/WinogradMatrices.swift
// The generator builds and verifies every matrix in exact rationals; see
// Docs/WINOGRAD.md (normative for the .swz variant codes 1, 2, 3).

/// A Winograd tile variant F(m x m, r x r); the raw value is the variant
/// code stored in `.swz` files (normative, see Docs/WINOGRAD.md).
public enum WinogradTile: Int, CaseIterable, Sendable {
    /// F(2x2,3x3): alpha = 4, points 0, 1, -1, inf.
    case f2x2_3x3 = 1
    /// F(4x4,3x3): alpha = 6, points 0, 1, -1, 2, -2, inf.
    case f4x4_3x3 = 2
    /// F(4x4,5x5): alpha = 8, points 0, 1, -1, 2, -2, 1/2, -1/2, inf.
    case f4x4_5x5 = 3

    /// Output tile size m (the tile produces m x m outputs).
    public var m: Int {
        switch self {
        case .f2x2_3x3: return 2
        case .f4x4_3x3: return 4
        case .f4x4_5x5: return 4
        }
    }

    /// Kernel size r (r x r filters).
    public var r: Int {
        switch self {
        case .f2x2_3x3: return 3
        case .f4x4_3x3: return 3
        case .f4x4_5x5: return 5
        }
    }

    /// Input tile size alpha = m + r - 1 (alpha x alpha Winograd positions).
    public var alpha: Int { m + r - 1 }
}

/// Exact Winograd transform matrices, row-major `[Double]`.
///
/// For a tile variant with output size m, kernel size r, alpha = m + r - 1:
/// V = B^T d B (input tile d, alpha x alpha), U = G g G^T (filter g, r x r),
/// M = U * V elementwise, Y = A^T M A (m x m). Every entry is the double
/// closest to the exact rational in Docs/WINOGRAD.md.
///
/// Winograd points (in row order of G and B^T, column order of A^T):
/// - F(2x2,3x3) (code 1): 0, 1, -1, inf
/// - F(4x4,3x3) (code 2): 0, 1, -1, 2, -2, inf
/// - F(4x4,5x5) (code 3): 0, 1, -1, 2, -2, 1/2, -1/2, inf
public enum WinogradMatrices {
    /// F(2x2,3x3) B^T, 4 x 4.
    private static let bt_f2x2_3x3: [Double] = [
         1.0,  0.0, -1.0,  0.0,
         0.0,  1.0,  1.0,  0.0,
         0.0, -1.0,  1.0,  0.0,
         0.0,  1.0,  0.0, -1.0,
    ]
    /// F(2x2,3x3) G, 4 x 3.
    private static let g_f2x2_3x3: [Double] = [
               1.0,        0.0,        0.0,
         1.0 / 2.0,  1.0 / 2.0,  1.0 / 2.0,
         1.0 / 2.0, -1.0 / 2.0,  1.0 / 2.0,
               0.0,        0.0,        1.0,
    ]
    /// F(2x2,3x3) A^T, 2 x 4.
    private static let at_f2x2_3x3: [Double] = [
         1.0,  1.0,  1.0,  0.0,
         0.0,  1.0, -1.0, -1.0,
    ]

    /// F(4x4,3x3) B^T, 6 x 6.
    private static let bt_f4x4_3x3: [Double] = [
         4.0,  0.0, -5.0,  0.0,  1.0,  0.0,
         0.0, -4.0, -4.0,  1.0,  1.0,  0.0,
         0.0,  4.0, -4.0, -1.0,  1.0,  0.0,
         0.0, -2.0, -1.0,  2.0,  1.0,  0.0,
         0.0,  2.0, -1.0, -2.0,  1.0,  0.0,
         0.0,  4.0,  0.0, -5.0,  0.0,  1.0,
    ]
    /// F(4x4,3x3) G, 6 x 3.
    private static let g_f4x4_3x3: [Double] = [
          1.0 / 4.0,         0.0,         0.0,
         -1.0 / 6.0,  -1.0 / 6.0,  -1.0 / 6.0,
         -1.0 / 6.0,   1.0 / 6.0,  -1.0 / 6.0,
         1.0 / 24.0,  1.0 / 12.0,   1.0 / 6.0,
         1.0 / 24.0, -1.0 / 12.0,   1.0 / 6.0,
                0.0,         0.0,         1.0,
    ]
    /// F(4x4,3x3) A^T, 4 x 6.
    private static let at_f4x4_3x3: [Double] = [
         1.0,  1.0,  1.0,  1.0,  1.0,  0.0,
         0.0,  1.0, -1.0,  2.0, -2.0,  0.0,
         0.0,  1.0,  1.0,  4.0,  4.0,  0.0,
         0.0,  1.0, -1.0,  8.0, -8.0,  1.0,
    ]

    /// F(4x4,5x5) B^T, 8 x 8.
    private static let bt_f4x4_5x5: [Double] = [
               -1.0,         0.0,  21.0 / 4.0,         0.0, -21.0 / 4.0,         0.0,         1.0,         0.0,
                0.0,         1.0,         1.0, -17.0 / 4.0, -17.0 / 4.0,         1.0,         1.0,         0.0,
                0.0,        -1.0,         1.0,  17.0 / 4.0, -17.0 / 4.0,        -1.0,         1.0,         0.0,
                0.0,   1.0 / 2.0,   1.0 / 4.0,  -5.0 / 2.0,  -5.0 / 4.0,         2.0,         1.0,         0.0,
                0.0,  -1.0 / 2.0,   1.0 / 4.0,   5.0 / 2.0,  -5.0 / 4.0,        -2.0,         1.0,         0.0,
                0.0,         2.0,         4.0,  -5.0 / 2.0,        -5.0,   1.0 / 2.0,         1.0,         0.0,
                0.0,        -2.0,         4.0,   5.0 / 2.0,        -5.0,  -1.0 / 2.0,         1.0,         0.0,
                0.0,        -1.0,         0.0,  21.0 / 4.0,         0.0, -21.0 / 4.0,         0.0,         1.0,
    ]
    /// F(4x4,5x5) G, 8 x 5.
    private static let g_f4x4_5x5: [Double] = [
                -1.0,          0.0,          0.0,          0.0,          0.0,
          -2.0 / 9.0,   -2.0 / 9.0,   -2.0 / 9.0,   -2.0 / 9.0,   -2.0 / 9.0,
          -2.0 / 9.0,    2.0 / 9.0,   -2.0 / 9.0,    2.0 / 9.0,   -2.0 / 9.0,
          1.0 / 90.0,   1.0 / 45.0,   2.0 / 45.0,   4.0 / 45.0,   8.0 / 45.0,
          1.0 / 90.0,  -1.0 / 45.0,   2.0 / 45.0,  -4.0 / 45.0,   8.0 / 45.0,
         32.0 / 45.0,  16.0 / 45.0,   8.0 / 45.0,   4.0 / 45.0,   2.0 / 45.0,
         32.0 / 45.0, -16.0 / 45.0,   8.0 / 45.0,  -4.0 / 45.0,   2.0 / 45.0,
                 0.0,          0.0,          0.0,          0.0,          1.0,
    ]
    /// F(4x4,5x5) A^T, 4 x 8.
    private static let at_f4x4_5x5: [Double] = [
               1.0,        1.0,        1.0,        1.0,        1.0,        1.0,        1.0,        0.0,
               0.0,        1.0,       -1.0,        2.0,       -2.0,  1.0 / 2.0, -1.0 / 2.0,        0.0,
               0.0,        1.0,        1.0,        4.0,        4.0,  1.0 / 4.0,  1.0 / 4.0,        0.0,
               0.0,        1.0,       -1.0,        8.0,       -8.0,  1.0 / 8.0, -1.0 / 8.0,        1.0,
    ]

    /// B^T, the input transform: alpha x alpha, row-major.
    public static func bt(_ t: WinogradTile) -> [Double] {
        switch t {
        case .f2x2_3x3: return bt_f2x2_3x3
        case .f4x4_3x3: return bt_f4x4_3x3
        case .f4x4_5x5: return bt_f4x4_5x5
        }
    }

    /// G, the filter transform: alpha x r, row-major.
    public static func g(_ t: WinogradTile) -> [Double] {
        switch t {
        case .f2x2_3x3: return g_f2x2_3x3
        case .f4x4_3x3: return g_f4x4_3x3
        case .f4x4_5x5: return g_f4x4_5x5
        }
    }

    /// A^T, the output transform: m x alpha, row-major.
    public static func at(_ t: WinogradTile) -> [Double] {
        switch t {
        case .f2x2_3x3: return at_f2x2_3x3
        case .f4x4_3x3: return at_f4x4_3x3
        case .f4x4_5x5: return at_f4x4_5x5
        }
    }

    /// The Winograd points of `t` as (numerator, denominator) pairs in
    /// row order; infinity is (1, 0).
    public static func points(_ t: WinogradTile) -> [(Int, Int)] {
        switch t {
        case .f2x2_3x3: return [(0, 1), (1, 1), (-1, 1), (1, 0)]
        case .f4x4_3x3: return [(0, 1), (1, 1), (-1, 1), (2, 1), (-2, 1), (1, 0)]
        case .f4x4_5x5: return [(0, 1), (1, 1), (-1, 1), (2, 1), (-2, 1), (1, 2), (-1, 2), (1, 0)]
        }
    }
}
