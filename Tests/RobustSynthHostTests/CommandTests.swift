import Foundation
import ResNetEngine
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
        XCTAssertEqual(r.stderr, "Error: --with sets a plugin parameter and needs --weights; without weights bench runs a random-weight ResNet-50, set by --arch, --size, --winograd and --precision\n")
        let p = try TestSupport.rsynth(["bench", "--classifier", "resnet50", "--weights",
                                        TestSupport.fixture("resnet/basic_imagenet.safetensors").path, "--precision", "bfloat16"])
        XCTAssertEqual(p.status, 1)
        XCTAssertEqual(p.stderr, "Error: --arch, --size, --winograd and --precision set the random-weight ResNet-50; for a plugin use --with (e.g. --with precision=bfloat16)\n")
    }

    /// --arch picks the random-weight model's shape by torchvision's constructor name.
    func testBenchArch() throws {
        let r = try TestSupport.rsynth(["bench", "--arch", "resnext50_32x4d", "--size", "32", "--batch", "1", "--steps", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(object["arch"] as? String, "resnext50_32x4d")
        let t = try TestSupport.rsynth(["bench", "--arch", "wide_resnet50_2", "--size", "32", "--batch", "1", "--steps", "1"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stdout.hasPrefix("robust-resnet50 (random WideResNet-50-2 weights, --arch wide_resnet50_2), 3x32x32 input"), t.stdout)
        let u = try TestSupport.rsynth(["bench", "--arch", "vgg16", "--steps", "1"])
        XCTAssertEqual(u.status, 1)
        XCTAssertTrue(u.stderr.contains("no torchvision ResNet 'vgg16'"), u.stderr)
    }

    func testBenchRejectsAnUnknownPrecision() throws {
        let r = try TestSupport.rsynth(["bench", "--precision", "half", "--steps", "1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "Error: --precision: expected float32 or bfloat16, got 'half'\n")
    }

    /// The fixture net's 8-channel layers: whether oneDNN has a fast bfloat16 kernel for them
    /// depends on the CPU, so the test asks oneDNN (as rsynth, a child with the same environment,
    /// will see it: ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA included). Without AVX-512 there is no
    /// bfloat16 convolution at all and the stem is named; with AVX-512 but no AMX a layer with a
    /// channel count not a multiple of 16 is named; with AMX the classifier runs.
    func testBFloat16RefusedWithTheLayerNamed() throws {
        let isa = ResNet.cpuISA
        print("bfloat16 classify: oneDNN's ISA here is \(isa.name): bfloat16 kernels \(isa.bfloat16)")
        let args = ["classify", "--classifier", "resnet50", "--weights", TestSupport.fixture("resnet/basic_imagenet.safetensors").path,
                    "--with", "input_size=32", "--with", "precision=bfloat16", "--top", "2", TestSupport.fixture("cli/basic_imagenet.png").path]
        let r = try TestSupport.rsynth(args)
        switch isa.bfloat16 {
        case .none:
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(r.stderr, "Error: plugin 'resnet50': oneDNN ResNet: bfloat16: oneDNN has no fast kernel for stem (7x7, 3->8 channels) on this CPU; use float32\n")
        case .avx512:
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stderr.hasPrefix("Error: plugin 'resnet50': oneDNN ResNet: bfloat16: oneDNN has no fast kernel for "), r.stderr)
            XCTAssertTrue(r.stderr.hasSuffix(" channels) on this CPU; use float32\n"), r.stderr)
            XCTAssertTrue(r.stderr.contains("->8 channels") || r.stderr.contains(", 8->"), r.stderr)
        case .amx:
            // Accepted, and the top class agrees with float32's.
            XCTAssertEqual(r.status, 0, r.stderr)
            var f32Args = args
            f32Args[f32Args.firstIndex(of: "precision=bfloat16")!] = "precision=float32"
            let f32 = try TestSupport.rsynth(f32Args)
            XCTAssertEqual(f32.status, 0, f32.stderr)
            // "   71.60%  1 (1)" -> "1 (1)"
            func topClass(_ out: String) -> String? {
                out.split(separator: "\n").dropFirst().first.map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
            }
            print("bfloat16 classify:\n\(r.stdout)float32:\n\(f32.stdout)")
            XCTAssertNotNil(topClass(r.stdout), r.stdout)
            XCTAssertEqual(topClass(r.stdout), topClass(f32.stdout))
        }
    }
}
