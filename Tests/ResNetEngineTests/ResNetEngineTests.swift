import Foundation
import XCTest
import Checkpoints
import RobustSynthCore
import RSynthTestSupport
@testable import ResNetEngine

/// One fixture net made by Tests/Fixtures/make_resnet_fixtures.py.
struct Fixture {
    let name: String
    let entry: [String: Any]
    let blob: [Float]
    let mean: [Float], std: [Float]

    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/resnet")

    /// From index.json (make_resnet_fixtures.py) or wide_index.json (make_resnet_wide_fixtures.py).
    static func load(_ name: String) throws -> Fixture {
        var index = [String: Any](), entry: [String: Any]? = nil
        for file in ["index.json", "wide_index.json"] where entry == nil {
            index = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(file))) as! [String: Any]
            entry = (index["nets"] as! [String: Any])[name] as? [String: Any]
        }
        guard let entry else { throw ResNetError("no fixture net \(name)") }
        let data = try Data(contentsOf: dir.appendingPathComponent("\(name).f32"))
        let blob = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return Fixture(name: name, entry: entry, blob: blob,
                       mean: (index["mean"] as! [Double]).map(Float.init), std: (index["std"] as! [Double]).map(Float.init))
    }

    func array(_ key: String) -> (shape: [Int], values: [Float]) {
        let a = (entry["arrays"] as! [String: Any])[key] as! [String: Any]
        let shape = a["shape"] as! [Int], off = a["offset"] as! Int
        let n = shape.reduce(1, *)
        return (shape, Array(blob[off..<(off + n)]))
    }
    func tensor(_ key: String) -> Tensor { let a = array(key); return Tensor(shape: a.shape, data: a.values) }

    /// The state dict in torchvision layout.
    var stateDict: [String: (shape: [Int], values: [Float])] {
        var sd = [String: (shape: [Int], values: [Float])]()
        for k in (entry["arrays"] as! [String: Any]).keys where k.hasPrefix("sd/") { sd[String(k.dropFirst(3))] = array(k) }
        return sd
    }
    /// The same in MadryLab layout (module.model.*, module.attacker.model.*, normaliser).
    func madryStateDict(prefix: String = "module.") -> [String: (shape: [Int], values: [Float])] {
        var sd = [String: (shape: [Int], values: [Float])]()
        for (k, v) in stateDict {
            sd[prefix + "model." + k] = v
            sd[prefix + "attacker.model." + k] = v
        }
        sd[prefix + "model.layer1.0.bn1.num_batches_tracked"] = ([], [0])
        sd[prefix + "normalizer.new_mean"] = ([3, 1, 1], mean)
        sd[prefix + "normalizer.new_std"] = ([3, 1, 1], std)
        sd[prefix + "attacker.normalize.new_mean"] = ([3, 1, 1], mean)
        sd[prefix + "attacker.normalize.new_std"] = ([3, 1, 1], std)
        return sd
    }
    var inputSize: Int { entry["inputSize"] as! Int }
    var targets: [Int] { entry["targets"] as! [Int] }
}

/// max |a - b| / max |b|
func relMaxDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var d: Float = 0, m: Float = 0
    for i in 0..<a.count { d = max(d, abs(a[i] - b[i])); m = max(m, abs(b[i])) }
    return d / max(m, 1e-12)
}

/// ||a - b||_2 / ||b||_2
func relL2(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var d: Double = 0, m: Double = 0
    for i in 0..<a.count { d += Double(a[i] - b[i]) * Double(a[i] - b[i]); m += Double(b[i]) * Double(b[i]) }
    return Float((d / max(m, 1e-30)).squareRoot())
}

final class ResNetEngineTests: XCTestCase {
    static let nets = ["basic_imagenet", "bottleneck_imagenet", "digits"]

    func run(_ f: Fixture, backend: ResNet.Backend, winograd: Bool = false, layout: ResNetLayout? = nil)
        throws -> (logits: Tensor, dx: Tensor)
    {
        let w = try ResNetWeights.from(tensors: layout == .madry ? f.madryStateDict() : f.stateDict, layout: nil)
        let net = try ResNet(weights: w, mean: f.mean, std: f.std, inputSize: f.inputSize, backend: backend,
                             winograd: winograd)
        let logits = try net.forward(f.tensor("input"))
        let dx = try net.inputGradient(f.tensor("dlogits"))
        if backend == .onednn {
            print("\(f.name): " + net.implementationInfo.split(separator: "\n").filter { $0.hasPrefix("relu masks") }.joined())
        }
        if winograd {
            let layers = net.implementationInfo.split(separator: "\n").filter { $0.contains("(winograd)") }
            print("\(f.name): \(layers.count) layer(s) on Winograd")
            // oneDNN 2.6's Winograd (jit_wino_4x3) is AVX-512 only: asked of oneDNN, not assumed.
            if f.name == "digits" && ResNet.cpuISA.bfloat16 != .none {
                XCTAssertGreaterThan(layers.count, 0, "Winograd not used on \(ResNet.cpuISA.name): the test would prove nothing")
            } else if ResNet.cpuISA.bfloat16 == .none {
                print("\(f.name): no AVX-512 (\(ResNet.cpuISA.name)): Winograd must fall back to direct convolutions")
                XCTAssertEqual(layers.count, 0, "Winograd on \(ResNet.cpuISA.name)?")
            }
        }
        return (logits, dx)
    }

    func testArchitectureInference() throws {
        let a = try ResNetWeights.from(tensors: Fixture.load("basic_imagenet").stateDict).architecture
        XCTAssertEqual(a.block, "basic"); XCTAssertEqual(a.blocksPerStage, [2, 1, 1, 1]); XCTAssertEqual(a.widths, [8, 12, 16, 24])
        XCTAssertEqual(a.stem, "imagenet"); XCTAssertEqual(a.numClasses, 7); XCTAssertEqual(a.inputChannels, 3); XCTAssertNil(a.depth)
        let b = try ResNetWeights.from(tensors: Fixture.load("bottleneck_imagenet").stateDict).architecture
        XCTAssertEqual(b.block, "bottleneck"); XCTAssertEqual(b.blocksPerStage, [2, 2]); XCTAssertEqual(b.widths, [8, 16])
        XCTAssertEqual(b.numClasses, 5)
        let d = try ResNetWeights.from(tensors: Fixture.load("digits").stateDict)
        XCTAssertEqual(d.layout, .torchvision)
        XCTAssertEqual(d.architecture.stem, "cifar"); XCTAssertEqual(d.architecture.blocksPerStage, [1, 1, 1])
        XCTAssertEqual(d.architecture.widths, [16, 32, 64]); XCTAssertEqual(d.architecture.numClasses, 10)
        let r50 = try ResNet.randomWeights(depth: 50)
        XCTAssertEqual(r50.architecture.depth, 50); XCTAssertEqual(r50.architecture.blocksPerStage, [3, 4, 6, 3])
        XCTAssertEqual(r50.architecture.widths, [64, 128, 256, 512])
        XCTAssertEqual(try ResNet.randomWeights(depth: 18).architecture.depth, 18)
    }

    func testMadryLayoutDetectedAndNormalizerRead() throws {
        let f = try Fixture.load("bottleneck_imagenet")
        for prefix in ["module.", ""] {
            let w = try ResNetWeights.from(tensors: f.madryStateDict(prefix: prefix))
            XCTAssertEqual(w.layout, .madry)
            XCTAssertEqual(w.normalizer?.mean, f.mean); XCTAssertEqual(w.normalizer?.std, f.std)
            XCTAssertEqual(w.architecture.blocksPerStage, [2, 2])
        }
        let r = try run(f, backend: .reference, layout: .madry)
        XCTAssertLessThan(relMaxDiff(r.logits.data, f.array("logits").values), 1e-3)
    }

    func testErrorsNameTheKey() throws {
        let f = try Fixture.load("digits")
        var sd = f.stateDict
        sd["layer2.0.conv2.weight"] = ([32, 31, 3, 3], [Float](repeating: 0, count: 32 * 31 * 9))
        XCTAssertThrowsError(try ResNetWeights.from(tensors: sd)) { e in
            XCTAssertTrue("\(e)".contains("layer2.0.conv2.weight") && "\(e)".contains("[32, 32, 3, 3]"), "\(e)")
        }
        sd = f.stateDict
        sd["layer1.0.bn1.running_var"] = nil
        XCTAssertThrowsError(try ResNetWeights.from(tensors: sd)) { e in
            XCTAssertTrue("\(e)".contains("layer1.0.bn1.running_var"), "\(e)")
        }
        sd = f.stateDict
        sd["fc.weight"] = ([10, 63], [Float](repeating: 0, count: 630))
        XCTAssertThrowsError(try ResNetWeights.from(tensors: sd)) { e in XCTAssertTrue("\(e)".contains("fc.weight"), "\(e)") }
        sd = f.stateDict
        sd["layer9.weight"] = ([1], [0])
        XCTAssertThrowsError(try ResNetWeights.from(tensors: sd)) { e in XCTAssertTrue("\(e)".contains("layer9.weight"), "\(e)") }
        var m = f.madryStateDict()
        m["module.normalizer.new_std"] = nil
        XCTAssertThrowsError(try ResNetWeights.from(tensors: m)) { e in XCTAssertTrue("\(e)".contains("new_std"), "\(e)") }
    }

    func testReferenceMatchesPyTorch() throws {
        for name in Self.nets {
            let f = try Fixture.load(name)
            let r = try run(f, backend: .reference)
            let el = relMaxDiff(r.logits.data, f.array("logits").values), eg = relL2(r.dx.data, f.array("dx").values)
            print("parity reference vs PyTorch \(name): logits \(el), dx \(eg)")
            XCTAssertLessThan(el, 1e-3, name); XCTAssertLessThan(eg, 1e-3, name)
        }
    }

    func testOneDNNMatchesPyTorchAndReference() throws {
        for name in Self.nets {
            let f = try Fixture.load(name)
            let r = try run(f, backend: .reference)
            for wino in [false, true] {
                let o = try run(f, backend: .onednn, winograd: wino)
                let el = relMaxDiff(o.logits.data, f.array("logits").values), eg = relL2(o.dx.data, f.array("dx").values)
                let rl = relMaxDiff(o.logits.data, r.logits.data), rg = relL2(o.dx.data, r.dx.data)
                print("parity oneDNN\(wino ? "+winograd" : "") \(name): vs PyTorch logits \(el), dx \(eg); vs reference logits \(rl), dx \(rg)")
                XCTAssertLessThan(el, 1e-3, name); XCTAssertLessThan(eg, 1e-3, name)
                XCTAssertLessThan(rl, 1e-3, name); XCTAssertLessThan(rg, 1e-3, name)
            }
        }
    }

    func testOneDNNReusesAcrossStepsAndBatchSizes() throws {
        let f = try Fixture.load("digits")
        let w = try ResNetWeights.from(tensors: f.stateDict)
        let net = try ResNet(weights: w, mean: f.mean, std: f.std, inputSize: 16)
        let x = f.tensor("input"), dl = f.tensor("dlogits")
        let a = try net.forward(x); let ga = try net.inputGradient(dl)
        let b = try net.forward(x); let gb = try net.inputGradient(dl)
        XCTAssertEqual(a, b); XCTAssertEqual(ga, gb)
        // A second VJP of the same forward (backward keeps only masks and the pool workspace).
        XCTAssertEqual(try net.inputGradient(dl), gb)
        var dl2 = dl; dl2.data = dl.data.map { -2 * $0 }
        let g2 = try net.inputGradient(dl2)
        XCTAssertLessThan(relL2(g2.data, gb.data.map { -2 * $0 }), 1e-6)
        // Batch 1 (a new net for that size) agrees with the batch-3 result's first example.
        let one = try net.forward(x.example(0)); let g1 = try net.inputGradient(dl.example(0))
        XCTAssertLessThan(relMaxDiff(one.data, a.example(0).data), 1e-5)
        XCTAssertLessThan(relL2(g1.data, ga.example(0).data), 1e-5)
        XCTAssertThrowsError(try net.inputGradient(dl))  // batch 3 gradient after a batch-1 forward
        XCTAssertThrowsError(try net.forward(Tensor(zeros: [1, 3, 15, 16])))
        XCTAssertFalse(net.implementationInfo.isEmpty)
    }

    /// Central differences of the reference on a tiny net: d(sum_k v_k logits_k)/dx.
    func testReferenceGradientFiniteDifferences() throws {
        for (block, stem) in [("basic", "cifar"), ("bottleneck", "imagenet")] {
            let w = try ResNetWeights.random(block: block, blocksPerStage: [1, 1], widths: [4, 4], stem: stem,
                                             numClasses: 3, seed: 3)
            let size = stem == "cifar" ? 6 : 12
            let net = try ResNet(weights: w, mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.25], inputSize: size,
                                 backend: .reference)
            var rng = RandomStream(seed: 11)
            let x = Tensor(shape: [1, 3, size, size], data: (0..<(3 * size * size)).map { _ in rng.nextUniformFloat() })
            let v = Tensor(shape: [1, 3], data: [0.7, -1.1, 0.4])
            _ = try net.forward(x)
            let g = try net.inputGradient(v)
            func f(_ x: Tensor) throws -> Double {
                let l = try net.forward(x)
                return zip(l.data, v.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            // ReLU and max-pool kinks (ties at zero) make a few one-sided points; require 95% of the
            // probed coordinates within 1% of max |g|, and the median error far below that.
            var errs = [Double]()
            let h: Float = 1e-3
            for i in stride(from: 0, to: x.count, by: 5) {
                var xp = x, xm = x
                xp.data[i] += h; xm.data[i] -= h
                let fd = (try f(xp) - f(xm)) / Double(2 * h)
                errs.append(abs(fd - Double(g.data[i])))
            }
            errs.sort()
            let scale = Double(g.data.map { abs($0) }.max()!)
            let p95 = errs[errs.count * 95 / 100], median = errs[errs.count / 2]
            print("finite differences \(block)/\(stem): \(errs.count) coordinates, median abs err \(median), "
                + "95th percentile \(p95), max \(errs.last!), max |g| \(scale)")
            XCTAssertLessThan(p95, 1e-2 * scale)
            XCTAssertLessThan(median, 1e-3 * scale)
        }
    }

    /// The checkpoint files the fixture script wrote (torch zip, MadryLab legacy + dill,
    /// safetensors), read by the Checkpoints target, through both backends.
    func testCheckpointFilesThroughTheEngine() throws {
        let files: [(String, String, ResNetLayout)] = [
            ("basic_imagenet", "basic_imagenet_torchvision.pth", .torchvision),
            ("basic_imagenet", "basic_imagenet_madry.pt", .madry),
            ("basic_imagenet", "basic_imagenet.safetensors", .torchvision),
            ("bottleneck_imagenet", "bottleneck_imagenet_torchvision.pth", .torchvision),
            ("bottleneck_imagenet", "bottleneck_imagenet_madry.pt", .madry),
            ("bottleneck_imagenet", "bottleneck_imagenet.safetensors", .torchvision),
            ("digits", "digits_torchvision.pth", .torchvision),
        ]
        for (name, file, layout) in files {
            let f = try Fixture.load(name)
            let ckpt = try Checkpoint.load(Fixture.dir.appendingPathComponent(file).path)
            let w = try ResNetWeights.from(ckpt, layout: nil)
            XCTAssertEqual(w.layout, layout, file)
            if layout == .madry {
                XCTAssertEqual(w.normalizer?.mean, f.mean, file); XCTAssertEqual(w.normalizer?.std, f.std, file)
            } else {
                XCTAssertNil(w.normalizer)
            }
            let mean = w.normalizer?.mean ?? f.mean, std = w.normalizer?.std ?? f.std
            for backend in [ResNet.Backend.onednn, .reference] {
                let net = try ResNet(weights: w, mean: mean, std: std, inputSize: f.inputSize, backend: backend)
                let logits = try net.forward(f.tensor("input"))
                let dx = try net.inputGradient(f.tensor("dlogits"))
                XCTAssertLessThan(relMaxDiff(logits.data, f.array("logits").values), 1e-3, file)
                XCTAssertLessThan(relL2(dx.data, f.array("dx").values), 1e-3, file)
            }
        }
    }

    /// The ImageNet stem's backward-data through space-to-depth (used when oneDNN has a jit kernel
    /// for it, e.g. stem width 16+; the fixture nets' stems of width 8 fall back to the plain path),
    /// against the reference, at even and odd input sizes.
    /// Both forms of the space-to-depth stem backward against the reference: backward-data, and (with
    /// AVX-512 kernels, the default there) the forward conv it equals.
    func testSpaceToDepthStemBackward() throws {
        let avx512 = ResNet.cpuISA.name.hasPrefix("avx512")
        for (size, width) in [(32, 16), (33, 16), (29, 32)] {
          for backwardData in [false, true] {
            let w = try ResNetWeights.random(block: "basic", blocksPerStage: [1, 1], widths: [width, 32], stem: "imagenet",
                                             numClasses: 4, seed: 9)
            let mean: [Float] = [0.5, 0.4, 0.3], std: [Float] = [0.2, 0.3, 0.25]
            let fast = try ResNet(weights: w, mean: mean, std: std, inputSize: size)
            let ref = try ResNet(weights: w, mean: mean, std: std, inputSize: size, backend: .reference)
            var rng = RandomStream(seed: 13)
            let x = Tensor(shape: [2, 3, size, size], data: (0..<(2 * 3 * size * size)).map { _ in rng.nextUniformFloat() })
            let dl = Tensor(shape: [2, 4], data: (0..<8).map { _ in rng.nextUniformFloat() - 0.5 })
            // the net is built (reading the switch) on the first call
            let (lf, gf) = try withEnvironment("RSYNTH_RESNET_S2D_BWD_DATA", backwardData ? "1" : nil) {
                (try fast.forward(x), try fast.inputGradient(dl))
            }
            let lr = try ref.forward(x), gr = try ref.inputGradient(dl)
            XCTAssertTrue(fast.implementationInfo.contains("space-to-depth"), fast.implementationInfo)
            XCTAssertEqual(fast.implementationInfo.contains("(as forward on flipped transposed weights)"),
                           avx512 && !backwardData, "\(ResNet.cpuISA.name): \(fast.implementationInfo)")
            XCTAssertTrue(fast.implementationInfo.contains("relu masks: u8"), fast.implementationInfo)
            let el = relMaxDiff(lf.data, lr.data), eg = relL2(gf.data, gr.data)
            print("space-to-depth stem \(size)x\(size) width \(width)\(backwardData ? " backward-data" : ""): logits \(el), dx \(eg)")
            XCTAssertLessThan(el, 1e-4); XCTAssertLessThan(eg, 1e-4)
          }
        }
    }

    func testLoadConvenience() throws {
        let f = try Fixture.load("bottleneck_imagenet")
        let madry = try ResNet.load(Fixture.dir.appendingPathComponent("bottleneck_imagenet_madry.pt").path, inputSize: 40)
        XCTAssertEqual(madry.mean, f.mean)
        XCTAssertLessThan(relMaxDiff(try madry.forward(f.tensor("input")).data, f.array("logits").values), 1e-3)
        let tv = try ResNet.load(Fixture.dir.appendingPathComponent("bottleneck_imagenet.safetensors").path, inputSize: 40)
        XCTAssertEqual(tv.mean, ResNet.imageNetMean)
        XCTAssertThrowsError(try ResNet.load("/nonexistent.pth"))
    }

    /// Shapes the fixtures do not cover: one input channel, a single stage, bottleneck with the
    /// CIFAR stem; oneDNN against the reference.
    func testOtherShapesAgainstReference() throws {
        let cases: [(String, [Int], [Int], String, Int, Int)] = [
            ("basic", [1, 2], [16, 24], "imagenet", 1, 21), ("bottleneck", [2], [16], "cifar", 1, 12),
            ("basic", [1], [32], "cifar", 3, 9),
        ]
        for (block, blocks, widths, stem, channels, size) in cases {
            let w = try ResNetWeights.random(block: block, blocksPerStage: blocks, widths: widths, stem: stem,
                                             inputChannels: channels, numClasses: 6, seed: 21)
            XCTAssertEqual(w.architecture.inputChannels, channels)
            let mean = [Float](repeating: 0.45, count: channels), std = [Float](repeating: 0.22, count: channels)
            let fast = try ResNet(weights: w, mean: mean, std: std, inputSize: size)
            let ref = try ResNet(weights: w, mean: mean, std: std, inputSize: size, backend: .reference)
            var rng = RandomStream(seed: 17)
            let x = Tensor(shape: [3, channels, size, size],
                           data: (0..<(3 * channels * size * size)).map { _ in rng.nextUniformFloat() })
            let dl = Tensor(shape: [3, 6], data: (0..<18).map { _ in rng.nextUniformFloat() - 0.5 })
            let lf = try fast.forward(x), gf = try fast.inputGradient(dl)
            let lr = try ref.forward(x), gr = try ref.inputGradient(dl)
            let el = relMaxDiff(lf.data, lr.data), eg = relL2(gf.data, gr.data)
            print("shape \(w.architecture) @\(size): logits \(el), dx \(eg)")
            XCTAssertLessThan(el, 1e-4); XCTAssertLessThan(eg, 1e-4)
        }
    }

    /// bfloat16 mode against PyTorch's float32 fixtures. Which branch applies is asked of oneDNN
    /// (its effective ISA, so ONEDNN_MAX_CPU_ISA=AVX2 takes the first branch on any CPU):
    /// - no AVX-512: oneDNN 2.6 has no bfloat16 convolutions; every net is refused when made, naming
    ///   its stem (the first layer built);
    /// - AVX-512 core: fast kernels want channel counts in multiples of 16: the digits net (16/32/64)
    ///   must run, the 8-channel nets must be refused naming a layer whose counts are not;
    /// - AMX: every net must run.
    /// A net that runs must be close to PyTorch (bfloat16 keeps 8 significant bits; measured:
    /// logits within 1%, gradients' cosine above 0.99) and differ from float32 (else bfloat16 never ran).
    func testBFloat16AgainstPyTorch() throws {
        let isa = ResNet.cpuISA
        print("bfloat16: oneDNN's ISA here is \(isa.name): bfloat16 kernels \(isa.bfloat16)")
        for name in Self.nets {
            let f = try Fixture.load(name)
            let w = try ResNetWeights.from(tensors: f.stateDict)
            // Every convolution's channel counts (the stem's 3 input channels aside).
            let convs = f.stateDict.filter { $0.key.hasSuffix(".weight") && $0.value.shape.count == 4 }
            let multiplesOf16 = convs.allSatisfy { $0.value.shape[0] % 16 == 0 && ($0.key == "conv1.weight" || $0.value.shape[1] % 16 == 0) }
            let expectFast = isa.bfloat16 == .amx || (isa.bfloat16 == .avx512 && multiplesOf16)
            print("bfloat16 \(name): expecting it to be \(expectFast ? "accepted" : "refused") (channels in multiples of 16: \(multiplesOf16))")
            let net: ResNet, logits: Tensor, dx: Tensor
            do {
                // Refused when made (the engine checks its kernels then), not at the first step.
                net = try ResNet(weights: w, mean: f.mean, std: f.std, inputSize: f.inputSize, precision: .bfloat16)
                logits = try net.forward(f.tensor("input")); dx = try net.inputGradient(f.tensor("dlogits"))
            } catch let e as ResNetError {
                print("bfloat16 \(name): refused: \(e.message)")
                XCTAssertFalse(expectFast, "\(name): \(isa.name), yet \(e.message)")
                if isa.bfloat16 == .none {
                    let stem = f.stateDict["conv1.weight"]!.shape
                    XCTAssertEqual(e.message, "oneDNN ResNet: bfloat16: oneDNN has no fast kernel for stem (\(stem[2])x\(stem[3]), \(stem[1])->\(stem[0]) channels) on this CPU; use float32")
                } else {
                    XCTAssertTrue(e.message.hasPrefix("oneDNN ResNet: bfloat16: oneDNN has no fast kernel for "), e.message)
                    XCTAssertTrue(e.message.hasSuffix(" channels) on this CPU; use float32"), e.message)
                    // The layer named has a channel count that is not a multiple of 16.
                    let counts = e.message.components(separatedBy: ", ").last!.components(separatedBy: " channels")[0]
                        .components(separatedBy: "->").compactMap { Int($0) }
                    XCTAssertEqual(counts.count, 2, e.message)
                    XCTAssertTrue(counts.contains { $0 % 16 != 0 }, e.message)
                }
                continue
            }
            XCTAssertTrue(expectFast, "\(name): \(isa.name) has no fast bfloat16 kernel for it, yet it was accepted")
            XCTAssertTrue(net.implementationInfo.contains("precision: bfloat16"), net.implementationInfo)
            let f32 = try ResNet(weights: w, mean: f.mean, std: f.std, inputSize: f.inputSize)
            _ = try f32.forward(f.tensor("input"))
            let dx32 = try f32.inputGradient(f.tensor("dlogits"))
            let pl = f.array("logits").values, pg = f.array("dx").values
            let el = relMaxDiff(logits.data, pl), eg = relL2(dx.data, pg), cos = cosine(dx.data, pg)
            print("bfloat16 \(name): accepted: vs PyTorch float32 logits \(el), dx \(eg) (cosine \(cos)); vs float32 engine dx \(relL2(dx.data, dx32.data))")
            XCTAssertLessThan(el, 0.02, name)
            XCTAssertGreaterThan(cos, 0.98, name)
            XCTAssertGreaterThan(relL2(dx.data, dx32.data), 1e-4, "\(name): bfloat16 gave float32's gradient")
        }
    }

    /// The fast path at full size (ResNet-50, 224x224, direct and Winograd) against the reference.
    /// Logits must agree to 1e-5. The gradients are compared through the same decisions: a few of
    /// ResNet-50's ~10 million ReLU inputs lie within float32 rounding of zero and any two
    /// implementations may switch them differently, each moving the gradient by ~0.1-0.5%; so the
    /// reference backward runs through the fast path's own ReLU masks and max-pool choices, and
    /// must then agree to 1e-4. The decisions themselves must agree with the reference's own on
    /// all but a handful of units (else the export, not rounding, would be wrong).
    func testFullSizeResNet50AgainstTheReference() throws {
        let w = try ResNet.randomWeights(depth: 50, seed: 3)
        var rng = RandomStream(seed: 5)
        let x = Tensor(shape: [1, 3, 224, 224], data: (0..<(3 * 224 * 224)).map { _ in rng.nextUniformFloat() })
        let dl = Tensor(shape: [1, 1000], data: (0..<1000).map { _ in rng.nextUniformFloat() - 0.5 })
        let ref = ReferenceNet(weights: w, mean: ResNet.imageNetMean, std: ResNet.imageNetStd, inputSize: 224)
        let lr = ref.forward(x)
        let own = ref.decisions()
        let units = own.relu.reduce(0) { $0 + $1.count }
        XCTAssertEqual(own.relu.count, 1 + 16 * 3)
        for wino in [false, true] {
            let fast = try ResNet(weights: w, mean: ResNet.imageNetMean, std: ResNet.imageNetStd, inputSize: 224, winograd: wino)
            let lf = try fast.forward(x), gf = try fast.inputGradient(dl)
            // Winograd exists only with AVX-512 (oneDNN 2.6); below it the direct path runs twice.
            XCTAssertEqual(fast.implementationInfo.contains("(winograd)"), wino && ResNet.cpuISA.bfloat16 != .none,
                           "Winograd \(wino) on \(ResNet.cpuISA.name)")
            let d = try fast.lastDecisions()
            XCTAssertEqual(d.relu.map(\.count), own.relu.map(\.count))
            var flipped = 0
            for (a, b) in zip(d.relu, own.relu) { for i in a.indices where a[i] != b[i] { flipped += 1 } }
            // Max-pool choices that matter: where the reference's chosen stem unit is active.
            let stem = own.relu[0], fc = try XCTUnwrap(d.maxPool), rc = try XCTUnwrap(own.maxPool)
            var poolDiffer = 0
            for i in rc.indices where fc[i] != rc[i] {
                let plane = i / (56 * 56), oh = (i / 56) % 56, ow = i % 56
                let ih = oh * 2 - 1 + Int(rc[i]) / 3, iw = ow * 2 - 1 + Int(rc[i]) % 3
                if stem[plane * 112 * 112 + ih * 112 + iw] == 1 { poolDiffer += 1 }
            }
            let gr = try ref.inputGradient(dl, through: d)
            let el = relMaxDiff(lf.data, lr.data), eg = relL2(gf.data, gr.data)
            let egOwn = relL2(gf.data, ref.inputGradient(dl).data)
            print("ResNet-50 224\(wino ? " Winograd" : ""): logits \(el); dx through the same decisions \(eg) " +
                  "(through the reference's own: \(egOwn)); ReLU decisions differing \(flipped) of \(units), max-pool \(poolDiffer)")
            XCTAssertLessThan(el, 1e-5)
            XCTAssertLessThan(eg, 1e-4)
            XCTAssertLessThan(flipped, 100)
            XCTAssertLessThan(poolDiffer, 10)
        }
    }

    func testBFloat16NeedsTheOneDNNBackend() throws {
        let w = try ResNetWeights.from(tensors: try Fixture.load("digits").stateDict)
        XCTAssertThrowsError(try ResNet(weights: w, mean: [0, 0, 0], std: [1, 1, 1], inputSize: 16, backend: .reference,
                                        precision: .bfloat16)) { error in
            XCTAssertEqual("\(error)", "the reference backend computes in float32 only (asked for bfloat16)")
        }
    }
}

/// a.b / (|a| |b|)
func cosine(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var ab: Double = 0, aa: Double = 0, bb: Double = 0
    for i in 0..<a.count { ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i]) }
    return Float(ab / max((aa * bb).squareRoot(), 1e-30))
}
