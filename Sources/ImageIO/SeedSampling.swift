import Foundation
import RobustSynthCore

/// The seed paper's seed distributions.
public enum SeedDistribution: String, Sendable, CaseIterable {
    /// U[0, 1) per pixel, independent of the class.
    case uniform
    /// Independent normal per pixel: mean + sqrt(variance) * z.
    case univariateNormal = "univariate-normal"
    /// The class's empirical covariance, sampled exactly through D:
    /// x = mean + D^T z / sqrt(n - 1) + sqrt(jitter) * e, z ~ N(0, I_n), e ~ N(0, I_d).
    case multivariateNormal = "multivariate-normal"
}

/// Sampling seeds from fitted seed models. Pure functions: every sample draws from its own
/// `RandomStream(seed:)`, so a seed gives the same values whatever the batch it is drawn in.
/// Draw order per sample: uniform: d uniforms; univariate: d normals; multivariate: n normals (z),
/// then d normals (e).
public enum SeedSampling {
    /// MadryLab adds 1e-4 * I to the covariance.
    public static let defaultJitter: Float = 1e-4

    /// Unclamped samples at the model's native resolution: [count, 3, R, R]. `classModel` may be
    /// nil for `.uniform` (then `dimension` must be given through `resolution`).
    public static func drawRaw(_ distribution: SeedDistribution, classModel: SeedClassModel?, resolution: Int,
                               seeds: [UInt64], jitter: Float = defaultJitter) -> Tensor {
        let d = 3 * resolution * resolution
        let m = seeds.count
        var out = [Float](repeating: 0, count: m * d)
        switch distribution {
        case .uniform:
            for s in 0..<m {
                var rng = RandomStream(seed: seeds[s])
                for k in 0..<d { out[s * d + k] = rng.nextUniformFloat() }
            }
        case .univariateNormal:
            guard let c = classModel else { preconditionFailure("univariate-normal needs a class model") }
            precondition(c.dimension == d)
            let sd = c.variance.map { Swift.max($0, 0).squareRoot() }
            for s in 0..<m {
                var rng = RandomStream(seed: seeds[s])
                for k in 0..<d { out[s * d + k] = c.mean[k] + sd[k] * Float(rng.nextNormal()) }
            }
        case .multivariateNormal:
            guard let c = classModel else { preconditionFailure("multivariate-normal needs a class model") }
            precondition(c.dimension == d)
            let n = c.count
            let scale = 1 / Double(n - 1).squareRoot()
            var z = [Float](repeating: 0, count: m * n)
            var e = [Float](repeating: 0, count: m * d)
            for s in 0..<m {
                var rng = RandomStream(seed: seeds[s])
                for i in 0..<n { z[s * n + i] = Float(rng.nextNormal() * scale) }
                for k in 0..<d { e[s * d + k] = Float(rng.nextNormal()) }
            }
            // out = Z D (m x n times n x d), then + mean + sqrt(jitter) e.
            multiplyZD(z: z, m: m, n: n, centred: c.centred, d: d, out: &out)
            let sj = Swift.max(jitter, 0).squareRoot()
            for s in 0..<m {
                for k in 0..<d { out[s * d + k] = out[s * d + k] + c.mean[k] + sj * e[s * d + k] }
            }
        }
        return Tensor(shape: [m, 3, resolution, resolution], data: out)
    }

    /// out[s, k] = sum_i z[s, i] * D[i, k], summed in i order for every element (so the bytes do
    /// not depend on m or on how the work is split). Column strips of 64 are kept in registers and
    /// the strip of D streams from cache; strips are split over 2 threads when the work is large.
    static func multiplyZD(z: [Float], m: Int, n: Int, centred: [Float], d: Int, out: inout [Float]) {
        let strip = 64
        let strips = (d + strip - 1) / strip
        z.withUnsafeBufferPointer { zb in
            centred.withUnsafeBufferPointer { db in
                out.withUnsafeMutableBufferPointer { ob in
                    let zp = zb.baseAddress!, dp = db.baseAddress!, op = ob.baseAddress!
                    let work = { (t: Int, threads: Int) in
                        var j = t
                        while j < strips {
                            let k0 = j * strip
                            let width = Swift.min(strip, d - k0)
                            if width == strip {
                                for s in 0..<m {
                                    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                                    let zr = zp + s * n
                                    for i in 0..<n {
                                        let zi = SIMD16<Float>(repeating: zr[i])
                                        let row = UnsafeRawPointer(dp + i * d + k0)
                                        a0 += zi * row.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
                                        a1 += zi * row.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                                        a2 += zi * row.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
                                        a3 += zi * row.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
                                    }
                                    let o = UnsafeMutableRawPointer(op + s * d + k0)
                                    o.storeBytes(of: a0, toByteOffset: 0, as: SIMD16<Float>.self)
                                    o.storeBytes(of: a1, toByteOffset: 64, as: SIMD16<Float>.self)
                                    o.storeBytes(of: a2, toByteOffset: 128, as: SIMD16<Float>.self)
                                    o.storeBytes(of: a3, toByteOffset: 192, as: SIMD16<Float>.self)
                                }
                            } else {
                                for s in 0..<m {
                                    let zr = zp + s * n
                                    for k in k0..<(k0 + width) {
                                        var acc: Float = 0
                                        for i in 0..<n { acc += zr[i] * dp[i * d + k] }
                                        op[s * d + k] = acc
                                    }
                                }
                            }
                            j += threads
                        }
                    }
                    if m * n * d >= 4_000_000 && strips >= 2 {
                        DispatchQueue.concurrentPerform(iterations: 2) { t in work(t, 2) }
                    } else {
                        work(0, 1)
                    }
                }
            }
        }
    }

    /// Seeds for `classes` (one per seed), clamped to [0, 1] and, when `size` is given, up-sampled
    /// to it (nearest by default: PyTorch's rule; bilinear on request). Samples are drawn at the
    /// model's resolution R; uniform seeds too, so that every distribution has the same grain.
    public static func draw(_ distribution: SeedDistribution, model: SeedModel, classes: [Int], seeds: [UInt64],
                            jitter: Float = defaultJitter, size: (height: Int, width: Int)? = nil,
                            upsample: Resample.Filter = .nearest) throws -> Tensor {
        precondition(classes.count == seeds.count)
        let r = model.resolution, d = model.dimension
        var out = [Float](repeating: 0, count: seeds.count * d)
        // Group by class so the multivariate product runs once per class.
        var groups = [Int: [Int]]()
        for (s, c) in classes.enumerated() { groups[c, default: []].append(s) }
        for (c, members) in groups.sorted(by: { $0.key < $1.key }) {
            var cm: SeedClassModel?
            if distribution != .uniform {
                guard let found = model.classModel(c) else {
                    let have = model.classes.map { "\($0.label) (\($0.name))" }.joined(separator: ", ")
                    throw ImageError("the seed model fitted on '\(model.datasetPath)' has no class \(c); it has \(have)")
                }
                cm = found
            }
            let raw = drawRaw(distribution, classModel: cm, resolution: r, seeds: members.map { seeds[$0] }, jitter: jitter)
            for (j, s) in members.enumerated() {
                for k in 0..<d { out[s * d + k] = Swift.min(Swift.max(raw.data[j * d + k], 0), 1) }
            }
        }
        let t = Tensor(shape: [seeds.count, 3, r, r], data: out)
        guard let size, size.height != r || size.width != r else { return t }
        return Resample.resize(t, height: size.height, width: size.width, filter: upsample)
    }
}
