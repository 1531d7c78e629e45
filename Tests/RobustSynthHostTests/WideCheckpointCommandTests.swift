import Foundation
import RSynthTestSupport
import XCTest

/// `rsynth inspect` and the robust-resnet50 plugin on the wide and grouped fixture nets
/// (Tests/Fixtures/make_resnet_wide_fixtures.py; their parity with PyTorch is in
/// ResNetEngineTests.WideResNetTests).
final class WideCheckpointCommandTests: XCTestCase {
    func testInspectNamesWideAndGroupedNets() throws {
        let cases = [
            ("resnet/wide_bottleneck_madry.pt", "pytorch-legacy", "under 'model'", "madry",
             "ResNet (bottleneck blocks [1, 1], widths [16, 32], outputs [32, 64], stem width 8, imagenet stem, 3 input channels, 5 classes)"),
            ("resnet/resnext_bottleneck_madry.ckpt", "pytorch-legacy", "under 'state_dict'", "madry",
             "ResNet (bottleneck blocks [1, 1], widths [8, 16], groups 4, imagenet stem, 3 input channels, 5 classes)"),
            ("resnet/resnext_bottleneck_torchvision.pth", "pytorch-zip", "top level", "torchvision",
             "ResNet (bottleneck blocks [1, 1], widths [8, 16], groups 4, imagenet stem, 3 input channels, 5 classes)"),
        ]
        for (path, format, key, layout, arch) in cases {
            let file = TestSupport.fixture(path).path
            let r = try TestSupport.rsynth(["inspect", file])
            XCTAssertEqual(r.status, 0, r.stderr)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(Array(lines.dropFirst().prefix(4)), ["format:       \(format)", "state dict:   \(key)",
                                                                 "layout:       \(layout)", "architecture: \(arch)"], path)
        }
    }

    /// The robust plugin reads MadryLab dicts of these shapes (under 'model' or 'state_dict'),
    /// with their stored normaliser, as it reads imagenet_l2_3_0.pt.
    func testRobustPluginRunsThem() throws {
        for file in ["wide_bottleneck_madry.pt", "resnext_bottleneck_madry.ckpt"] {
            let r = try TestSupport.rsynth(["bench", "--classifier", "robust-resnet50", "--weights", TestSupport.fixture("resnet/\(file)").path,
                                            "--with", "input_size=32", "--batch", "1", "--steps", "1", "--json"])
            XCTAssertEqual(r.status, 0, "\(file): \(r.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            XCTAssertNotNil(object["ms_per_image_step"] as? Double, file)
        }
    }
}
