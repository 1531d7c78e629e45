import Foundation
import RobustSynthCore

/// Resampling of image tensors ([N, C, H, W] or [C, H, W], float, NCHW). Every method is
/// separable: a weight table per axis, applied along the width and then along the height.
public enum Resample {
    /// How an up-sampling (or general resize) interpolates.
    public enum Filter: String, Sendable, CaseIterable {
        /// PyTorch `F.interpolate(mode='nearest')`: source index floor(dst * in / out).
        case nearest
        /// Bilinear, half-pixel centres (PyTorch `align_corners=False`). When shrinking, the
        /// triangle is widened by the factor (antialiased, as PIL and torchvision `antialias=True`).
        case bilinear
        /// Area averaging: each output pixel is the mean of the input area it covers.
        case area
    }

    /// One axis, flat: output i reads inputs start[i] ..< start[i] + n with the n weights
    /// taps[offset[i] ..< offset[i + 1]].
    struct AxisWeights {
        var start: [Int] = []
        var offset: [Int] = [0]
        var taps: [Float] = []

        mutating func append(start first: Int, _ weights: [Float]) {
            start.append(first); taps += weights; offset.append(taps.count)
        }
    }

    /// Area weights: output o covers [o*in/out, (o+1)*in/out) in input pixels; each input pixel
    /// weighs its overlap. For an integer factor this is an exact box average.
    static func areaWeights(input: Int, output: Int) -> AxisWeights {
        var a = AxisWeights()
        // Work in units of 1/output input pixels, so integer factors stay exact.
        for o in 0..<output {
            let lo = o * input, hi = (o + 1) * input  // in 1/output units
            let first = lo / output, last = (hi - 1) / output
            var w = [Float]()
            for j in first...last {
                let overlap = Swift.min(hi, (j + 1) * output) - Swift.max(lo, j * output)
                w.append(Float(overlap) / Float(input))
            }
            a.append(start: first, w)
        }
        return a
    }

    /// PyTorch's nearest rule: src = floor(dst * in / out) (integer arithmetic).
    static func nearestWeights(input: Int, output: Int) -> AxisWeights {
        var a = AxisWeights()
        for o in 0..<output {
            a.append(start: Swift.min(o * input / output, input - 1), [1])
        }
        return a
    }

    /// Triangle filter with half-pixel centres; support widened by the factor when shrinking
    /// and `antialias` is set; weights renormalised where the window meets the border.
    static func bilinearWeights(input: Int, output: Int, antialias: Bool) -> AxisWeights {
        var a = AxisWeights()
        let scale = Double(input) / Double(output)
        let support = antialias ? Swift.max(scale, 1) : 1
        for o in 0..<output {
            let centre = (Double(o) + 0.5) * scale
            let lo = Swift.max(0, Int((centre - support).rounded(.down)))
            let hi = Swift.min(input, Int((centre + support).rounded(.up)) + 1)
            var w = [Double](), first = -1
            for j in lo..<hi {
                let t = abs((Double(j) + 0.5 - centre) / support)
                let v = Swift.max(0, 1 - t)
                if v > 0 {
                    if first < 0 { first = j }
                    w.append(v)
                } else if first >= 0 {
                    break
                }
            }
            if first < 0 {  // cannot happen for sane sizes; fall back to nearest
                first = Swift.min(Int(centre), input - 1); w = [1]
            }
            let sum = w.reduce(0, +)
            a.append(start: first, w.map { Float($0 / sum) })
        }
        return a
    }

    static func weights(_ filter: Filter, input: Int, output: Int, antialias: Bool = true) -> AxisWeights {
        switch filter {
        case .nearest: return nearestWeights(input: input, output: output)
        case .bilinear: return bilinearWeights(input: input, output: output, antialias: antialias)
        case .area: return areaWeights(input: input, output: output)
        }
    }

    /// Resizes every plane of `x` to height x width with the given filter.
    public static func resize(_ x: Tensor, height: Int, width: Int, filter: Filter, antialias: Bool = true) -> Tensor {
        let s = x.shape
        precondition(s.count >= 2, "resize needs [.., H, W], got \(s)")
        let h = s[s.count - 2], w = s[s.count - 1]
        precondition(h > 0 && w > 0 && height > 0 && width > 0, "resize \(s) to \(height)x\(width)")
        if h == height && w == width { return x }
        let planes = x.count / (h * w)
        let wx = weights(filter, input: w, output: width, antialias: antialias)
        let wy = weights(filter, input: h, output: height, antialias: antialias)
        var out = [Float](repeating: 0, count: planes * height * width)
        if filter == .nearest {
            // A gather: one source index per output row and column.
            let xs = wx.start, ys = wy.start
            x.data.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for p in 0..<planes {
                        let plane = src.baseAddress! + p * h * w
                        let op = dst.baseAddress! + p * height * width
                        for o in 0..<height {
                            let row = plane + ys[o] * w, orow = op + o * width
                            for i in 0..<width { orow[i] = row[xs[i]] }
                        }
                    }
                }
            }
            return Tensor(shape: Array(s.dropLast(2)) + [height, width], data: out)
        }
        var tmp = [Float](repeating: 0, count: h * width)
        x.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                tmp.withUnsafeMutableBufferPointer { t in
                    for p in 0..<planes {
                        let plane = src.baseAddress! + p * h * w
                        // along the width: [h, w] -> [h, width]
                        for y in 0..<h {
                            let row = plane + y * w
                            for o in 0..<width {
                                let st = wx.start[o], a = wx.offset[o], b = wx.offset[o + 1]
                                var acc: Float = 0
                                for k in a..<b { acc += wx.taps[k] * row[st + k - a] }
                                t[y * width + o] = acc
                            }
                        }
                        // along the height: [h, width] -> [height, width]
                        let op = dst.baseAddress! + p * height * width
                        for o in 0..<height {
                            let st = wy.start[o]
                            let orow = op + o * width
                            for i in 0..<width { orow[i] = 0 }
                            for k in wy.offset[o]..<wy.offset[o + 1] {
                                let irow = t.baseAddress! + (st + k - wy.offset[o]) * width
                                let wk = wy.taps[k]
                                for i in 0..<width { orow[i] += wk * irow[i] }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: Array(s.dropLast(2)) + [height, width], data: out)
    }

    /// Area-averaging down-sampling (exact box average for integer factors).
    public static func areaDown(_ x: Tensor, height: Int, width: Int) -> Tensor {
        resize(x, height: height, width: width, filter: .area)
    }

    /// Nearest up-sampling with PyTorch's index rule floor(dst * in / out).
    public static func nearest(_ x: Tensor, height: Int, width: Int) -> Tensor {
        resize(x, height: height, width: width, filter: .nearest)
    }

    /// Bilinear resize (half-pixel centres; antialiased when shrinking unless `antialias` is false).
    public static func bilinear(_ x: Tensor, height: Int, width: Int, antialias: Bool = true) -> Tensor {
        resize(x, height: height, width: width, filter: .bilinear, antialias: antialias)
    }

    /// Resizes so that the shorter side becomes `size` (torchvision `Resize(size)`: the longer
    /// side becomes int(size * long / short)), antialiased bilinear.
    public static func resizeShorterSide(_ x: Tensor, to size: Int) -> Tensor {
        let h = x.shape[x.shape.count - 2], w = x.shape[x.shape.count - 1]
        let (nh, nw): (Int, Int) = h <= w ? (size, Int(Double(size) * Double(w) / Double(h)))
                                          : (Int(Double(size) * Double(h) / Double(w)), size)
        return bilinear(x, height: nh, width: nw)
    }

    /// The central height x width window (torchvision `CenterCrop`: top = round((H - h) / 2),
    /// round half to even as Python does). The input must be at least that large.
    public static func centreCrop(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let s = x.shape
        let h = s[s.count - 2], w = s[s.count - 1]
        precondition(h >= height && w >= width, "centre crop \(height)x\(width) of \(h)x\(w)")
        let top = Int((Double(h - height) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(w - width) / 2).rounded(.toNearestOrEven))
        return crop(x, top: top, left: left, height: height, width: width)
    }

    /// The window at (top, left) of size height x width of every plane.
    public static func crop(_ x: Tensor, top: Int, left: Int, height: Int, width: Int) -> Tensor {
        let s = x.shape
        let h = s[s.count - 2], w = s[s.count - 1]
        precondition(top >= 0 && left >= 0 && top + height <= h && left + width <= w)
        let planes = x.count / (h * w)
        var out = [Float]()
        out.reserveCapacity(planes * height * width)
        for p in 0..<planes {
            for y in 0..<height {
                let src = p * h * w + (top + y) * w + left
                out += x.data[src..<(src + width)]   // one row at a time
            }
        }
        return Tensor(shape: Array(s.dropLast(2)) + [height, width], data: out)
    }

    /// The largest centred square.
    public static func centreSquare(_ x: Tensor) -> Tensor {
        let h = x.shape[x.shape.count - 2], w = x.shape[x.shape.count - 1]
        let side = Swift.min(h, w)
        return centreCrop(x, height: side, width: side)
    }

    /// How an image becomes a classifier's input (`rsynth classify`, `dataset-image`, the judge):
    /// an image already at height x width is used exactly as stored; any other size gets the
    /// ImageNet evaluation transform scaled to it (shorter side to round(S * 256 / 224), then the
    /// central height x width; for S = 224 that is 256 and 224).
    public static func classifierInput(_ x: Tensor, height: Int, width: Int) -> Tensor {
        if x.shape[x.shape.count - 2] == height && x.shape[x.shape.count - 1] == width { return x }
        let shorter = Int((Double(Swift.max(height, width)) * 256 / 224).rounded())
        return centreCrop(resizeShorterSide(x, to: shorter), height: height, width: width)
    }

    /// The standard ImageNet evaluation transform: shorter side to `resize` (256) with
    /// antialiased bilinear, then the central `crop` x `crop` (224).
    public static func imageNetEval(_ x: Tensor, resize: Int = 256, crop: Int = 224) -> Tensor {
        centreCrop(resizeShorterSide(x, to: resize), height: crop, width: crop)
    }
}
