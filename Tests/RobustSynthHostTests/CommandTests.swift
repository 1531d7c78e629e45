import Foundation
import RSynthTestSupport
import XCTest

/// The text of `rsynth inspect` and the JSON of `rsynth bench`.
final class CommandTests: XCTestCase {
    func testInspectDescribesFormatLayoutArchitectureAndTensors() throws {
        let file = TestSupport.fixture("resnet/basic_imagenet_madry.pt").path
        let r = try TestSupport.rsynth(["inspect", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(Array(lines.prefix(8)), [
            "file:         \(file)",
            "format:       pytorch-legacy",
            "state dict:   under 'model'",
            "layout:       madry",
            "architecture: ResNet (basic blocks [2, 1, 1, 1], widths [8, 12, 16, 24], imagenet stem, 3 input channels, 7 classes)",
            "normaliser:   mean [0.4914, 0.4822, 0.4465], std [0.2023, 0.1994, 0.2010]",
            "tensors:      148",
            "parameters:   39898 floating-point values (0.0 M)",
        ])
        XCTAssertTrue(lines.contains { $0.hasPrefix("module.model.conv1.weight ") && $0.contains("[8, 3, 7, 7]") && $0.hasSuffix("float32") })
    }

    func testInspectNamesTheFileOfABrokenCheckpoint() throws {
        let dir = TestSupport.temporaryDirectory()
        let cut = dir.appendingPathComponent("cut.pth")
        let bytes = try Data(contentsOf: TestSupport.fixture("resnet/basic_imagenet_torchvision.pth"))
        try bytes.prefix(bytes.count / 2).write(to: cut)
        let r = try TestSupport.rsynth(["inspect", cut.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("Error: \(cut.path): "), r.stderr)
    }

    func testBenchReportsTimeAndMemoryAsJSON() throws {
        let r = try TestSupport.rsynth(["bench", "--classifier", "resnet50", "--weights", TestSupport.fixture("resnet/basic_imagenet.safetensors").path,
                                        "--with", "input_size=32", "--batch", "2", "--steps", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertGreaterThan(object["ms_per_image_step"] as! Double, 0)
        XCTAssertGreaterThan(object["peak_rss_mb"] as! Double, 1)
        XCTAssertEqual(object["batch"] as? Int, 2)
    }

    /// Without weights bench runs the engine directly, so plugin parameters cannot apply: said, not ignored.
    func testBenchWithoutWeightsRejectsPluginParameters() throws {
        let r = try TestSupport.rsynth(["bench", "--with", "backend=reference", "--steps", "1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "Error: --with sets a plugin parameter and needs --weights; without weights bench runs a random-weight ResNet-50, set by --size, --winograd and --precision\n")
        let p = try TestSupport.rsynth(["bench", "--classifier", "resnet50", "--weights",
                                        TestSupport.fixture("resnet/basic_imagenet.safetensors").path, "--precision", "bfloat16"])
        XCTAssertEqual(p.status, 1)
        XCTAssertEqual(p.stderr, "Error: --size, --winograd and --precision set the random-weight ResNet-50; for a plugin use --with (e.g. --with precision=bfloat16)\n")
    }

    func testBenchRejectsAnUnknownPrecision() throws {
        let r = try TestSupport.rsynth(["bench", "--precision", "half", "--steps", "1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "Error: --precision: expected float32 or bfloat16, got 'half'\n")
    }

    /// The fixture net's 8-channel layers have no fast bfloat16 kernel: refused, naming the layer.
    func testBFloat16RefusedWithTheLayerNamed() throws {
        let r = try TestSupport.rsynth(["classify", "--classifier", "resnet50", "--weights",
                                        TestSupport.fixture("resnet/basic_imagenet.safetensors").path,
                                        "--with", "input_size=32", "--with", "precision=bfloat16",
                                        TestSupport.fixture("cli/basic_imagenet.png").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("Error: plugin 'resnet50': oneDNN ResNet: bfloat16: oneDNN has no fast kernel for "), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix(" on this CPU; use float32\n"), r.stderr)
    }
}
