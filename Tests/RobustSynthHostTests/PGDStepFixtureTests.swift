import Foundation
import RSynthTestSupport
import ImageIO
import RobustSynthCore
@testable import RobustSynthHost
import XCTest

/// One and three PGD steps through the shipped robust digit model, loaded as a plugin, against
/// the robustness library's formulas evaluated in PyTorch (Tests/Fixtures/make_pgd_step_fixture.py).
final class PGDStepFixtureTests: XCTestCase {
    func testStepsMatchTheRobustnessLibrary() throws {
        let fixture = try TestSupport.json(TestSupport.fixture("pgd/step.json"))
        let catalog = PluginCatalog.discover(pluginPaths: [TestSupport.products.path], environment: [:])
        let weights = TestSupport.root.appendingPathComponent("Examples/digits/models/digits-robust.pt").path
        let classifier = try catalog.classifier("digits-resnet", ["weights": .string(weights)])
        let images = try (fixture["images"] as! [String]).map {
            try ImageFile.read(TestSupport.root.appendingPathComponent("Examples/digits/data/test/\($0)").path).tensor()
        }
        let x0 = Tensor.concatenate(images)
        let ball = try catalog.makeConstraint(catalog.require("l2-ball", kind: .constraint),
                                              ParameterValues(["eps": .double(fixture["eps"] as! Double)]))
        let problem = PGDProblem(classifier: classifier, x0: x0, targets: fixture["targets"] as! [Int], mask: nil, constraints: [ball])
        for (steps, key) in [(1, "x1"), (3, "x3")] {
            let r = try runPGD(problem, settings: PGDSettings(steps: steps, stepSize: fixture["alpha"] as! Double, useBest: false))
            let want = (fixture[key] as! [Double]).map(Float.init)
            let worst = zip(r.x.data, want).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-4, "\(key): largest difference \(worst)")
            // And it did move: the steps are not a no-op.
            XCTAssertGreaterThan(zip(want, x0.data).map { abs($0 - $1) }.max()!, 0.05)
        }
    }
}
