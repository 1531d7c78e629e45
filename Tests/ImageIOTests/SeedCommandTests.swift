import Foundation
import ImageIO
import RSynthTestSupport
import RobustSynthCore
import XCTest

/// End to end through the built `rsynth` executable and plugin libraries: the seeds commands and
/// the univariate-normal, multivariate-normal and dataset-image plugins in a pipeline.
final class SeedCommandTests: XCTestCase {
    func rsynth(_ args: [String]) throws -> TestSupport.Output { try TestSupport.rsynth(args) }

    func readNPY(_ path: String) throws -> (shape: [Int], values: [Float]) {
        try TestSupport.readNPY(URL(fileURLWithPath: path))
    }

    func makeDataset(_ root: String) throws {
        for c in 0..<3 {
            mkdir(root + "/\(c)")
            for i in 0..<4 { try ImageFile.writePNG(testImage(width: 16, height: 16, seed: UInt64(c * 10 + i)), to: root + "/\(c)/\(i).png") }
        }
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: root + "/1/zz.jpg"))
    }

    func testSeedsFitSampleShow() throws {
        let dir = makeTempDir(self, "cmd")
        try makeDataset(dir + "/data")
        let model = dir + "/m.seeds"
        let fit = try rsynth(["seeds", "fit", "--dataset", dir + "/data", "--resolution", "8", "--preprocess", "centre-square",
                              "--labels", "3", "--out", model])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        XCTAssertTrue(fit.stdout.hasPrefix("wrote \(model): 3 classes, 12 images, R = 8, "), fit.stdout)
        XCTAssertTrue(fit.stdout.hasSuffix("skipped 1 image:\n  \(dir)/data/1/zz.jpg: not a PNG or JPEG file (it starts with 67 61 72 62)\n"), fit.stdout)
        XCTAssertTrue(fit.stderr.contains("12/13 images") || fit.stderr.contains("13/13 images"), fit.stderr)

        let npy = dir + "/s.npy"
        let sample = try rsynth(["seeds", "sample", "--model", model, "--class", "1", "--count", "4", "--seed", "5", "--out", npy])
        XCTAssertEqual(sample.status, 0, sample.stderr)
        XCTAssertEqual(sample.stdout, "wrote \(npy): 4 multivariate-normal seeds of class 1 (1), 8x8\n")
        let (shape, values) = try readNPY(npy)
        XCTAssertEqual(shape, [4, 3, 8, 8])
        let m = try SeedModel.read(model)
        let expected = try SeedSampling.draw(.multivariateNormal, model: m, classes: [1, 1, 1, 1],
                                             seeds: (0..<4).map { RandomStream.sampleSeed(run: 5, index: $0) })
        XCTAssertEqual(values, expected.data)

        let png = dir + "/s.png"
        XCTAssertEqual(try rsynth(["seeds", "sample", "--model", model, "--class", "2", "--count", "3", "--sampler", "uniform", "--out", png]).status, 0)
        let grid = try ImageFile.read(png)
        XCTAssertEqual(grid.width, 3 * 112 + 2 * 2); XCTAssertEqual(grid.height, 112)

        let fig = dir + "/fig.png"
        let show = try rsynth(["seeds", "show", "--model", model, "--classes", "0,2", "--seed", "1", "--size", "32", "--out", fig])
        XCTAssertEqual(show.status, 0, show.stderr)
        let f = try ImageFile.read(fig)
        XCTAssertEqual(f.width, 3 * 32 + 2 * 4); XCTAssertEqual(f.height, 2 * 32 + 4)

        let bad = try rsynth(["seeds", "sample", "--model", model, "--class", "7", "--count", "1", "--out", npy])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("Error: seed model '\(model)' has no class '7'; it has 0 (0), 1 (1), 2 (2)"), bad.stderr)
        let trunc = dir + "/t.seeds"
        try Data(try Data(contentsOf: URL(fileURLWithPath: model)).prefix(100)).write(to: URL(fileURLWithPath: trunc))
        let t = try rsynth(["seeds", "sample", "--model", trunc, "--class", "0", "--out", npy])
        XCTAssertEqual(t.status, 1)
        XCTAssertTrue(t.stderr.contains("Error: seed model '\(trunc)' is truncated"), t.stderr)
    }

    func spec(seed: String, out: String) -> String {
        """
        version: 1
        classifier: { plugin: linear, with: { classes: 3, size: 16 } }
        seed: \(seed)
        task: { plugin: generation, with: { classes: [0, 2], per_class: 2 } }
        constraints:
          - { plugin: l2-ball, with: { eps: 1 } }
        optimizer: { steps: 3, step_size: 0.5, batch_size: 3, seed: 11 }
        output: { dir: \(out) }

        """
    }

    func testSeedPluginsInAPipeline() throws {
        let dir = makeTempDir(self, "plugins")
        try makeDataset(dir + "/data")
        let model = dir + "/m.seeds"
        XCTAssertEqual(try rsynth(["seeds", "fit", "--dataset", dir + "/data", "--resolution", "8", "--preprocess", "centre-square",
                                   "--labels", "3", "--out", model]).status, 0)
        let m = try SeedModel.read(model)
        let targets = [0, 0, 2, 2]
        let seeds = (0..<4).map { RandomStream.sampleSeed(run: 11, index: $0) }
        let cases: [(String, SeedDistribution?)] = [
            ("{ plugin: multivariate-normal, with: { model: \(model) } }", .multivariateNormal),
            ("{ plugin: univariate-normal, with: { model: \(model) } }", .univariateNormal),
            ("{ plugin: multivariate-normal, with: { dataset: \(dir)/data, resolution: 8, preprocess: centre-square, labels: \"3\", cache: \(dir)/cache } }", .multivariateNormal),
            ("{ plugin: dataset-image, with: { dataset: \(dir)/data, labels: \"3\", transform: resize } }", nil),
        ]
        for (n, (seedSpec, dist)) in cases.enumerated() {
            let out = dir + "/run\(n)"
            try spec(seed: seedSpec, out: out).write(toFile: dir + "/spec\(n).yaml", atomically: true, encoding: .utf8)
            let r = try rsynth(["run", dir + "/spec\(n).yaml", "--save-tensors", "--quiet"])
            XCTAssertEqual(r.status, 0, "\(seedSpec)\n\(r.stderr)")
            guard r.status == 0 else { continue }
            for i in 0..<4 {
                let s = try readNPY(out + "/samples/" + String(format: "%06d", i) + "-seed.npy")
                XCTAssertEqual(s.shape, [3, 16, 16])
                if let dist {
                    // The plugin's seeds are exactly the library's draw, up-sampled 8 -> 16 by nearest.
                    let x = try SeedSampling.draw(dist, model: m, classes: [targets[i]], seeds: [seeds[i]], size: (height: 16, width: 16))
                    XCTAssertEqual(s.values, x.data, "\(seedSpec) sample \(i)")
                } else {
                    // dataset-image: item i of the dataset, as byte / 255 (16x16 images at 16x16).
                    let path = dir + "/data/" + ["0/0.png", "0/1.png", "0/2.png", "0/3.png"][i]
                    XCTAssertEqual(s.values, try ImageFile.read(path).tensor().data, "dataset-image item \(i)")
                }
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/cache").count, 1)
        // A seed plugin without model or dataset is refused when the pipeline is composed.
        try spec(seed: "{ plugin: univariate-normal }", out: dir + "/bad").write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try rsynth(["run", dir + "/bad.yaml", "--quiet"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("give a fitted seed-model file (model: FILE, from `rsynth seeds fit`) or a dataset folder (dataset: DIR)"), bad.stderr)
        try spec(seed: "{ plugin: multivariate-normal, with: { dataset: \(dir)/nothing } }", out: dir + "/bad2").write(toFile: dir + "/bad2.yaml", atomically: true, encoding: .utf8)
        let bad2 = try rsynth(["run", dir + "/bad2.yaml", "--quiet"])
        XCTAssertNotEqual(bad2.status, 0)
        // validate finds the missing folder first, at its line and column.
        XCTAssertTrue(bad2.stderr.contains("error: parameter 'dataset': cannot read folder '\(dir)/nothing': no such folder"), bad2.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad2"))
    }
}
