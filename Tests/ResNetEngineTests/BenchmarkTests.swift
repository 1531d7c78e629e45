import Foundation
import XCTest
import RobustSynthCore
@testable import ResNetEngine

/// ResNet-50 (random weights, 224x224) forward + input gradient timing. Skipped unless
/// RSYNTH_BENCH is set, e.g. (release build, the numbers in Sources/ResNetEngine/README.md):
///   swift build -c release --build-tests -Xswiftc -enable-testing
///   RSYNTH_BENCH=1,4,8 RSYNTH_BENCH_STEPS=5 OMP_WAIT_POLICY=passive \
///     swift test -c release --skip-build --filter BenchmarkTests
/// RSYNTH_WINOGRAD=1/0 forces Winograd on/off for the 3x3 stride-1 layers (default: on from batch 8); RSYNTH_BENCH_INFO=1 prints the
/// oneDNN implementation of every layer.
final class BenchmarkTests: XCTestCase {
    func testBenchmarkResNet50() throws {
        let env = ProcessInfo.processInfo.environment
        guard let spec = env["RSYNTH_BENCH"] else { throw XCTSkip("set RSYNTH_BENCH=1,4,8 to run the benchmark") }
        let batches = spec.split(separator: ",").compactMap { Int($0) }
        let steps = Int(env["RSYNTH_BENCH_STEPS"] ?? "") ?? 5
        let wino: Bool? = env["RSYNTH_WINOGRAD"].map { $0 == "1" }
        let weights = try ResNet.randomWeights(depth: 50)
        let net = try ResNet(weights: weights, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
                             inputSize: 224, winograd: wino)
        for b in batches {
            let r = try net.benchmark(batch: b, steps: steps)
            print("resnet50 winograd \(wino.map { $0 ? "on" : "off" } ?? "auto") \(r), "
                + String(format: "%.0f GFLOP/s at 16.4 GFLOP", 16.4 / r.msPerImageStep * 1000))
            if env["RSYNTH_BENCH_INFO"] == "1" { print(net.implementationInfo) }
        }
    }

    /// Direct vs Winograd on full ResNet-50 in one process, steps interleaved (A B A B ...) so that
    /// the other load on the machine hits both alike; plus their parity with each other and, with
    /// RSYNTH_BENCH_REF=1, with the reference at batch 1 (slow: ~10 s).
    ///   RSYNTH_BENCH_AB=8 RSYNTH_BENCH_STEPS=6 swift test -c release --skip-build --filter testWinogradAB
    func testWinogradAB() throws {
        let env = ProcessInfo.processInfo.environment
        guard let b = env["RSYNTH_BENCH_AB"].flatMap({ Int($0) }) else { throw XCTSkip("set RSYNTH_BENCH_AB=<batch>") }
        let steps = Int(env["RSYNTH_BENCH_STEPS"] ?? "") ?? 6
        let weights = try ResNet.randomWeights(depth: 50)
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let direct = try ResNet(weights: weights, mean: mean, std: std, inputSize: 224, winograd: false)
        let wino = try ResNet(weights: weights, mean: mean, std: std, inputSize: 224, winograd: env["RSYNTH_AB_NHWC"] != "1")
        var rng = RandomStream(seed: 5)
        let x = Tensor(shape: [b, 3, 224, 224], data: (0..<(b * 3 * 224 * 224)).map { _ in rng.nextUniformFloat() })
        let targets = (0..<b).map { _ in Int(rng.next() % 1000) }
        let ld = try direct.forward(x)
        let dl = crossEntropy(logits: ld, targets: targets).dlogits
        let gd = try direct.inputGradient(dl)
        if env["RSYNTH_AB_NHWC"] == "1" { setenv("RSYNTH_RESNET_LAYOUT", "nhwc", 1) }   // B = nhwc instead of winograd
        let lw = try wino.forward(x), gw = try wino.inputGradient(dl)
        unsetenv("RSYNTH_RESNET_LAYOUT")
        print(String(format: "resnet50 batch %d winograd vs direct: logits %.2e (max abs diff / max abs logit), dx %.2e (relative L2)",
                     b, relMaxDiff(lw.data, ld.data), relL2(gw.data, gd.data)))
        if env["RSYNTH_BENCH_REF"] == "1" {
            let ref = try ResNet(weights: weights, mean: mean, std: std, inputSize: 224, backend: .reference)
            let x1 = x.example(0), d1 = dl.example(0)
            let lr = try ref.forward(x1), gr = try ref.inputGradient(d1)
            for (name, net) in [("direct", direct), ("winograd", wino)] {
                let l = try net.forward(x1), g = try net.inputGradient(d1)
                print(String(format: "resnet50 batch 1 %@ vs reference: logits %.2e, dx %.2e", name,
                             relMaxDiff(l.data, lr.data), relL2(g.data, gr.data)))
            }
            _ = try direct.forward(x); _ = try wino.forward(x)
        }
        var td = [Double](), tw = [Double]()
        for _ in 0..<steps {
            for (net, isWino) in [(direct, false), (wino, true)] {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try net.forward(x); _ = try net.inputGradient(dl)
                let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(b)
                if isWino { tw.append(ms) } else { td.append(ms) }
            }
        }
        td.sort(); tw.sort()
        print(String(format: "resnet50 batch %d interleaved medians: direct %.1f ms, winograd %.1f ms per image-step (min %.1f / %.1f)",
                     b, td[td.count / 2], tw[tw.count / 2], td[0], tw[0]))
        print(wino.implementationInfo.split(separator: "\n").filter { $0.hasPrefix("memory") }.joined())
        print(direct.implementationInfo.split(separator: "\n").filter { $0.hasPrefix("memory") }.joined())
    }
}
