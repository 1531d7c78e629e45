import Foundation
import ImageIO
import RobustSynthCore
import RSynthTestSupport
import XCTest

/// Every spec of Examples/imagenet, end to end, as a user would run it after putting the weights
/// and Imagenette in place. The real checkpoints and data are downloads the tests cannot have, so
/// stand-ins take their names: Tests/Fixtures/imagenet-standins (tiny 1000-class ResNets in the
/// same formats and layouts, made by make_imagenet_standins.py) and an Imagenette-shaped folder of
/// JPEGs (320 pixels on the short side, WordNet-id folders, train/ and val/). Only the counts and
/// step numbers are cut down; classes, seeds, tasks, constraints and paths are the specs' own.
final class ImageNetSpecsTests: XCTestCase {
    /// Imagenette's ten classes as WordNet ids.
    static let imagenette = ["n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
                             "n03394916", "n03417042", "n03425413", "n03445777", "n03888257"]

    func makeImagenette(_ root: URL) throws {
        var rng = RandomStream(seed: 11)
        for (split, perClass) in [("train", 3), ("val", 2)] {
            for (c, wnid) in Self.imagenette.enumerated() {
                let dir = root.appendingPathComponent("\(split)/\(wnid)")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                for i in 0..<perClass {
                    let (w, h) = i % 2 == 0 ? (426, 320) : (320, 480)
                    let base = (0..<3).map { _ in Float(c * 20 + 30) + rng.nextUniformFloat() * 40 }
                    var p = [UInt8](repeating: 0, count: w * h * 3)
                    for k in 0..<(w * h * 3) { p[k] = UInt8(min(255, base[k % 3] + rng.nextUniformFloat() * 60)) }
                    try ImageFile.writeJPEG(RGBImage(width: w, height: h, pixels: p),
                                            to: dir.appendingPathComponent("ILSVRC2012_\(split)_\(c)\(i).JPEG").path)
                }
            }
        }
    }

    func testEveryImageNetSpecRuns() throws {
        let dir = TestSupport.temporaryDirectory()
        let models = dir.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        for name in ["imagenet_l2_3_0.pt", "resnet50-11ad3fa6.pth"] {
            try FileManager.default.copyItem(at: TestSupport.fixture("imagenet-standins/\(name)"),
                                             to: models.appendingPathComponent(name))
        }
        try makeImagenette(dir.appendingPathComponent("data/imagenette2-320"))
        for folder in ["sketches", "masks"] {
            try FileManager.default.copyItem(at: TestSupport.root.appendingPathComponent("Examples/imagenet/\(folder)"),
                                             to: dir.appendingPathComponent(folder))
        }
        let specs = try FileManager.default.contentsOfDirectory(
            at: TestSupport.root.appendingPathComponent("Examples/imagenet"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }.sorted { $0.path < $1.path }
        XCTAssertEqual(specs.count, 14)
        // The stand-in ResNet has one stage of 8 channels: the units and the feature map the
        // representation specs name become ones it has.
        let standinUnits = [("tap: layer4", "tap: layer1"), ("feature: 595", "feature: 3"),
                            ("units: [100, 595, 1000, 1500]", "units: [0, 3, 5, 7]")]
        let expectedSamples = ["feature-visualization": 8, "sketch-to-image": 2]
        for spec in specs {
            let name = spec.deletingPathExtension().lastPathComponent
            var text = try String(contentsOf: spec, encoding: .utf8)
            for (from, to) in [("per_class: 4", "per_class: 1"), ("count: 20", "count: 2"), ("count: 8", "count: 2")] + standinUnits {
                text = text.replacingOccurrences(of: from, with: to)
            }
            text = text.replacingOccurrences(of: #"steps: \d+"#, with: "steps: 2", options: .regularExpression)
            let copy = dir.appendingPathComponent("\(name).yaml")
            try text.write(to: copy, atomically: true, encoding: .utf8)
            let out = dir.appendingPathComponent("runs/\(name)")
            let r = try TestSupport.rsynth(["run", copy.path, "--out", out.path, "--quiet"],
                                           environment: ["RSYNTH_CACHE_DIR": dir.appendingPathComponent("cache").path])
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            guard r.status == 0 else { continue }
            let manifest = try TestSupport.json(out.appendingPathComponent("manifest.json"))
            let samples = manifest["samples"] as! [[String: Any]]
            XCTAssertEqual(manifest["complete"] as? Bool, true, name)
            XCTAssertEqual(samples.count, name.hasPrefix("generation") ? 10 : expectedSamples[name] ?? 2, name)
            for s in samples {
                let image = try ImageFile.read(out.appendingPathComponent(s["image"] as! String).path)
                XCTAssertEqual([image.width, image.height], [224, 224], name)
            }
            if name.hasPrefix("generation") {
                XCTAssertEqual(samples.map { $0["target_name"] as! String },
                               ["tench", "English springer", "cassette player", "chain saw", "church", "French horn",
                                "garbage truck", "gas pump", "golf ball", "parachute"], name)
            }
            if name.hasPrefix("translation") {
                let target = ["chainsaw-to-cannon": "cannon", "parachute-to-crane": "crane",
                              "parachute-to-stingray": "stingray", "tench-to-goldfish": "goldfish"][
                    String(name.dropFirst("translation-".count))]!
                XCTAssertTrue(samples.allSatisfy { ($0["target_name"] as! String).hasPrefix(target) }, "\(name): \(samples)")
            }
        }
    }
}
