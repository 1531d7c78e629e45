import Foundation
import RSynthTestSupport
@testable import RobustSynthHost
import XCTest

/// Every problem of a spec at its line and column, with the exact text users see.
final class SpecValidationTests: XCTestCase {
    let catalog = PluginCatalog.discover(pluginPaths: [TestSupport.products.path], environment: [:])

    func problems(_ text: String) -> [String] {
        switch SpecValidator.validate(text: text, path: "spec.yaml", catalog: catalog) {
        case .success: return []
        case .failure(let e): return e.diagnostics.map(\.description)
        }
    }

    func testSeveralMistakesOnDifferentLinesAreAllReported() {
        let text = """
        version: 1
        classifier: { plugin: linear, with: { classes: ten } }
        seed: { plugin: unifrom }
        task: { plugin: generation, with: { classes: [3, 8], per_clas: 2 } }
        constraints:
          - { plugin: l2-ball, with: { eps: -1 } }
        optimizer: { stpes: 10, batch_size: 0 }

        """
        XCTAssertEqual(problems(text), [
            "spec.yaml:2:48: error: parameter 'classes' must be an int, got 'ten'",
            "spec.yaml:3:17: error: unknown seed-sampler plugin 'unifrom' (did you mean 'uniform'?)",
            "spec.yaml:4:54: error: plugin 'generation' has no parameter 'per_clas' (did you mean 'per_class'?)",
            "spec.yaml:6:37: error: parameter 'eps' must be in [0, inf), got -1",
            "spec.yaml:7:14: error: unknown key 'stpes' in 'optimizer' (did you mean 'steps'?)",
            "spec.yaml:7:37: error: 'optimizer.batch_size' must be in [1, 4096], got 0",
        ])
    }

    func testStructureKindsAndReferences() {
        let text = """
        version: 2
        classifier: { plugin: uniform }
        seed: { plugin: uniform, with: { resolution: 8, colour: red } }
        task: { plugin: generation, with: { classes: tench } }
        outptu: { dir: x }

        """
        XCTAssertEqual(problems(text), [
            "spec.yaml:1:10: error: unsupported spec version '2': this rsynth reads version 1",
            "spec.yaml:2:23: error: plugin 'uniform' is a seed-sampler, but 'classifier' needs a classifier",
            "spec.yaml:3:49: error: plugin 'uniform' has no parameter 'colour'",
            "spec.yaml:4:46: error: parameter 'classes' must be a list of string, got 'tench'",
            "spec.yaml:5:1: error: unknown key 'outptu' in the spec (did you mean 'output'?)",
        ])
    }

    func testATaskNamesTheConstraintsItNeeds() {
        let text = """
        version: 1
        classifier: { plugin: linear }
        seed: { plugin: uniform }
        task: { plugin: generation, with: { classes: [1, 2] } }

        """
        XCTAssertEqual(problems(text), [
            "spec.yaml:4:17: error: task 'generation' needs a 'l2-ball' constraint: add { plugin: l2-ball, with: {...} } under 'constraints'",
        ])
    }

    func testMissingSectionsAndRequiredParameters() {
        let text = """
        version: 1
        seed: { plugin: uniform }
        constraints: [ { plugin: l2-ball } ]

        """
        XCTAssertEqual(problems(text), [
            "spec.yaml:1:1: error: missing required section 'classifier'",
            "spec.yaml:1:1: error: missing required section 'task'",
            "spec.yaml:3:26: error: plugin 'l2-ball' needs parameter 'eps' (double): Radius of the ball in [0,1] pixel units (paper: 40 generation, 21 inpainting, 8 super-resolution, 60 translation at 224x224)",
        ])
    }

    func testYAMLSyntaxErrorsPointAtTheProblem() {
        let text = """
        version: 1
        classifier: { plugin: linear
        seed: { plugin: uniform }

        """
        let p = problems(text)
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].hasPrefix("spec.yaml:3:5: error: YAML syntax: "), p[0])
    }

    func testValidateCommandPrintsEveryProblemAndExitsWithOne() throws {
        let dir = TestSupport.temporaryDirectory()
        let bad = dir.appendingPathComponent("bad.yaml")
        TestSupport.write("version: 1\nclassifier: { plugin: linear }\nseed: { plugin: unifrom }\ntask: { plugin: generation, with: { classes: [1] } }\nconstraints: [ { plugin: l2-ball, with: { eps: x } } ]\n", to: bad)
        let r = try TestSupport.rsynth(["validate", bad.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, """
            \(bad.path):3:17: error: unknown seed-sampler plugin 'unifrom' (did you mean 'uniform'?)
            \(bad.path):5:48: error: parameter 'eps' must be a double, got 'x'

            """)
        let good = dir.appendingPathComponent("good.yaml")
        TestSupport.write("version: 1\nclassifier: { plugin: linear }\nseed: { plugin: uniform }\ntask: { plugin: generation, with: { classes: [1] } }\nconstraints: [ { plugin: l2-ball, with: { eps: 3 } } ]\n", to: good)
        let ok = try TestSupport.rsynth(["validate", good.path])
        XCTAssertEqual(ok.status, 0, ok.stdout)
        XCTAssertEqual(ok.stdout, "\(good.path): ok: linear -> generation from uniform seeds, 1 constraint\n")
    }
}
