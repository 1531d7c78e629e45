import Foundation
import ImageIO
import RSynthTestSupport
import RobustSynthCore
@testable import RobustSynthHost
import XCTest

/// The four representation tasks on the shipped digit models, from their Examples/digits specs:
/// each writes the usual run folder and does what it says; representation inversion is judged
/// by the 5-NN judge that never saw the models.
final class RepresentationTasksTests: XCTestCase {
    func run(_ spec: String, _ name: String = #function) throws -> (dir: URL, manifest: [String: Any], samples: [[String: Any]]) {
        let out = TestSupport.temporaryDirectory(name).appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", TestSupport.root.appendingPathComponent(spec).path, "--out", out.path, "--quiet",
                                        "--save-tensors"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let manifest = try TestSupport.json(out.appendingPathComponent("manifest.json"))
        XCTAssertEqual(manifest["complete"] as? Bool, true)
        for file in ["grid.png", "losses.csv", "run.json", "spec.yaml"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        return (out, manifest, manifest["samples"] as! [[String: Any]])
    }

    func tensor(_ dir: URL, _ sample: [String: Any], _ key: String) throws -> [Float] {
        try TestSupport.readNPY(dir.appendingPathComponent(sample[key] as! String)).values
    }

    func testSketchToImageTurnsEachDrawingIntoItsDigit() throws {
        let (_, manifest, samples) = try run("Examples/digits/sketch-to-image.yaml")
        XCTAssertEqual(samples.map { $0["target_name"] as! String }, ["7", "4", "0"])
        // Over one half: the target is the model's most likely class (the eps-5 digit model
        // spreads its probability: 0.53-0.62 here).
        XCTAssertTrue(samples.allSatisfy { ($0["target_probability"] as! Double) > 0.5 }, "\(samples.map { $0["target_probability"]! })")
        let judge = manifest["judge"] as! [String: Any]
        XCTAssertGreaterThanOrEqual(judge["recognised"] as! Int, 2, "\(judge)")
    }

    func testPaintWithFeaturesRaisesTheFeatureInsideTheMaskAndKeepsTheRest() throws {
        let (dir, _, samples) = try run("Examples/digits/paint-with-features.yaml")
        XCTAssertEqual(samples.count, 8)
        for s in samples {
            XCTAssertEqual(s["target_name"] as? String, "none")
            // The loss is minus the feature's mean activation in the mask (plus the penalty): it fell.
            XCTAssertLessThan(s["final_loss"] as! Double, (s["initial_loss"] as! Double) - 0.5)
            let start = try tensor(dir, s, "seed_tensor"), result = try tensor(dir, s, "result_tensor")
            // [3, 16, 16]; the mask is the top half (rows 0-7).
            var inside = 0.0, outside = 0.0
            for c in 0..<3 { for y in 0..<16 { for x in 0..<16 {
                let d = Double(abs(result[(c * 16 + y) * 16 + x] - start[(c * 16 + y) * 16 + x]))
                if y < 8 { inside += d } else { outside += d }
            } } }
            XCTAssertGreaterThan(inside, 4 * outside, "painted \(inside), changed outside \(outside)")
        }
    }

    func testFeatureVisualizationRaisesEachUnitOnePerColumn() throws {
        let (dir, manifest, samples) = try run("Examples/digits/feature-visualization.yaml")
        XCTAssertEqual(samples.count, 24)
        let plan = manifest["plan"] as! [String: Any]
        XCTAssertEqual(plan["group_names"] as? [String], ["all samples", "all samples", "all samples"])
        XCTAssertEqual(samples.map { $0["group"] as! Int }, (0..<3).flatMap { Array(repeating: $0, count: 8) })
        // The grid: 3 rows of 8 units.
        let grid = try ImageFile.read(dir.appendingPathComponent("grid.png").path)
        XCTAssertGreaterThan(grid.width, 2 * grid.height)
        // Each unit's activation (minus the loss) rose.
        let rose = samples.filter { ($0["final_loss"] as! Double) < ($0["initial_loss"] as! Double) }.count
        XCTAssertGreaterThanOrEqual(rose, 18, "\(samples.map { ($0["initial_loss"]!, $0["final_loss"]!) })")
    }
}

extension RepresentationTasksTests {
    func spec(_ task: String, seed: String = "{ plugin: uniform }") -> String {
        """
        version: 1
        classifier: { plugin: digits-resnet, with: { weights: \(TestSupport.root.path)/Examples/digits/models/digits-robust.pt } }
        seed:       \(seed)
        task:       \(task)
        constraints:
          - { plugin: l2-ball, with: { eps: 5 } }
          - { plugin: masked-penalty }
        optimizer:  { steps: 2 }

        """
    }

    /// A tap the classifier does not offer, a unit out of range, a mask of the wrong size, a
    /// sketch that is not an image: one error before anything runs (no run folder is made),
    /// at the spec's line and column where validation can know, else naming the file.
    func testBadInputIsRefusedBeforeAnythingRuns() throws {
        let dir = TestSupport.temporaryDirectory()
        let notImage = dir.appendingPathComponent("sketch.png")
        TestSupport.write("not a picture", to: notImage)
        let wrongMask = TestSupport.root.appendingPathComponent("Examples/imagenet/masks/centre.png").path
        let data = "{ plugin: dataset-image, with: { dataset: \(TestSupport.root.path)/Examples/digits/data/test, labels: \"10\", transform: resize } }"
        let cases: [(task: String, seed: String?, validate: String?, run: String)] = [
            ("{ plugin: feature-visualization, with: { tap: layer9, units: [1] } }", nil,
             "4:59: error: classifier 'digits-resnet' has no tap 'layer9' (did you mean 'layer1'?); it offers layer1, layer2, layer3, layer4, layer*.*, representation",
             "rsynth: error: plugin 'feature-visualization': no tap 'layer9' in the classifier; it offers layer1.0, layer1, layer2.0, layer2, layer3.0, layer3, representation\n"),
            ("{ plugin: feature-visualization, with: { units: [3, 64] } }", nil, nil,
             "rsynth: error: plugin 'feature-visualization': unit 64 is out of range: tap 'representation' has 64 (0 to 63)\n"),
            ("{ plugin: paint-with-features, with: { mask: \(wrongMask), feature: 1, tap: layer3 } }", data, nil,
             "rsynth: error: plugin 'paint-with-features': \(wrongMask) is 224x224, but the classifier's input is 16x16: make the mask that size\n"),
            ("{ plugin: sketch-to-image, with: { sketches: [\(notImage.path)], classes: [\"3\"] } }", nil, nil,
             "rsynth: error: plugin 'sketch-to-image': cannot read image '\(notImage.path)': not a PNG or JPEG file (it starts with 6e 6f 74 20)\n"),
        ]
        for (k, c) in cases.enumerated() {
            let path = dir.appendingPathComponent("spec\(k).yaml")
            TestSupport.write(spec(c.task, seed: c.seed ?? "{ plugin: uniform }"), to: path)
            let v = try TestSupport.rsynth(["validate", path.path])
            if let want = c.validate {
                XCTAssertEqual(v.status, 1)
                XCTAssertEqual(v.stdout, "\(path.path):\(want)\n")
            } else {
                XCTAssertEqual(v.status, 0, v.stdout)
            }
            let out = dir.appendingPathComponent("run\(k)")
            let r = try TestSupport.rsynth(["run", path.path, "--out", out.path, "--quiet"])
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(r.stderr, c.validate.map { "\(path.path):\($0)\n" } ?? c.run)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a run folder was made for case \(k)")
        }
    }
}

/// Representation inversion of real test digits from uniform noise, judged by 5-NN on the real
/// training digits (the README's numbers; `swift test --filter InversionDemoTests` prints them).
final class InversionDemoTests: XCTestCase {
    func rate(_ spec: String) throws -> (rate: Double, count: Int, distance: Double) {
        let out = TestSupport.temporaryDirectory("inversion-\(spec.hashValue)").appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", TestSupport.root.appendingPathComponent(spec).path, "--out", out.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let manifest = try TestSupport.json(out.appendingPathComponent("manifest.json"))
        let judge = manifest["judge"] as! [String: Any]
        let samples = manifest["samples"] as! [[String: Any]]
        let distance = samples.map { $0["final_loss"] as! Double }.reduce(0, +) / Double(samples.count)
        return (judge["agreement"] as! Double, judge["judged"] as! Int, distance)
    }

    func testInversionWithTheRobustModelRecoversTheDigit() throws {
        let robust = try rate("Examples/digits/inversion-robust.yaml")
        let standard = try rate("Examples/digits/inversion-standard.yaml")
        print("judge agreement, representation inversion from uniform noise (README's table): robust \(robust.rate) of \(robust.count) (mean final distance \(robust.distance)), standard \(standard.rate) of \(standard.count) (\(standard.distance))")
        XCTAssertEqual(robust.count, 200)
        XCTAssertEqual(standard.count, 200)
        // The issue's bars are 70% and 30%; the shipped robust digit model reaches 97.5% against
        // the standard model's 31% on an AVX2 CPU (README). The bounds leave a few samples' room
        // for other CPUs' kernels, which round differently over 600 steps; the contrast is what
        // they hold.
        XCTAssertGreaterThanOrEqual(robust.rate, 0.90)
        XCTAssertLessThanOrEqual(standard.rate, 0.35)
        XCTAssertGreaterThanOrEqual(robust.rate - standard.rate, 0.5)
        // Both matched their representations closely (0.020 and 0.063 mean relative distance),
        // so the difference is not a failed optimisation but what each representation pins down.
        XCTAssertLessThan(robust.distance, 0.05)
        XCTAssertLessThan(standard.distance, 0.1)
    }
}
