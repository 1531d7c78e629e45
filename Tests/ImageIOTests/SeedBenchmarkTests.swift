import Foundation
import ImageIO
import RobustSynthCore
import XCTest

/// Benchmark, skipped unless RSYNTH_BENCH=1. Run it in release (other test targets use @testable):
/// `swift build -c release --build-tests -Xswiftc -enable-testing &&
///  RSYNTH_BENCH=1 swift test -c release -Xswiftc -enable-testing --skip-build --filter SeedBenchmarkTests`
/// Fits 1,000 JPEGs (10 classes x 100, 426x320, Imagenette-like) at 56x56 with the ImageNet eval
/// preprocessing, reports time and peak resident memory, then times drawing 100 multivariate seeds.
final class SeedBenchmarkTests: XCTestCase {
    func peakRSSMiB() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_maxrss) / 1024
    }

    /// Resident memory now, from /proc/self/statm.
    func currentRSSMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Double(fields[1]) ?? 0) * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576 : 0
    }

    func testBenchmarkFit1000ImagesAndDraw100Seeds() throws {
        guard ProcessInfo.processInfo.environment["RSYNTH_BENCH"] == "1" else {
            throw XCTSkip("set RSYNTH_BENCH=1 to run the seed benchmark")
        }
        let root = makeTempDir(self, "bench")
        for c in 0..<10 {
            mkdir(root + "/\(c)")
            for i in 0..<100 {
                try ImageFile.writeJPEG(testImage(width: 426, height: 320, seed: UInt64(c * 1000 + i)),
                                        to: root + "/\(c)/\(String(format: "%04d", i)).jpg", quality: 90)
            }
        }
        let before = peakRSSMiB()
        let ds = try ImageFolderDataset(root: root, labels: .numbered(10))
        let out = root + "/bench.seeds"
        let t0 = Date()
        var sampledPeak = 0.0
        let report = try SeedFitter.fit(dataset: ds, labels: .numbered(10), options: .init(resolution: 56), to: out,
                                        progress: { done, _ in if done % 10 == 0 { sampledPeak = max(sampledPeak, self.currentRSSMiB()) } })
        let fitSeconds = Date().timeIntervalSince(t0)
        let afterFit = peakRSSMiB()
        let size = (try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        print("BENCH fit: \(report.images) images (10 classes x 100, 426x320 JPEG) at 56x56 in \(String(format: "%.2f", fitSeconds)) s "
              + "(\(String(format: "%.1f", Double(report.images) / fitSeconds)) images/s); peak RSS \(String(format: "%.0f", before)) MiB before, "
              + "\(String(format: "%.0f", afterFit)) MiB after; resident during the fit at most \(String(format: "%.0f", sampledPeak)) MiB (sampled every 10 images); model file \(size / 1_048_576) MiB")
        let t1 = Date()
        let model = try SeedModel.read(out)
        print("BENCH read model: \(String(format: "%.1f", Date().timeIntervalSince(t1) * 1000)) ms")
        let seeds = (0..<100).map { RandomStream.sampleSeed(run: 1, index: $0) }
        for (label, cm) in [(0, model.classModel(0)!)] {
            _ = SeedSampling.drawRaw(.multivariateNormal, classModel: cm, resolution: 56, seeds: Array(seeds.prefix(4)))
            let t2 = Date()
            let x = try SeedSampling.draw(.multivariateNormal, model: model, classes: [Int](repeating: label, count: 100), seeds: seeds)
            print("BENCH draw 100 multivariate seeds (n = \(cm.count), d = 9408): \(String(format: "%.1f", Date().timeIntervalSince(t2) * 1000)) ms, \(x.shape)")
        }
        // A class of Imagenette-val size (n = 400).
        var rng = RandomStream(seed: 3)
        let big = SeedClassModel(label: 0, name: "big", rows: (0..<(400 * 9408)).map { _ in rng.nextUniformFloat() }, count: 400, dimension: 9408)
        let t3 = Date()
        let y = SeedSampling.drawRaw(.multivariateNormal, classModel: big, resolution: 56, seeds: seeds)
        print("BENCH draw 100 multivariate seeds (n = 400, d = 9408): \(String(format: "%.1f", Date().timeIntervalSince(t3) * 1000)) ms, \(y.shape)")
        let t4 = Date()
        let up = Resample.nearest(y, height: 224, width: 224)
        print("BENCH nearest up-sampling 100 x 3 x 56 x 56 -> 224: \(String(format: "%.1f", Date().timeIntervalSince(t4) * 1000)) ms, \(up.shape)")
    }
}
