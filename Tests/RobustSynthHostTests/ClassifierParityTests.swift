import Foundation
import RSynthTestSupport
import XCTest

/// `rsynth classify --json` and `rsynth saliency` through the classifier plugins, against
/// PyTorch (Tests/Fixtures/make_cli_fixtures.py): small ResNets with random weights and BN
/// statistics, in MadryLab's legacy layout, torchvision's zip layout and safetensors.
final class ClassifierParityTests: XCTestCase {
    struct Case { let plugin: String; let file: String; let net: String; let normalisation: String }
    let cases = [
        Case(plugin: "robust-resnet50", file: "basic_imagenet_madry.pt", net: "basic_imagenet", normalisation: "madry"),
        Case(plugin: "resnet50", file: "basic_imagenet_torchvision.pth", net: "basic_imagenet", normalisation: "imagenet"),
        Case(plugin: "resnet50", file: "basic_imagenet.safetensors", net: "basic_imagenet", normalisation: "imagenet"),
        Case(plugin: "robust-resnet50", file: "bottleneck_imagenet_madry.pt", net: "bottleneck_imagenet", normalisation: "madry"),
        Case(plugin: "resnet50", file: "bottleneck_imagenet_torchvision.pth", net: "bottleneck_imagenet", normalisation: "imagenet"),
        Case(plugin: "resnet50", file: "bottleneck_imagenet.safetensors", net: "bottleneck_imagenet", normalisation: "imagenet"),
    ]

    func testLogitsAndInputGradientsMatchPyTorch() throws {
        let expected = try TestSupport.json(TestSupport.fixture("cli/expected.json"))
        let dir = TestSupport.temporaryDirectory()
        for backend in ["onednn", "reference"] {
            for c in cases {
                let e = expected[c.net] as! [String: Any]
                let size = e["inputSize"] as! Int, target = e["target"] as! Int
                let want = e[c.normalisation] as! [String: [Double]]
                let common = ["--classifier", c.plugin, "--weights", TestSupport.fixture("resnet/\(c.file)").path,
                              "--with", "input_size=\(size)", "--with", "backend=\(backend)"]
                let image = TestSupport.fixture("cli/\(c.net).png").path
                let label = "\(c.plugin) \(c.file) \(backend)"

                let r = try TestSupport.rsynth(["classify", "--json"] + common + [image])
                XCTAssertEqual(r.status, 0, "\(label): \(r.stderr)")
                let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
                let logits = object["logits"] as! [Double]
                let scale = want["logits"]!.map(abs).max()!
                let worst = zip(logits, want["logits"]!).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(worst / scale, 1e-3, "\(label): logits differ by \(worst) (max |logit| \(scale))")

                let npy = dir.appendingPathComponent("\(c.net)-\(c.plugin)-\(backend).npy")
                let s = try TestSupport.rsynth(["saliency"] + common + ["--target", String(target), "--out", npy.path, image])
                XCTAssertEqual(s.status, 0, "\(label): \(s.stderr)")
                let (shape, dx) = try TestSupport.readNPY(npy)
                XCTAssertEqual(shape, [3, size, size])
                let ref = want["dx"]!
                let err = zip(dx, ref).map { (Double($0) - $1) * (Double($0) - $1) }.reduce(0, +).squareRoot()
                let norm = ref.map { $0 * $0 }.reduce(0, +).squareRoot()
                XCTAssertLessThanOrEqual(err / norm, 1e-3, "\(label): relative L2 error of the input gradient")
                XCTAssertTrue(FileManager.default.fileExists(atPath: npy.deletingPathExtension().appendingPathExtension("png").path))
            }
        }
    }

    func testAStandardCheckpointGivenToTheRobustPluginIsExplained() throws {
        let file = TestSupport.fixture("resnet/basic_imagenet_torchvision.pth").path
        let r = try TestSupport.rsynth(["classify", "--classifier", "robust-resnet50", "--weights", file, "--with", "input_size=32",
                                        TestSupport.fixture("cli/basic_imagenet.png").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("plugin 'robust-resnet50': \(file)"), r.stderr)
    }
}
