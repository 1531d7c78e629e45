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
        let problem = try PGDProblem(classifier: classifier, x0: x0, targets: fixture["targets"] as! [Int], mask: nil, constraints: [ball])
        for (steps, key) in [(1, "x1"), (3, "x3")] {
            let r = try runPGD(problem, settings: PGDSettings(steps: steps, stepSize: fixture["alpha"] as! Double, useBest: false))
            let want = (fixture[key] as! [Double]).map(Float.init)
            let worst = zip(r.x.data, want).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-4, "\(key): largest difference \(worst)")
            // And it did move: the steps are not a no-op.
            XCTAssertGreaterThan(zip(want, x0.data).map { abs($0 - $1) }.max()!, 0.05)
        }
    }

    /// LinfStep and UnconstrainedStep (Tests/Fixtures/pgd/step-linf.json, step-unconstrained.json):
    /// the constraint plugin sets the step, the optimiser only calls it.
    func testLinfAndUnconstrainedStepsMatchTheRobustnessLibrary() throws {
        let catalog = PluginCatalog.discover(pluginPaths: [TestSupport.products.path], environment: [:])
        let weights = TestSupport.root.appendingPathComponent("Examples/digits/models/digits-robust.pt").path
        let classifier = try catalog.classifier("digits-resnet", ["weights": .string(weights)])
        for (file, plugin) in [("pgd/step-linf.json", "linf-ball"), ("pgd/step-unconstrained.json", "unconstrained")] {
            let fixture = try TestSupport.json(TestSupport.fixture(file))
            let x0 = Tensor.concatenate(try (fixture["images"] as! [String]).map {
                try ImageFile.read(TestSupport.root.appendingPathComponent("Examples/digits/data/test/\($0)").path).tensor()
            })
            let values: [String: ParameterValue] = fixture["eps"].map { ["eps": .double($0 as! Double)] } ?? [:]
            let constraint = try catalog.makeConstraint(catalog.require(plugin, kind: .constraint), ParameterValues(values))
            XCTAssertEqual(constraint.stepGeometry, plugin == "linf-ball" ? .linf : .unconstrained)
            let problem = try PGDProblem(classifier: classifier, x0: x0, targets: fixture["targets"] as! [Int], mask: nil,
                                         constraints: [constraint])
            for (steps, key) in [(1, "x1"), (3, "x3")] {
                let r = try runPGD(problem, settings: PGDSettings(steps: steps, stepSize: fixture["alpha"] as! Double, useBest: false))
                let want = (fixture[key] as! [Double]).map(Float.init)
                let worst = zip(r.x.data, want).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-4, "\(plugin) \(key): largest difference \(worst)")
                XCTAssertGreaterThan(zip(want, x0.data).map { abs($0 - $1) }.max()!, 0.01, "\(plugin) \(key) did not move")
            }
        }
    }

    /// Two constraints that both set the step are refused, naming both geometries.
    func testTwoStepGeometriesAreRefused() throws {
        let catalog = PluginCatalog.discover(pluginPaths: [TestSupport.products.path], environment: [:])
        let classifier = try catalog.classifier("linear", ["classes": .int(3), "size": .int(4)])
        let l2 = try catalog.makeConstraint(catalog.require("l2-ball", kind: .constraint), ParameterValues(["eps": .double(1)]))
        let linf = try catalog.makeConstraint(catalog.require("linf-ball", kind: .constraint), ParameterValues(["eps": .double(1)]))
        XCTAssertThrowsError(try PGDProblem(classifier: classifier, x0: Tensor(zeros: [1, 3, 4, 4]), targets: [0], mask: nil,
                                            constraints: [l2, linf])) {
            XCTAssertEqual("\($0)", "two constraints set the step (l2 and linf): keep one")
        }
    }
}
