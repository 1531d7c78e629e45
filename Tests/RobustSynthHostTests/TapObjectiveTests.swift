import Foundation
import ImageIO
import RSynthTestSupport
import RobustSynthCore
@testable import RobustSynthHost
import XCTest

/// Taps and objectives across the plugin boundary, on the shipped robust digit model loaded as
/// a plugin: the taps it offers, and the input gradient of each objective through its tap (one
/// backward pass) against central finite differences of the loss along random directions.
final class TapObjectiveTests: XCTestCase {
    func classifier() throws -> HostedClassifier {
        let catalog = PluginCatalog.discover(pluginPaths: [TestSupport.products.path], environment: [:])
        let weights = TestSupport.root.appendingPathComponent("Examples/digits/models/digits-robust.pt").path
        return try catalog.classifier("digits-resnet", ["weights": .string(weights)])
    }

    func digits(_ names: [String]) throws -> Tensor {
        Tensor.concatenate(try names.map {
            try ImageFile.read(TestSupport.root.appendingPathComponent("Examples/digits/data/test/\($0)").path).tensor()
        })
    }

    func testTheDigitModelOffersItsTaps() throws {
        let c = try classifier()
        XCTAssertEqual(c.taps.map(\.name), ["layer1.0", "layer1", "layer2.0", "layer2", "layer3.0", "layer3", "representation"])
        XCTAssertEqual(c.taps.map(\.shape), [[16, 16, 16], [16, 16, 16], [32, 8, 8], [32, 8, 8], [64, 4, 4], [64, 4, 4], [64]])
        let x = try digits(["3/0045.png", "8/0028.png"])
        XCTAssertThrowsError(try c.forward(x, taps: ["layer4"])) {
            XCTAssertEqual("\($0)", "plugin 'digits-resnet': no tap 'layer4' (did you mean 'layer1'?); it offers layer1.0, layer1, layer2.0, layer2, layer3.0, layer3, representation")
        }
        // The representation is the mean of layer3 over its 4x4 plane.
        let (_, taps) = try c.forward(x, taps: ["layer3", "representation"])
        for ch in [0, 17, 63] {
            let mean = taps[0].data[(ch * 16)..<(ch * 16 + 16)].reduce(0, +) / 16
            XCTAssertEqual(mean, taps[1].data[ch], accuracy: 1e-5)
        }
    }

    /// g . v against (L(x + h v) - L(x - h v)) / 2h for unit directions v: the gradient's own and
    /// two random ones, within 3% of ||g|| (the largest g . v can be; float32 losses and ReLU
    /// kinks limit finite differences, not the gradient, which TapTests checks against PyTorch).
    func checkDirectional(_ c: HostedClassifier, _ x: Tensor, tap: String,
                          _ objective: (Tensor) throws -> (loss: [Float], dtap: Tensor),
                          file: StaticString = #filePath, line: UInt = #line) throws {
        func loss(_ x: Tensor) throws -> Double {
            Double(try objective(try c.forward(x, taps: [tap]).taps[0]).loss.reduce(0, +))
        }
        let (logits, taps) = try c.forward(x, taps: [tap])
        let g = try c.inputGradient(Tensor(zeros: logits.shape), tapGradients: [try objective(taps[0]).dtap])
        func unit(_ v: [Float]) -> [Float] {
            let n = v.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            return v.map { Float(Double($0) / n) }
        }
        let gNorm = g.data.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        XCTAssertGreaterThan(gNorm, 1e-3, "\(tap): no gradient", file: file, line: line)
        var rng = RandomStream(seed: 3)
        let directions = [unit(g.data)] + (0..<2).map { _ in unit(x.data.map { _ in rng.nextUniformFloat() - 0.5 }) }
        for v in directions {
            let h: Float = 1e-2
            var up = x, down = x
            for j in x.data.indices { up.data[j] += h * v[j]; down.data[j] -= h * v[j] }
            let numeric = (try loss(up) - (try loss(down))) / Double(2 * h)
            let analytic = zip(g.data, v).map { Double($0) * Double($1) }.reduce(0, +)
            XCTAssertEqual(analytic, numeric, accuracy: 0.03 * gNorm, "\(tap): ||g|| \(gNorm)", file: file, line: line)
        }
    }

    func testObjectiveGradientsThroughTapsMatchFiniteDifferences() throws {
        let c = try classifier()
        // Away from the clamp's bounds, so that finite differences see the same function.
        var x = try digits(["3/0045.png", "8/0028.png"])
        x.data = x.data.map { 0.1 + 0.8 * $0 }
        let target = try c.forward(try digits(["5/0035.png", "1/0021.png"]), taps: ["representation"]).taps[0]
        try checkDirectional(c, x, tap: "representation") {
            let o = Objectives.representationDistance($0, target: target); return (o.loss, o.dr)
        }
        var mask = Tensor(zeros: [2, 1, 4, 4])
        for j in 0..<8 { mask.data[j] = 1; mask.data[16 + j] = 1 }
        try checkDirectional(c, x, tap: "layer3") { try Objectives.activation($0, units: [5, 9], mask: mask) }
        try checkDirectional(c, x, tap: "layer2.0") { try Objectives.activation($0, units: [1, 30]) }
    }
}
