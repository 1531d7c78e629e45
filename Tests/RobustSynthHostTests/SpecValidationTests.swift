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

    func testEarlyStoppingRulesAreChecked() {
        func spec(_ stop: String, task: String = "{ plugin: generation, with: { classes: [1, 2] } }",
                  classifier: String = "{ plugin: linear }") -> String {
            """
            version: 1
            classifier: \(classifier)
            seed: { plugin: uniform }
            task: \(task)
            constraints: [ { plugin: l2-ball, with: { eps: 3 } } ]
            optimizer: { steps: 10, stop: \(stop) }

            """
        }
        XCTAssertEqual(problems(spec("{ probability: 0.99 }")), [])
        XCTAssertEqual(problems(spec("{ patience: 5, min_delta: 0.01 }")), [])
        XCTAssertEqual(problems(spec("{ probability: 0.9, patience: 5 }")), [])
        XCTAssertEqual(problems(spec("{ probabilty: 0.9 }")), [
            "spec.yaml:6:33: error: unknown key 'probabilty' in 'optimizer.stop' (did you mean 'probability'?)",
        ])
        XCTAssertEqual(problems(spec("{ probability: 1.5, patience: 0 }")), [
            "spec.yaml:6:46: error: 'optimizer.stop.probability' must be in [0, 1], got 1.5",
            "spec.yaml:6:61: error: 'optimizer.stop.patience' must be in [1, 1000000], got 0",
        ])
        XCTAssertEqual(problems(spec("{ min_delta: 0.1 }")), [
            "spec.yaml:6:44: error: 'optimizer.stop.min_delta' needs 'patience' (the steps without such an improvement before a sample stops)",
        ])
        XCTAssertEqual(problems(spec("{}")), [
            "spec.yaml:6:31: error: 'optimizer.stop' needs 'probability' (stop once the target's probability is at least P) or 'patience' (stop once the loss stalls for N steps)",
        ])
        XCTAssertEqual(problems(spec("0.99")), [
            "spec.yaml:6:31: error: 'optimizer.stop' must be a mapping: { probability: P } and/or { patience: N, min_delta: D }",
        ])
        // Representation inversion's samples have no target class: only the loss rule applies.
        let digits = "{ plugin: digits-resnet, with: { weights: \(TestSupport.root.path)/Examples/digits/models/digits-robust.pt } }"
        let inversion = "{ plugin: representation-inversion, with: { count: 2 } }"
        XCTAssertEqual(problems(spec("{ probability: 0.99 }", task: inversion, classifier: digits)), [
            "spec.yaml:6:46: error: 'optimizer.stop.probability' needs a target class, but the samples of task 'representation-inversion' have none: use 'patience' (and 'min_delta') to stop when the loss stalls",
        ])
        XCTAssertEqual(problems(spec("{ patience: 20 }", task: inversion, classifier: digits)), [])
    }
}

extension SpecValidationTests {
    func testStepRulesAndSchedulesAreChecked() {
        func spec(_ optimizer: String) -> String {
            """
            version: 1
            classifier: { plugin: linear }
            seed: { plugin: uniform }
            task: { plugin: generation, with: { classes: [1, 2] } }
            constraints: [ { plugin: l2-ball, with: { eps: 3 } } ]
            optimizer: { steps: 10, \(optimizer) }

            """
        }
        XCTAssertEqual(problems(spec("rule: momentum, momentum: 0.5, schedule: cosine")), [])
        XCTAssertEqual(problems(spec("rule: adam, beta1: 0.8, beta2: 0.99, schedule: linear")), [])
        XCTAssertEqual(problems(spec("rule: nesterov")), [
            "spec.yaml:6:31: error: 'optimizer.rule' must be one of plain, momentum, adam; got 'nesterov'",
        ])
        XCTAssertEqual(problems(spec("schedule: step")), [
            "spec.yaml:6:35: error: 'optimizer.schedule' must be one of constant, linear, cosine; got 'step'",
        ])
        XCTAssertEqual(problems(spec("momentum: 0.5")), [
            "spec.yaml:6:35: error: 'optimizer.momentum' is a setting of 'rule: momentum', but the rule is 'plain': add 'rule: momentum' or remove it",
        ])
        XCTAssertEqual(problems(spec("rule: momentum, beta2: 0.9")), [
            "spec.yaml:6:48: error: 'optimizer.beta2' is a setting of 'rule: adam', but the rule is 'momentum': add 'rule: adam' or remove it",
        ])
        XCTAssertEqual(problems(spec("rule: momentum, momentum: 1.5")), [
            "spec.yaml:6:51: error: 'optimizer.momentum' must be in [0, 1], got 1.5",
        ])
    }
}
