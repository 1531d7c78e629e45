import Foundation
import ImageIO
import RobustSynthCore
import XCTest

/// Statistical checks of the three samplers against the fitted model.
///
/// Tolerances: with m samples, an empirical mean is off by about sqrt(Sigma_kk / m) (its standard
/// error) and an empirical covariance entry by about sqrt((Sigma_jj Sigma_kk + Sigma_jk^2) / m)
/// (Gaussian fourth moments). Every entry must lie within 5 standard errors (means) or 6
/// (covariances): for a correct sampler the chance that any of the 48 means or 1,176 distinct
/// covariances exceeds that is below 1e-4, and the seeds are fixed, so the test is deterministic.
/// A wrong scale (say 1/n instead of 1/(n - 1), about 9% off for n = 12) or a missing correlation
/// is about 8 standard errors away on the diagonal at m = 20000 (checked by mutating the sampler).
final class SamplerTests: XCTestCase {
    let r = 4, n = 12
    var d: Int { 3 * r * r }

    /// A class model with strong correlations: rows = a few shared patterns plus noise.
    func classModel(n: Int = 12, r: Int = 4, seed: UInt64 = 1) -> SeedClassModel {
        let d = 3 * r * r
        var rng = RandomStream(seed: seed)
        let patterns = (0..<3).map { _ in (0..<d).map { _ in Float(rng.nextNormal()) * 0.1 } }
        var rows = [Float]()
        for _ in 0..<n {
            let w = (0..<3).map { _ in Float(rng.nextNormal()) }
            for k in 0..<d {
                rows.append(0.5 + w[0] * patterns[0][k] + w[1] * patterns[1][k] + w[2] * patterns[2][k]
                            + Float(rng.nextNormal()) * 0.02)
            }
        }
        return SeedClassModel(label: 3, name: "three", rows: rows, count: n, dimension: d)
    }

    func seeds(_ m: Int, run: UInt64 = 42) -> [UInt64] { (0..<m).map { RandomStream.sampleSeed(run: run, index: $0) } }

    /// Empirical mean and covariance (divided by m - 1) of m samples of dimension d.
    func moments(_ x: [Float], m: Int, d: Int) -> (mean: [Double], cov: [[Double]]) {
        var mean = [Double](repeating: 0, count: d)
        for s in 0..<m { for k in 0..<d { mean[k] += Double(x[s * d + k]) } }
        mean = mean.map { $0 / Double(m) }
        var cov = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        var c = [Double](repeating: 0, count: d)
        for s in 0..<m {
            for k in 0..<d { c[k] = Double(x[s * d + k]) - mean[k] }
            for j in 0..<d { let cj = c[j]; for k in j..<d { cov[j][k] += cj * c[k] } }
        }
        for j in 0..<d { for k in j..<d { cov[j][k] /= Double(m - 1); cov[k][j] = cov[j][k] } }
        return (mean, cov)
    }

    func checkMoments(_ x: [Float], m: Int, mean mu: [Double], cov sigma: [[Double]], file: StaticString = #filePath, line: UInt = #line) {
        let d = mu.count
        let (mean, cov) = moments(x, m: m, d: d)
        var worstMean = 0.0, worstCov = 0.0
        for k in 0..<d {
            let se = (sigma[k][k] / Double(m)).squareRoot()
            worstMean = max(worstMean, abs(mean[k] - mu[k]) / se)
            for j in 0...k {
                let se2 = ((sigma[j][j] * sigma[k][k] + sigma[j][k] * sigma[j][k]) / Double(m)).squareRoot()
                worstCov = max(worstCov, abs(cov[j][k] - sigma[j][k]) / se2)
            }
        }
        XCTAssertLessThan(worstMean, 5, "worst mean deviation in standard errors", file: file, line: line)
        XCTAssertLessThan(worstCov, 6, "worst covariance deviation in standard errors", file: file, line: line)
    }

    func testMultivariateNormalHasTheFittedMeanAndCovariance() {
        let cm = classModel()
        let m = 20000
        let x = SeedSampling.drawRaw(.multivariateNormal, classModel: cm, resolution: r, seeds: seeds(m), jitter: 1e-4)
        XCTAssertEqual(x.shape, [m, 3, r, r])
        // Sigma = D^T D / (n - 1) + 1e-4 I, formed here only because d = 48.
        var sigma = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for i in 0..<n { for j in 0..<d { for k in 0..<d {
            sigma[j][k] += Double(cm.centred[i * d + j]) * Double(cm.centred[i * d + k]) / Double(n - 1)
        } } }
        for k in 0..<d {
            sigma[k][k] += 1e-4
            XCTAssertEqual(sigma[k][k] - 1e-4, Double(cm.variance[k]), accuracy: 1e-6)  // diag(D^T D)/(n-1) = variance
        }
        checkMoments(x.data, m: m, mean: cm.mean.map(Double.init), cov: sigma)
    }

    func testUnivariateNormalHasTheFittedMeanAndDiagonalCovariance() {
        let cm = classModel()
        let m = 20000
        let x = SeedSampling.drawRaw(.univariateNormal, classModel: cm, resolution: r, seeds: seeds(m))
        var sigma = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for k in 0..<d { sigma[k][k] = Double(cm.variance[k]) }
        checkMoments(x.data, m: m, mean: cm.mean.map(Double.init), cov: sigma)
    }

    func testUniformIsIndependentUnitUniform() {
        let m = 20000
        let x = SeedSampling.drawRaw(.uniform, classModel: nil, resolution: r, seeds: seeds(m))
        XCTAssertTrue(x.data.allSatisfy { $0 >= 0 && $0 < 1 })
        let (mean, cov) = moments(x.data, m: m, d: d)
        let seMean = (1.0 / 12 / Double(m)).squareRoot()
        let seVar = ((1.0 / 80 - 1.0 / 144) / Double(m)).squareRoot()
        let seCov = (1.0 / 12) / Double(m).squareRoot()
        for k in 0..<d {
            XCTAssertLessThan(abs(mean[k] - 0.5) / seMean, 5)
            XCTAssertLessThan(abs(cov[k][k] - 1.0 / 12) / seVar, 5)
            for j in 0..<k { XCTAssertLessThan(abs(cov[j][k]) / seCov, 6) }
        }
    }

    /// With n = 2 and no jitter, x - mean = (z0 - z1) / 1 * D[0]: every sample lies on the line.
    func testMultivariateSamplesSpanTheData() {
        let cm = classModel(n: 2)
        let x = SeedSampling.drawRaw(.multivariateNormal, classModel: cm, resolution: r, seeds: seeds(5), jitter: 0)
        for s in 0..<5 {
            let v = (0..<d).map { Double(x.data[s * d + $0] - cm.mean[$0]) }
            let t = v[0] / Double(cm.centred[0])
            for k in 0..<d { XCTAssertEqual(v[k], t * Double(cm.centred[k]), accuracy: 1e-5) }
        }
    }

    /// Same seed, same bytes, whatever the batch: one call of 24 against 24 calls of 1; the large
    /// model also takes the two-thread path in the batched call.
    func testSameSeedSameBytesWhateverTheBatch() {
        for (cm, res) in [(classModel(n: 50, r: 56), 56), (classModel(n: 7, r: 5), 5)] {
            let ss = seeds(24, run: 7)
            for dist in SeedDistribution.allCases {
                let batch = SeedSampling.drawRaw(dist, classModel: cm, resolution: res, seeds: ss)
                for (i, s) in ss.enumerated() {
                    let one = SeedSampling.drawRaw(dist, classModel: cm, resolution: res, seeds: [s])
                    XCTAssertEqual(one.data, Array(batch.data[batch.exampleRange(i)]), "\(dist) sample \(i) at R=\(res)")
                }
            }
        }
    }

    /// The blocked product against a plain triple loop (R = 5: d = 75, one strip plus a tail).
    func testMultivariateProductAgainstPlainLoops() {
        let cm = classModel(n: 7, r: 5)
        let d = 75
        let ss = seeds(3)
        let x = SeedSampling.drawRaw(.multivariateNormal, classModel: cm, resolution: 5, seeds: ss, jitter: 1e-4)
        for (s, seed) in ss.enumerated() {
            var rng = RandomStream(seed: seed)
            let z = (0..<7).map { _ in rng.nextNormal() }
            let e = (0..<d).map { _ in rng.nextNormal() }
            for k in 0..<d {
                var v = Double(cm.mean[k]) + 0.01 * e[k]
                for i in 0..<7 { v += z[i] * Double(cm.centred[i * d + k]) / 6.0.squareRoot() }
                XCTAssertEqual(Double(x.data[s * d + k]), v, accuracy: 1e-5)
            }
        }
    }

    func testDrawClampsUpsamplesAndNamesMissingClasses() throws {
        let model = SeedModel(resolution: 4, preprocess: .centreSquare, datasetPath: "/data/small",
                              classes: [classModel(), SeedClassModel(label: 5, name: "five", rows: classModel(seed: 2).centred.map { $0 * 9 + 0.5 }, count: 12, dimension: 48)])
        let classes = [3, 5, 3, 5], ss = seeds(4)
        for dist in SeedDistribution.allCases {
            let native = try SeedSampling.draw(dist, model: model, classes: classes, seeds: ss)
            XCTAssertEqual(native.shape, [4, 3, 4, 4])
            XCTAssertTrue(native.data.allSatisfy { $0 >= 0 && $0 <= 1 })
            let up = try SeedSampling.draw(dist, model: model, classes: classes, seeds: ss, size: (height: 10, width: 10))
            XCTAssertEqual(up, Resample.nearest(native, height: 10, width: 10))
            let bil = try SeedSampling.draw(dist, model: model, classes: classes, seeds: ss, size: (height: 10, width: 10), upsample: .bilinear)
            XCTAssertEqual(bil, Resample.bilinear(native, height: 10, width: 10))
            // Sample 2 (class 3) is drawn the same alone.
            let alone = try SeedSampling.draw(dist, model: model, classes: [3], seeds: [ss[2]])
            XCTAssertEqual(alone.data, Array(native.data[native.exampleRange(2)]))
        }
        XCTAssertThrowsError(try SeedSampling.draw(.univariateNormal, model: model, classes: [4], seeds: [1])) { e in
            XCTAssertEqual("\(e)", "the seed model fitted on '/data/small' has no class 4; it has 3 (three), 5 (five)")
        }
    }
}
