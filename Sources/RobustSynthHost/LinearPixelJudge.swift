import Foundation
import ImageIO
import RobustSynthCore

/// A second independent judge, of another family than the k-NN: a linear classifier on grey
/// pixels (one-vs-rest ridge regression, closed form) trained on a folder of real labelled
/// images. Like the k-NN it never sees the classifier under test. Where the k-NN asks "which
/// real image is this closest to", this one asks "which class's pixel template does it match",
/// so the two disagree in different ways and a result both recognise is recognisable.
///
/// Features: each image resized to `size` x `size` by area averaging (a whole factor, as the
/// digits' 16 -> 8) or the classifier-input transform, averaged over channels, centred on the
/// training mean. Weights W [d, K] = (XᵀX + λI)⁻¹ Xᵀ(Y - 1/K), λ = ridge x mean diagonal of XᵀX.
public final class LinearPixelJudge {
    public let dataset: String
    public let size: Int
    public let ridge: Float
    let mean: [Float]        // [d]
    let weights: [Double]    // [d, K] row-major
    let classCount: Int

    public init(dataset: String, labels: ClassLabels, size: Int, ridge: Float = 0.1) throws {
        let data = try ImageFolderDataset(root: dataset, labels: labels)
        let features = try data.items.map { try Self.features(ImageFile.read($0.path).tensor(), size: size) }
        let d = size * size, n = features.count, k = labels.count
        var mean = [Float](repeating: 0, count: d)
        for f in features { for j in 0..<d { mean[j] += f[j] / Float(n) } }
        // Gram matrix G = XᵀX (centred) and right-hand side B = Xᵀ(Y - 1/K), in double.
        var g = [Double](repeating: 0, count: d * d)
        var b = [Double](repeating: 0, count: d * k)
        var x = [Double](repeating: 0, count: d)
        for (i, f) in features.enumerated() {
            for j in 0..<d { x[j] = Double(f[j] - mean[j]) }
            for r in 0..<d where x[r] != 0 {
                let xr = x[r]
                for c in r..<d { g[r * d + c] += xr * x[c] }
                for c in 0..<k { b[r * k + c] += xr * ((c == data.items[i].label ? 1 : 0) - 1 / Double(k)) }
            }
        }
        var trace = 0.0
        for r in 0..<d { trace += g[r * d + r]; for c in 0..<r { g[r * d + c] = g[c * d + r] } }
        let lambda = Double(ridge) * max(trace / Double(d), 1e-12)
        for r in 0..<d { g[r * d + r] += lambda }
        self.dataset = dataset; self.size = size; self.ridge = ridge
        self.mean = mean; self.classCount = k
        self.weights = try Self.solveSPD(g, b, n: d, columns: k)
    }

    /// Grey features of one image [C, H, W] at size x size.
    static func features(_ image: Tensor, size: Int) -> [Float] {
        let (h, w) = (image.shape[image.shape.count - 2], image.shape[image.shape.count - 1])
        let small = h % size == 0 && w % size == 0 && h == w
            ? Resample.areaDown(image, height: size, width: size)
            : Resample.classifierInput(image, height: size, width: size)
        let c = small.data.count / (size * size)
        return (0..<(size * size)).map { p in (0..<c).reduce(Float(0)) { $0 + small.data[$1 * size * size + p] } / Float(c) }
    }

    /// Solves G W = B for symmetric positive definite G [n, n] by Cholesky (G = L Lᵀ).
    static func solveSPD(_ g: [Double], _ b: [Double], n: Int, columns k: Int) throws -> [Double] {
        var l = g
        for j in 0..<n {
            var s = l[j * n + j]
            for p in 0..<j { s -= l[j * n + p] * l[j * n + p] }
            guard s > 0 else { throw RunError("the linear judge's ridge system is not positive definite (column \(j))") }
            let root = s.squareRoot()
            l[j * n + j] = root
            for i in (j + 1)..<n {
                var t = l[i * n + j]
                for p in 0..<j { t -= l[i * n + p] * l[j * n + p] }
                l[i * n + j] = t / root
            }
        }
        var w = b
        for c in 0..<k {
            for i in 0..<n {   // L y = b
                var t = w[i * k + c]
                for p in 0..<i { t -= l[i * n + p] * w[p * k + c] }
                w[i * k + c] = t / l[i * n + i]
            }
            for i in stride(from: n - 1, through: 0, by: -1) {   // Lᵀ w = y
                var t = w[i * k + c]
                for p in (i + 1)..<n { t -= l[p * n + i] * w[p * k + c] }
                w[i * k + c] = t / l[i * n + i]
            }
        }
        return w
    }

    /// The class whose score is highest for an image [C, H, W].
    public func classify(_ image: Tensor) -> Int {
        let f = Self.features(image, size: size)
        var best = (score: -Double.infinity, label: -1)
        for c in 0..<classCount {
            var s = 0.0
            for j in 0..<f.count { s += Double(f[j] - mean[j]) * weights[j * classCount + c] }
            if s > best.score { best = (s, c) }
        }
        return best.label
    }
}
