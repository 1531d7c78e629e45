import Foundation
import XCTest
import Checkpoints
import RobustSynthCore
@testable import ResNetEngine

/// Wide (WideResNet-50-2/-4) and grouped (ResNeXt-50 32x4d) bottleneck ResNets: architecture
/// inference, parity with PyTorch on the fixture nets of make_resnet_wide_fixtures.py, and the
/// full-size shapes on oneDNN against the reference.
final class WideResNetTests: XCTestCase {
    static let nets = ["wide_bottleneck", "resnext_bottleneck"]

    func testArchitectureInferenceOfTheFixtures() throws {
        let w = try ResNetWeights.from(tensors: Fixture.load("wide_bottleneck").stateDict).architecture
        XCTAssertEqual(w.block, "bottleneck"); XCTAssertEqual(w.blocksPerStage, [1, 1])
        XCTAssertEqual(w.widths, [16, 32]); XCTAssertEqual(w.outputs, [32, 64]); XCTAssertEqual(w.groups, 1)
        XCTAssertEqual(w.stemWidth, 8); XCTAssertEqual(w.name, "ResNet")
        XCTAssertEqual(w.description, "ResNet (bottleneck blocks [1, 1], widths [16, 32], outputs [32, 64], stem width 8, "
            + "imagenet stem, 3 input channels, 5 classes)")
        let x = try ResNetWeights.from(tensors: Fixture.load("resnext_bottleneck").stateDict).architecture
        XCTAssertEqual(x.widths, [8, 16]); XCTAssertEqual(x.outputs, [32, 64]); XCTAssertEqual(x.groups, 4)
        XCTAssertEqual(x.description, "ResNet (bottleneck blocks [1, 1], widths [8, 16], groups 4, imagenet stem, "
            + "3 input channels, 5 classes)")
    }

    /// torchvision's names for the full-size shapes (what `rsynth inspect` prints), and ResNet-18..152
    /// exactly as before. (Inference of the full-size WideResNet-50-2 and ResNeXt-50 32x4d from their
    /// keys is in testFullSizeWideAndResNeXtAgainstTheReference; the rest are made here directly,
    /// WideResNet-50-4's 223 M random weights would take minutes in a debug build.)
    func testFullSizeNames() throws {
        func arch(_ blocks: [Int], _ widths: [Int], groups: Int = 1, block: String = "bottleneck") -> ResNetArchitecture {
            ResNetArchitecture(block: block, depth: ResNetArchitecture.torchvision.first { $0.value.blocksPerStage == blocks && $0.value.block == block }?.key,
                               blocksPerStage: blocks, widths: widths, stem: "imagenet", inputChannels: 3, numClasses: 1000,
                               groups: groups, outputs: block == "basic" ? widths : [256, 512, 1024, 2048], stemWidth: 64)
        }
        let r50 = [3, 4, 6, 3], r101 = [3, 4, 23, 3]
        XCTAssertEqual(arch(r50, [256, 512, 1024, 2048]).description,
                       "WideResNet-50-4 (bottleneck blocks [3, 4, 6, 3], widths [256, 512, 1024, 2048], outputs [256, 512, 1024, 2048], stem width 64, imagenet stem, 3 input channels, 1000 classes)")
        XCTAssertEqual(arch(r50, [128, 256, 512, 1024]).name, "WideResNet-50-2")
        XCTAssertEqual(arch(r101, [128, 256, 512, 1024]).name, "WideResNet-101-2")
        XCTAssertEqual(arch(r50, [128, 256, 512, 1024], groups: 32).name, "ResNeXt-50 32x4d")
        XCTAssertEqual(arch(r101, [256, 512, 1024, 2048], groups: 32).name, "ResNeXt-101 32x8d")
        XCTAssertEqual(arch(r50, [64, 128, 256, 512]).name, "ResNet-50")
        XCTAssertEqual(arch(r50, [96, 256, 512, 1024]).name, "ResNet")
        XCTAssertEqual(arch(r50, [128, 256, 512, 1024], groups: 3).name, "ResNet")
        // ResNet-18 and -50 from their keys, word for word as before.
        XCTAssertEqual(try ResNet.randomWeights(arch: "resnet50").architecture.description,
                       "ResNet-50 (bottleneck blocks [3, 4, 6, 3], widths [64, 128, 256, 512], imagenet stem, 3 input channels, 1000 classes)")
        XCTAssertEqual(try ResNet.randomWeights(arch: "resnet18").architecture.description,
                       "ResNet-18 (basic blocks [2, 2, 2, 2], widths [64, 128, 256, 512], imagenet stem, 3 input channels, 1000 classes)")
        XCTAssertThrowsError(try ResNet.randomWeights(arch: "wide_resnet18_2"))
        XCTAssertThrowsError(try ResNet.randomWeights(arch: "resnext50"))
    }

    func testAgainstPyTorchOnBothBackends() throws {
        for name in Self.nets {
            let f = try Fixture.load(name)
            let w = try ResNetWeights.from(tensors: f.stateDict)
            // groupedRef: RSYNTH_RESNET_GROUPED_REF=1 keeps oneDNN's grouped kernels where only ref ones
            // exist (else those convs run dense with block-diagonal weights): both paths are checked.
            for (backend, wino, groupedRef) in [(ResNet.Backend.reference, false, false), (.onednn, false, false),
                                                (.onednn, true, false), (.onednn, false, true)] {
                if groupedRef { setenv("RSYNTH_RESNET_GROUPED_REF", "1", 1) }
                defer { unsetenv("RSYNTH_RESNET_GROUPED_REF") }
                let net = try ResNet(weights: w, mean: f.mean, std: f.std, inputSize: f.inputSize, backend: backend,
                                     winograd: wino)
                let logits = try net.forward(f.tensor("input"))
                let dx = try net.inputGradient(f.tensor("dlogits"))
                let el = relL2(logits.data, f.array("logits").values), eg = relL2(dx.data, f.array("dx").values)
                print("\(name) \(backend)\(wino ? " winograd" : "")\(groupedRef ? " grouped-ref" : ""): logits rel L2 \(el), dx rel L2 \(eg)")
                if backend == .onednn {
                    print(net.implementationInfo.split(separator: "\n").filter { $0.contains(".conv2 ") }.joined(separator: "\n"))
                }
                XCTAssertLessThan(el, 1e-5, "\(name) \(backend)")
                XCTAssertLessThan(eg, 1e-5, "\(name) \(backend)")
            }
        }
    }

    /// The files the script wrote: torch zip (torchvision layout) and MadryLab's legacy dicts under
    /// 'model' and under 'state_dict' (.ckpt), read by the Checkpoints target, through both backends.
    func testCheckpointFilesThroughTheEngine() throws {
        for name in Self.nets {
            let f = try Fixture.load(name)
            let madry = f.entry["madryFile"] as! String, key = f.entry["madryKey"] as! String
            for (file, layout) in [("\(name)_torchvision.pth", ResNetLayout.torchvision), (madry, .madry)] {
                let ckpt = try Checkpoint.load(Fixture.dir.appendingPathComponent(file).path)
                XCTAssertEqual(ckpt.stateDictKey, layout == .madry ? key : "", file)
                let w = try ResNetFile.weights(Fixture.dir.appendingPathComponent(file).path)
                XCTAssertEqual(w.layout, layout, file)
                XCTAssertEqual(w.architecture.groups, f.entry["groups"] as! Int, file)
                if layout == .madry {
                    XCTAssertEqual(w.normalizer?.mean, f.mean, file); XCTAssertEqual(w.normalizer?.std, f.std, file)
                }
                for backend in [ResNet.Backend.onednn, .reference] {
                    let net = try ResNet(weights: w, mean: f.mean, std: f.std, inputSize: f.inputSize, backend: backend)
                    let logits = try net.forward(f.tensor("input")), dx = try net.inputGradient(f.tensor("dlogits"))
                    XCTAssertLessThan(relL2(logits.data, f.array("logits").values), 1e-5, "\(file) \(backend)")
                    XCTAssertLessThan(relL2(dx.data, f.array("dx").values), 1e-5, "\(file) \(backend)")
                }
            }
        }
    }

    /// A grouped conv whose groups do not divide the channels is refused by name, and a conv2
    /// shape that is neither dense nor grouped names the key.
    func testBadGroupedShapesNameTheKey() throws {
        var sd = try Fixture.load("resnext_bottleneck").stateDict
        let k = "layer1.0.conv2.weight"
        sd[k] = ([8, 3, 3, 3], [Float](repeating: 0.1, count: 8 * 27))
        XCTAssertThrowsError(try ResNetWeights.from(tensors: sd)) { e in
            XCTAssertTrue("\(e)".contains(k), "\(e)")
        }
        var mixed = try Fixture.load("resnext_bottleneck").stateDict
        mixed["layer2.0.conv2.weight"] = ([16, 16, 3, 3], [Float](repeating: 0.01, count: 16 * 16 * 9))
        XCTAssertThrowsError(try ResNetWeights.from(tensors: mixed)) { e in
            XCTAssertTrue("\(e)".contains("layer2.0.conv2.weight") && "\(e)".contains("mixed groups"), "\(e)")
        }
    }

    /// Full-size WideResNet-50-2 and ResNeXt-50 32x4d (random weights), oneDNN against the
    /// reference at 64x64, batch 1; the reference backward runs through oneDNN's own ReLU masks and
    /// max-pool choices (see testFullSizeResNet50AgainstTheReference for why).
    func testFullSizeWideAndResNeXtAgainstTheReference() throws {
        for arch in ["wide_resnet50_2", "resnext50_32x4d"] {
            let w = try ResNet.randomWeights(arch: arch, seed: 3)
            XCTAssertEqual(w.architecture.description, arch == "wide_resnet50_2"
                ? "WideResNet-50-2 (bottleneck blocks [3, 4, 6, 3], widths [128, 256, 512, 1024], outputs [256, 512, 1024, 2048], stem width 64, imagenet stem, 3 input channels, 1000 classes)"
                : "ResNeXt-50 32x4d (bottleneck blocks [3, 4, 6, 3], widths [128, 256, 512, 1024], groups 32, outputs [256, 512, 1024, 2048], stem width 64, imagenet stem, 3 input channels, 1000 classes)")
            var rng = RandomStream(seed: 5)
            let x = Tensor(shape: [1, 3, 64, 64], data: (0..<(3 * 64 * 64)).map { _ in rng.nextUniformFloat() })
            let dl = Tensor(shape: [1, 1000], data: (0..<1000).map { _ in rng.nextUniformFloat() - 0.5 })
            let ref = ReferenceNet(weights: w, mean: ResNet.imageNetMean, std: ResNet.imageNetStd, inputSize: 64)
            let lr = ref.forward(x)
            let fast = try ResNet(weights: w, mean: ResNet.imageNetMean, std: ResNet.imageNetStd, inputSize: 64)
            let lf = try fast.forward(x), gf = try fast.inputGradient(dl)
            let d = try fast.lastDecisions()
            let own = ref.decisions()
            var flipped = 0
            for (a, b) in zip(d.relu, own.relu) { for i in a.indices where a[i] != b[i] { flipped += 1 } }
            let gr = try ref.inputGradient(dl, through: d)
            let el = relL2(lf.data, lr.data), eg = relL2(gf.data, gr.data)
            print("\(w.architecture.name) 64x64: logits rel L2 \(el), dx through the same decisions \(eg); ReLU decisions differing \(flipped)")
            print(fast.implementationInfo.split(separator: "\n").filter { $0.hasPrefix("block0.conv2 ") || $0.hasPrefix("block15.conv2 ") }.joined(separator: "\n"))
            XCTAssertLessThan(el, 1e-4, arch)
            XCTAssertLessThan(eg, 1e-4, arch)
            XCTAssertLessThan(flipped, 100, arch)
        }
    }
}
