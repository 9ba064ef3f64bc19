// Naive operators that accumulate in Double: the test oracle. Written for
// clarity, not speed; each follows its definition literally.
// Activations are [N] + per-sample shape, NCHW, as Double arrays.
import WinoFormat
import WinoKernels
#if canImport(Glibc)
import Glibc
#endif

/// Literal Double-precision implementations of every operator.
public enum Reference {
    /// Direct convolution. `weight` is [K, C/groups, R, S] (dense values).
    public static func conv(_ x: [Double], n: Int, c: Int, h: Int, w: Int,
                            weight: [Float], bias: [Float]?, p: ConvParams) -> [Double] {
        let win = p.window, K = p.outChannels, G = p.groups, cg = c / G, kg = K / G
        let R = win.kernelH, S = win.kernelW
        let o = win.outputSize(h: h, w: w)
        var y = [Double](repeating: 0, count: n * K * o.h * o.w)
        for b in 0..<n {
            for k in 0..<K {
                let g = k / kg
                for oy in 0..<o.h {
                    for ox in 0..<o.w {
                        var s = Double(bias?[k] ?? 0)
                        for ci in 0..<cg {
                            for r in 0..<R {
                                let iy = oy * win.strideH + r - win.padTop
                                if iy < 0 || iy >= h { continue }
                                for q in 0..<S {
                                    let ix = ox * win.strideW + q - win.padLeft
                                    if ix < 0 || ix >= w { continue }
                                    s += Double(weight[((k * cg + ci) * R + r) * S + q]) * x[((b * c + g * cg + ci) * h + iy) * w + ix]
                                }
                            }
                        }
                        y[((b * K + k) * o.h + oy) * o.w + ox] = p.relu ? max(s, 0) : s
                    }
                }
            }
        }
        return y
    }

    /// Winograd convolution from Winograd-domain weights [alpha, alpha, K, C/groups],
    /// tile by tile with the exact matrices in Double: Y = A^T [U (.) (B^T d B)] A.
    public static func winogradConv(_ x: [Double], n: Int, c: Int, h: Int, w: Int,
                                     weight: [Float], bias: [Float]?, p: ConvParams) -> [Double] {
        let tile = WinogradTile(rawValue: Int(p.winograd!.rawValue))!
        let m = tile.m, a = tile.alpha
        let bt = WinogradMatrices.bt(tile), at = WinogradMatrices.at(tile)
        let K = p.outChannels, G = p.groups, cg = c / G, kg = K / G
        let o = p.window.outputSize(h: h, w: w)
        let th = (o.h + m - 1) / m, tw = (o.w + m - 1) / m
        var y = [Double](repeating: 0, count: n * K * o.h * o.w)
        var d = [Double](repeating: 0, count: a * a)
        var v = [Double](repeating: 0, count: cg * a * a)
        for b in 0..<n {
            for g in 0..<G {
                for ty in 0..<th {
                    for tx in 0..<tw {
                        // V[c] = B^T d B for every input channel of the group.
                        for ci in 0..<cg {
                            for i in 0..<a {
                                for j in 0..<a {
                                    let iy = ty * m + i - p.window.padTop, ix = tx * m + j - p.window.padLeft
                                    d[i * a + j] = (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                        ? x[((b * c + g * cg + ci) * h + iy) * w + ix] : 0
                                }
                            }
                            let vt = matmul(matmul(bt, d, a, a, a), transpose(bt, a, a), a, a, a)
                            for e in 0..<(a * a) { v[ci * a * a + e] = vt[e] }
                        }
                        for kl in 0..<kg {
                            let k = g * kg + kl
                            var mm = [Double](repeating: 0, count: a * a)
                            for xi in 0..<(a * a) {
                                var s = 0.0
                                for ci in 0..<cg { s += Double(weight[(xi * K + k) * cg + ci]) * v[ci * a * a + xi] }
                                mm[xi] = s
                            }
                            let yt = matmul(matmul(at, mm, m, a, a), transpose(at, m, a), m, a, m)
                            for i in 0..<m {
                                for j in 0..<m {
                                    let oy = ty * m + i, ox = tx * m + j
                                    if oy >= o.h || ox >= o.w { continue }
                                    let s = yt[i * m + j] + Double(bias?[k] ?? 0)
                                    y[((b * K + k) * o.h + oy) * o.w + ox] = p.relu ? max(s, 0) : s
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// Row-major product of (r x k) and (k x c) matrices.
    static func matmul(_ x: [Double], _ y: [Double], _ r: Int, _ k: Int, _ c: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { var s = 0.0; for l in 0..<k { s += x[i * k + l] * y[l * c + j] }; out[i * c + j] = s } }
        return out
    }

    static func transpose(_ x: [Double], _ r: Int, _ c: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { out[j * r + i] = x[i * c + j] } }
        return out
    }

    /// Max (isMax) or average pooling.
    public static func pool(_ x: [Double], n: Int, c: Int, h: Int, w: Int, p: PoolParams, isMax: Bool) -> [Double] {
        let win = p.window
        let o = win.outputSize(h: h, w: w, ceilMode: p.ceilMode)
        var y = [Double](repeating: 0, count: n * c * o.h * o.w)
        for plane in 0..<(n * c) {
            for oy in 0..<o.h {
                for ox in 0..<o.w {
                    let y0 = oy * win.strideH - win.padTop, x0 = ox * win.strideW - win.padLeft
                    var best = -Double.infinity, sum = 0.0, valid = 0, padded = 0
                    for i in 0..<win.kernelH {
                        for j in 0..<win.kernelW {
                            let iy = y0 + i, ix = x0 + j
                            if iy < h + win.padBottom && ix < w + win.padRight { padded += 1 }
                            if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                            let v = x[(plane * h + iy) * w + ix]
                            best = max(best, v); sum += v; valid += 1
                        }
                    }
                    let div = p.countIncludePad ? padded : valid
                    y[(plane * o.h + oy) * o.w + ox] = isMax ? best : (div > 0 ? sum / Double(div) : 0)
                }
            }
        }
        return y
    }

    /// Local response normalisation across channels.
    public static func lrn(_ x: [Double], n: Int, c: Int, hw: Int, p: LRNParams) -> [Double] {
        var y = x
        for b in 0..<n {
            for ch in 0..<c {
                for q in 0..<hw {
                    var s = 0.0
                    for cc in max(0, ch - (p.size - 1) / 2)...min(c - 1, ch + p.size / 2) {
                        let v = x[(b * c + cc) * hw + q]; s += v * v
                    }
                    y[(b * c + ch) * hw + q] = x[(b * c + ch) * hw + q] / pow(Double(p.bias) + Double(p.alpha) / Double(p.size) * s, Double(p.beta))
                }
            }
        }
        return y
    }

    /// Fully connected: y[n][o] = b[o] + sum_i W[o][i] x[n][i].
    public static func fullyConnected(_ x: [Double], n: Int, weight: [Float], outFeatures: Int, bias: [Float]?, relu: Bool) -> [Double] {
        let f = weight.count / outFeatures
        var y = [Double](repeating: 0, count: n * outFeatures)
        for b in 0..<n {
            for o in 0..<outFeatures {
                var s = Double(bias?[o] ?? 0)
                for i in 0..<f { s += Double(weight[o * f + i]) * x[b * f + i] }
                y[b * outFeatures + o] = relu ? max(s, 0) : s
            }
        }
        return y
    }

    /// Softmax over `channels` values spaced `inner` apart, per sample.
    public static func softmax(_ x: [Double], n: Int, channels: Int, inner: Int) -> [Double] {
        var y = x
        for b in 0..<n {
            for q in 0..<inner {
                let idx = (0..<channels).map { (b * channels + $0) * inner + q }
                let mx = idx.map { x[$0] }.max()!
                let s = idx.reduce(0.0) { $0 + exp(x[$1] - mx) }
                for i in idx { y[i] = exp(x[i] - mx) / s }
            }
        }
        return y
    }

    /// PReLU: y = x for x >= 0, else slope * x; `slope` has 1, C or `perSample` values,
    /// each covering perSample / slope.count consecutive elements of a sample.
    public static func prelu(_ x: [Double], slope: [Float], perSample: Int) -> [Double] {
        let inner = perSample / slope.count
        return x.indices.map { i in
            let a = Double(slope[(i % perSample) / inner])
            return x[i] >= 0 ? x[i] : a * x[i]
        }
    }
}
