import RobustSynthCore
import XCTest

/// The error for a tap a classifier does not have: the nearest name and the list, and for a model
/// with many taps (every module of a ViT) the count and the first 24, so it stays one short line.
final class UnknownTapMessageTests: XCTestCase {
    func taps(_ names: [String]) -> [TapInfo] { names.map { TapInfo(name: $0, shape: [1]) } }

    func testAFewTapsAreAllListed() {
        XCTAssertEqual(LinearModel.unknownTapMessage("layer9", offered: taps(["layer1", "layer2", "representation"])),
                       "no tap 'layer9' (did you mean 'layer1'?); it offers layer1, layer2, representation")
        XCTAssertEqual(LinearModel.unknownTapMessage("x", offered: []), "no tap 'x': this classifier offers no taps")
    }

    func testManyTapsAreCountedAndCut() {
        let names = (0..<24).map { "m\($0)" }
        XCTAssertEqual(LinearModel.unknownTapMessage("zzzzzz", offered: taps(names)),
                       "no tap 'zzzzzz'; it offers " + names.joined(separator: ", "))
        let many = (0..<150).map { "encoder.layers.\($0)" }
        XCTAssertEqual(LinearModel.unknownTapMessage("encoder.layers.x", offered: taps(many)),
                       "no tap 'encoder.layers.x' (did you mean 'encoder.layers.0'?); it offers 150 taps: "
                           + many.prefix(24).joined(separator: ", ") + ", ...")
    }
}
