import Foundation
import XCTest
import ResNetEngine

/// ResNet-50 (random weights, 224x224) forward + input gradient timing. Skipped unless
/// RSYNTH_BENCH is set, e.g. (release build, the numbers in docs/resnet-engine.md):
///   swift build -c release --build-tests -Xswiftc -enable-testing
///   RSYNTH_BENCH=1,4,8 RSYNTH_BENCH_STEPS=5 OMP_WAIT_POLICY=passive \
///     swift test -c release --skip-build --filter BenchmarkTests
/// RSYNTH_WINOGRAD=1 turns Winograd on for the 3x3 stride-1 layers; RSYNTH_BENCH_INFO=1 prints the
/// oneDNN implementation of every layer.
final class BenchmarkTests: XCTestCase {
    func testBenchmarkResNet50() throws {
        let env = ProcessInfo.processInfo.environment
        guard let spec = env["RSYNTH_BENCH"] else { throw XCTSkip("set RSYNTH_BENCH=1,4,8 to run the benchmark") }
        let batches = spec.split(separator: ",").compactMap { Int($0) }
        let steps = Int(env["RSYNTH_BENCH_STEPS"] ?? "") ?? 5
        let wino = env["RSYNTH_WINOGRAD"] == "1"
        let weights = try ResNet.randomWeights(depth: 50)
        let net = try ResNet(weights: weights, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
                             inputSize: 224, winograd: wino)
        for b in batches {
            let r = try net.benchmarkStep(batch: b, steps: steps)
            print(String(format: "resnet50 batch %d winograd %@: %.1f ms per image-step (%.1f GFLOP/s at 16.4 GFLOP), "
                + "peak RSS %.0f MB, engine %.0f MB", b, wino ? "on" : "off", r.msPerImageStep,
                16.4 / r.msPerImageStep * 1000, r.peakRSSMB, Double(net.engineBytes) / 1_048_576))
            if env["RSYNTH_BENCH_INFO"] == "1" { print(net.implementationInfo) }
        }
    }
}
