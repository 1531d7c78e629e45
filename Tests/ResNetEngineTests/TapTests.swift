import Foundation
import XCTest
import RobustSynthCore
import RSynthTestSupport
@testable import ResNetEngine

/// The tap arrays make_resnet_tap_fixtures.py wrote for one fixture net (resnet/taps.json,
/// resnet/<net>_taps.f32): PyTorch's tap values, the loss weights r, and dx of
/// L = sum(CE) + sum_t sum(tap_t * r_t).
struct TapFixture {
    let entry: [String: Any]
    let blob: [Float]

    static func load(_ name: String) throws -> TapFixture {
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixture.dir.appendingPathComponent("taps.json")))
            as! [String: Any]
        let entry = (index["nets"] as! [String: Any])[name] as! [String: Any]
        let data = try Data(contentsOf: Fixture.dir.appendingPathComponent("\(name)_taps.f32"))
        return TapFixture(entry: entry, blob: data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
    }

    var arrays: [String: Any] { entry["arrays"] as! [String: Any] }
    /// The taps PyTorch recorded: every stage, one block, representation.
    var tapNames: [String] { arrays.keys.filter { $0.hasPrefix("tap/") }.map { String($0.dropFirst(4)) }.sorted() }
    var lossTaps: [String] { entry["lossTaps"] as! [String] }
    func tensor(_ key: String) -> Tensor {
        let a = arrays[key] as! [String: Any]
        let shape = a["shape"] as! [Int], off = a["offset"] as! Int
        return Tensor(shape: shape, data: Array(blob[off..<(off + shape.reduce(1, *))]))
    }
}

final class TapTests: XCTestCase {
    /// The oneDNN switches the taps must work under (each builds a different net): u8 masks or kept
    /// f32 activations, Winograd, the plain stem backward instead of space-to-depth, the 1x1 backward
    /// as backward-data instead of forward convs with fused post-ops.
    static let modes: [(name: String, env: String?, winograd: Bool)] = [
        ("oneDNN", nil, false), ("oneDNN f32 activations", "RSYNTH_RESNET_F32_MASKS", false),
        ("oneDNN Winograd", nil, true), ("oneDNN no space-to-depth", "RSYNTH_RESNET_NO_S2D", false),
        ("oneDNN unfused backward", "RSYNTH_RESNET_UNFUSED_BWD", false),
    ]

    func net(_ f: Fixture, _ backend: ResNet.Backend, winograd: Bool = false, precision: ResNet.Precision = .float32)
        throws -> ResNet {
        try ResNet(weights: try ResNetWeights.from(tensors: f.stateDict), mean: f.mean, std: f.std,
                   inputSize: f.inputSize, backend: backend, winograd: winograd, precision: precision)
    }

    /// Every stage, one block and the representation against PyTorch's forward hooks, and the input
    /// gradient of CE + sum(tap * r) over some of them, to 1e-5 on the reference and on oneDNN float32
    /// in each mode (the fixtures' tap terms each make 3-100% of that gradient, so a dropped one fails).
    func testTapsMatchPyTorch() throws {
        for name in ResNetEngineTests.nets {
            let f = try Fixture.load(name), t = try TapFixture.load(name)
            let names = t.tapNames, loss = t.lossTaps
            XCTAssertTrue(names.contains("representation") && names.contains("layer1"), name)
            let cases: [(String, String?, ResNet.Backend, Bool)] =
                [("reference", nil, .reference, false)] + Self.modes.map { ($0.name, $0.env, .onednn, $0.winograd) }
            for (mode, env, backend, wino) in cases {
                try withEnvironment(env ?? "RSYNTH_UNUSED", env == nil ? nil : "1") {
                    let r = try net(f, backend, winograd: wino)
                    let out = try r.forward(f.tensor("input"), taps: names)
                    XCTAssertLessThan(relMaxDiff(out.logits.data, f.array("logits").values), 1e-5, "\(name) \(mode)")
                    var worst: Float = 0
                    for (n, v) in zip(names, out.taps) {
                        let p = t.tensor("tap/" + n)
                        XCTAssertEqual(v.shape, p.shape, "\(name) \(mode) \(n)")
                        let e = relL2(v.data, p.data)
                        worst = max(worst, e)
                        XCTAssertLessThan(e, 1e-5, "\(name) \(mode) \(n)")
                    }
                    let grads = names.map { loss.contains($0) ? t.tensor("r/" + $0) : nil }
                    let dx = try r.inputGradient(f.tensor("dlogits"), tapGradients: grads)
                    let eg = relL2(dx.data, t.tensor("dx_taps").data)
                    print("taps \(name) \(mode): \(names.count) taps vs PyTorch worst \(worst), dx of CE + taps \(eg)"
                        + (backend == .onednn ? "; " + r.implementationInfo.split(separator: "\n")
                            .filter { $0.hasPrefix("relu masks") || $0.hasPrefix("taps") }.joined(separator: "; ") : ""))
                    XCTAssertLessThan(eg, 1e-5, "\(name) \(mode)")
                    if env == "RSYNTH_RESNET_F32_MASKS" {
                        XCTAssertTrue(r.implementationInfo.contains("relu masks: activations kept"), "\(name) \(mode)")
                    }
                }
            }
        }
    }

    /// bfloat16 (oneDNN only, AVX512-BF16 CPUs): the digits fixture's taps and tap gradient within
    /// what 8 significant bits allow of PyTorch float32, and not float32's own numbers.
    func testTapsBFloat16AgainstPyTorch() throws {
        let f = try Fixture.load("digits"), t = try TapFixture.load("digits")
        // Asked of oneDNN, not assumed: without AVX-512 the bfloat16 net is refused, naming its stem.
        let isa = ResNet.cpuISA
        print("taps bfloat16: \(isa.name), bfloat16 kernels \(isa.bfloat16)")
        if isa.bfloat16 == .none {
            XCTAssertThrowsError(try net(f, .onednn, precision: .bfloat16)) {
                XCTAssertTrue("\($0)".contains("bfloat16: oneDNN has no fast kernel for stem"), "\($0)")
            }
            return
        }
        let names = t.tapNames
        let r = try net(f, .onednn, precision: .bfloat16), r32 = try net(f, .onednn)
        let out = try r.forward(f.tensor("input"), taps: names), out32 = try r32.forward(f.tensor("input"), taps: names)
        for (n, (v, v32)) in zip(names, zip(out.taps, out32.taps)) {
            let e = relL2(v.data, t.tensor("tap/" + n).data)
            print("taps bfloat16 digits \(n): vs PyTorch float32 \(e)")
            XCTAssertLessThan(e, 0.03, n)
            XCTAssertGreaterThan(relL2(v.data, v32.data), 1e-5, "\(n): bfloat16 gave float32's numbers")
        }
        let grads = names.map { t.lossTaps.contains($0) ? t.tensor("r/" + $0) : nil }
        let dx = try r.inputGradient(f.tensor("dlogits"), tapGradients: grads)
        let c = cosine(dx.data, t.tensor("dx_taps").data)
        print("taps bfloat16 digits: dx of CE + taps cosine \(c) to PyTorch float32")
        XCTAssertGreaterThan(c, 0.98)
    }

    /// oneDNN against the reference with taps on random ResNet-18 and ResNet-50 at 32x32 (batch 2),
    /// with random tap gradients, in each oneDNN mode; also a name asked twice and a stage with its
    /// last block (same tensor, gradients add).
    func testTapsOneDNNAgainstReference() throws {
        for depth in [18, 50] {
            let w = try ResNet.randomWeights(depth: depth, numClasses: 10, seed: UInt64(depth))
            let ref = try ResNet(weights: w, mean: ResNet.imageNetMean, std: ResNet.imageNetStd, inputSize: 32,
                                 backend: .reference)
            let last = depth == 18 ? "layer4.1" : "layer4.2"
            let names = ["layer1.0", "layer2", "layer3.1", "layer4", last, "representation", "layer2"]
            var rng = RandomStream(seed: 31)
            let x = Tensor(shape: [2, 3, 32, 32], data: (0..<(2 * 3 * 32 * 32)).map { _ in rng.nextUniformFloat() })
            let dl = Tensor(shape: [2, 10], data: (0..<20).map { _ in rng.nextUniformFloat() - 0.5 })
            let ro = try ref.forward(x, taps: names)
            XCTAssertEqual(ro.taps[3], ro.taps[4]); XCTAssertEqual(ro.taps[1], ro.taps[6])
            let grads: [Tensor?] = ro.taps.enumerated().map { i, v in
                i == 2 ? nil : Tensor(shape: v.shape, data: v.data.map { _ in 0.1 * (rng.nextUniformFloat() - 0.5) })
            }
            let rg = try ref.inputGradient(dl, tapGradients: grads)
            XCTAssertGreaterThan(relL2(rg.data, try ref.inputGradient(dl).data), 0.05, "tap gradients changed nothing")
            for m in TapTests.modes {
                try withEnvironment(m.env ?? "RSYNTH_UNUSED", m.env == nil ? nil : "1") {
                    let fast = try ResNet(weights: w, mean: ResNet.imageNetMean, std: ResNet.imageNetStd, inputSize: 32,
                                          winograd: m.winograd)
                    let fo = try fast.forward(x, taps: names)
                    XCTAssertLessThan(relMaxDiff(fo.logits.data, ro.logits.data), 1e-4)
                    var worst: Float = 0
                    for (n, (a, b)) in zip(names, zip(fo.taps, ro.taps)) {
                        XCTAssertEqual(a.shape, b.shape, n)
                        worst = max(worst, relL2(a.data, b.data))
                        XCTAssertLessThan(relL2(a.data, b.data), 1e-4, "ResNet-\(depth) \(m.name) \(n)")
                    }
                    XCTAssertEqual(fo.taps[3], fo.taps[4]); XCTAssertEqual(fo.taps[1], fo.taps[6])
                    let fg = try fast.inputGradient(dl, tapGradients: grads)
                    let eg = relL2(fg.data, rg.data)
                    let info = fast.implementationInfo.split(separator: "\n")
                        .filter { $0.hasPrefix("relu masks") || $0.hasPrefix("taps") || $0.contains("space-to-depth") }
                    print("taps ResNet-\(depth) @32 \(m.name): taps vs reference worst \(worst), dx \(eg); \(info.joined(separator: "; "))")
                    XCTAssertLessThan(eg, 1e-4, "ResNet-\(depth) \(m.name)")
                    if m.env == nil && !m.winograd {
                        // The default build: u8 masks and the space-to-depth stem, so those paths ran.
                        XCTAssertTrue(fast.implementationInfo.contains("relu masks: u8"), fast.implementationInfo)
                        XCTAssertTrue(fast.implementationInfo.contains("space-to-depth"), fast.implementationInfo)
                    }
                    if depth == 50 && m.env == nil {
                        // The bottlenecks' 1x1 backward as forward convs with the add and mask fused,
                        // except the mask of a tapped block's output (layer1.0 = block0: its tap's
                        // gradient is added before that mask).
                        let lines = fast.implementationInfo.split(separator: "\n")
                        let b1 = try XCTUnwrap(lines.first { $0.hasPrefix("block1.conv1 ") })
                        let b2 = try XCTUnwrap(lines.first { $0.hasPrefix("block2.conv1 ") })
                        let b2c3 = try XCTUnwrap(lines.first { $0.hasPrefix("block2.conv3 ") })
                        XCTAssertTrue(b1.hasSuffix("(as forward on transposed weights +add)"), String(b1))
                        XCTAssertTrue(b2.hasSuffix("(as forward on transposed weights +add +mask)"), String(b2))
                        XCTAssertTrue(b2c3.hasSuffix("(as forward on transposed weights +mask)"), String(b2c3))
                    }
                }
            }
        }
    }

    func testUnknownTapNameAndBadGradients() throws {
        let r18 = try ResNet(weights: try ResNet.randomWeights(depth: 18, numClasses: 4), mean: ResNet.imageNetMean,
                             std: ResNet.imageNetStd, inputSize: 32)
        let x = Tensor(zeros: [1, 3, 32, 32])
        XCTAssertThrowsError(try r18.forward(x, taps: ["layer4", "layer5"])) { e in
            XCTAssertEqual("\(e)", "no tap 'layer5' in this ResNet; it has layer1 ... layer4, layer1.0 ... layer4.1, representation")
        }
        let f = try Fixture.load("digits")
        for backend in [ResNet.Backend.onednn, .reference] {
            let d = try net(f, backend)
            XCTAssertThrowsError(try d.forward(f.tensor("input"), taps: ["fc"])) { e in
                XCTAssertEqual("\(e)", "no tap 'fc' in this ResNet; it has layer1 ... layer3, layer1.0 ... layer3.0, representation")
            }
            XCTAssertThrowsError(try d.inputGradient(f.tensor("dlogits"), tapGradients: [])) { e in
                XCTAssertEqual("\(e)", "inputGradient called before forward")
            }
            _ = try d.forward(f.tensor("input"), taps: ["layer3", "representation"])
            XCTAssertThrowsError(try d.inputGradient(f.tensor("dlogits"), tapGradients: [nil])) { e in
                XCTAssertEqual("\(e)", "1 tap gradient(s) for the last forward's 2 tap(s)")
            }
            XCTAssertThrowsError(try d.inputGradient(f.tensor("dlogits"), tapGradients: [nil, Tensor(zeros: [3, 63])])) { e in
                XCTAssertEqual("\(e)", "tap gradient 1 (representation): expected [3, 64], got [3, 63]")
            }
        }
        // One stage, one block: no ranges.
        let tiny = try ResNetWeights.random(block: "basic", blocksPerStage: [1], widths: [8], stem: "cifar", numClasses: 2, seed: 1)
        let t = try ResNet(weights: tiny, mean: [0, 0, 0], std: [1, 1, 1], inputSize: 8, backend: .reference)
        XCTAssertThrowsError(try t.forward(Tensor(zeros: [1, 3, 8, 8]), taps: ["layer2"])) { e in
            XCTAssertEqual("\(e)", "no tap 'layer2' in this ResNet; it has layer1, layer1.0, representation")
        }
    }

    /// tapShapes: every name in forward order with the shape forward returns.
    func testTapShapes() throws {
        let f = try Fixture.load("basic_imagenet")
        let r = try net(f, .reference)
        XCTAssertEqual(r.tapShapes.map(\.name), ["layer1.0", "layer1.1", "layer1", "layer2.0", "layer2", "layer3.0", "layer3",
                                                 "layer4.0", "layer4", "representation"])
        let out = try r.forward(f.tensor("input"), taps: r.tapShapes.map(\.name))
        for ((name, shape), v) in zip(r.tapShapes, out.taps) { XCTAssertEqual(v.shape, [3] + shape, name) }
        let r50 = try ResNet(weights: try ResNet.randomWeights(depth: 50), mean: ResNet.imageNetMean, std: ResNet.imageNetStd,
                             inputSize: 224)
        let s = Dictionary(uniqueKeysWithValues: r50.tapShapes.map { ($0.name, $0.shape) })
        XCTAssertEqual(r50.tapShapes.count, 16 + 4 + 1)
        XCTAssertEqual(s["layer1"], [256, 56, 56]); XCTAssertEqual(s["layer3.5"], [1024, 14, 14])
        XCTAssertEqual(s["layer4"], [2048, 7, 7]); XCTAssertEqual(s["representation"], [2048])
    }

    /// No taps is today's path, bit for bit: forward(x, taps: []) and inputGradient(_, tapGradients: [])
    /// against forward(_:) / inputGradient(_:), on both backends; and a tapped forward whose tap
    /// gradients are all nil gives the plain gradient (a different net, so to rounding).
    func testNoTapsIsBitIdentical() throws {
        for name in ResNetEngineTests.nets {
            let f = try Fixture.load(name)
            for backend in [ResNet.Backend.onednn, .reference] {
                let a = try net(f, backend), b = try net(f, backend)
                let la = try a.forward(f.tensor("input")), ga = try a.inputGradient(f.tensor("dlogits"))
                let ob = try b.forward(f.tensor("input"), taps: [])
                let gb = try b.inputGradient(f.tensor("dlogits"), tapGradients: [])
                XCTAssertTrue(ob.taps.isEmpty)
                XCTAssertEqual(la, ob.logits, "\(name) \(backend)"); XCTAssertEqual(ga, gb, "\(name) \(backend)")
                if backend == .onednn { XCTAssertFalse(b.implementationInfo.contains("taps:"), b.implementationInfo) }
                let oc = try b.forward(f.tensor("input"), taps: ["layer2", "representation"])
                let gc = try b.inputGradient(f.tensor("dlogits"), tapGradients: [nil, nil])
                XCTAssertLessThan(relMaxDiff(oc.logits.data, la.data), 1e-6, "\(name) \(backend)")
                XCTAssertLessThan(relL2(gc.data, ga.data), 1e-6, "\(name) \(backend)")
                // and the plain inputGradient after a tapped forward: its taps' gradients zero
                XCTAssertEqual(try b.inputGradient(f.tensor("dlogits")), gc, "\(name) \(backend)")
            }
        }
    }
}
