import Foundation
import ImageIO
import RSynthTestSupport
@testable import RobustSynthHost
import XCTest

/// The promises of synth_plugin.h, ABI 2: plugins built against the ABI 1 header still load and
/// run and the host reads no byte past the struct sizes they state; validation creates no
/// plugin instance (the facts say what it needs); host services reach a C plugin; create's
/// strings live as long as the instance; a C task minimises an objective of its own.
final class PluginABITests: XCTestCase {
    static let abi1Include = TestSupport.fixture("plugins/abi1")

    func plugins(_ dir: URL) throws {
        _ = try TestSupport.buildCPlugin(TestSupport.fixture("plugins/abi1_guarded_sampler.c"), into: dir, name: "abi1",
                                         include: Self.abi1Include)
        _ = try TestSupport.buildCPlugin(TestSupport.fixture("plugins/counting_task.c"), into: dir, name: "counting")
    }

    func spec(constraints: String = "  - { plugin: l2-ball, with: { eps: 1 } }\n") -> String {
        """
        version: 1
        classifier: { plugin: linear, with: { classes: 3, size: 4 } }
        seed:       { plugin: abi1-constant, with: { value: 0.25 } }
        task:       { plugin: counting-task, with: { count: 2 } }
        constraints:
        \(constraints)
        """
    }

    func testTheABI1HeaderIsThePrefixOfThisOne() throws {
        // Every ABI 1 struct must be a prefix of its ABI 2 form: compile both headers into one
        // program and compare offsets and sizes field by field.
        let dir = TestSupport.temporaryDirectory()
        let probe = dir.appendingPathComponent("probe.c")
        let fields = [("synth_plugin_descriptor", ["abi_version", "struct_size", "kind", "name", "version", "summary", "params",
                                                   "param_count", "create", "create_error", "iface"]),
                      ("synth_classifier_iface", ["struct_size", "info", "forward", "input_gradient", "class_name", "last_error", "destroy"]),
                      ("synth_seed_sampler_iface", ["struct_size", "sample", "item_count", "last_error", "destroy", "item_labels"]),
                      ("synth_constraint_iface", ["struct_size", "penalty", "project", "last_error", "destroy"]),
                      ("synth_task_iface", ["struct_size", "plan", "item", "prepare", "required_constraints", "defaults",
                                            "last_error", "destroy"]),
                      ("synth_task_setup", ["num_classes", "channels", "height", "width", "source_item_count",
                                            "source_item_labels", "host", "resolve_class", "suggest_class", "class_name"])]
        var body = ""
        for (type, names) in fields {
            for f in names { body += "    printf(\"%zu \", offsetof(\(type), \(f)));\n" }
            body += "    printf(\"| \");\n"
        }
        // The ABI 1 header under its own guard name, so both can be included.
        let old = try String(contentsOf: Self.abi1Include.appendingPathComponent("synth_plugin.h"), encoding: .utf8)
        for (name, text) in [("old.h", old), ("new.h", try String(contentsOf: TestSupport.root.appendingPathComponent(
            "Sources/SynthPluginABI/include/synth_plugin.h"), encoding: .utf8))] {
            TestSupport.write(text, to: dir.appendingPathComponent(name))
        }
        var outputs = [String]()
        for header in ["old.h", "new.h"] {
            TestSupport.write("#include <stddef.h>\n#include <stdio.h>\n#include \"\(header)\"\nint main(void) {\n\(body)    return 0;\n}\n", to: probe)
            let exe = dir.appendingPathComponent("probe-\(header)")
            let cc = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["cc", "-std=c11", probe.path, "-o", exe.path])
            XCTAssertEqual(cc.status, 0, cc.stderr)
            outputs.append(try TestSupport.run(exe, []).stdout)
        }
        XCTAssertFalse(outputs[0].isEmpty)
        XCTAssertEqual(outputs[0], outputs[1])
    }

    func testAnABI1PluginLoadsAndRunsWithoutReadingPastItsStructs() throws {
        let dir = TestSupport.temporaryDirectory()
        try plugins(dir)
        let catalog = PluginCatalog.discover(pluginPaths: [dir.path], environment: [:])
        XCTAssertEqual(catalog.failures, [])
        let plugin = try XCTUnwrap(catalog.plugin(named: "abi1-constant"))
        XCTAssertEqual(plugin.abiVersion, 1)
        XCTAssertNil(plugin.info.facts)   // ABI 1 states none
        XCTAssertEqual(try XCTUnwrap(catalog.plugin(named: "counting-task")).abiVersion, 2)
        // describe says what each states.
        let old = try TestSupport.rsynth(["plugins", "describe", "abi1-constant", "--plugin-path", dir.path])
        XCTAssertTrue(old.stdout.contains("libabi1.so (plugin ABI 1)\nfacts: none stated (a plugin built for ABI 1)\n"), old.stdout)
        let new = try TestSupport.rsynth(["plugins", "describe", "counting-task", "--plugin-path", dir.path])
        XCTAssertTrue(new.stdout.contains("libcounting.so (plugin ABI 2)\nneeds constraints: l2-ball\ndefault optimiser: 3 steps of 0.25\n"), new.stdout)
        // The descriptor and table sit at the end of a page before an inaccessible one: reading
        // beyond their struct_size would have crashed discovery above or this run.
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(spec(), to: specPath)
        let out = dir.appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", specPath.path, "--plugin-path", dir.path, "--out", out.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let manifest = try TestSupport.json(out.appendingPathComponent("manifest.json"))
        let samples = manifest["samples"] as! [[String: Any]]
        XCTAssertEqual(samples.count, 2)
        for s in samples {
            let seed = try ImageFile.read(out.appendingPathComponent(s["seed_image"] as! String).path)
            XCTAssertTrue(seed.pixels.allSatisfy { $0 == 64 }, "the ABI 1 sampler's value 0.25 arrived")
        }
        // The task's facts set the optimiser's defaults (3 steps of 0.25): 4 losses per sample.
        XCTAssertEqual((try TestSupport.json(out.appendingPathComponent("samples/000000.json"))["losses"] as! [Double]).count, 4)
    }

    func testValidateCreatesNoPluginInstance() throws {
        let dir = TestSupport.temporaryDirectory()
        try plugins(dir)
        let log = dir.appendingPathComponent("creations.log")
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(spec(), to: specPath)
        let env = ["RSYNTH_TEST_CREATE_LOG": log.path]
        let v = try TestSupport.rsynth(["validate", specPath.path, "--plugin-path", dir.path], environment: env)
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: log.path), "validate created the task")
        // A missing required constraint is found from the facts, at the task's line and column.
        let bad = dir.appendingPathComponent("bad.yaml")
        TestSupport.write(spec(constraints: "  - { plugin: masked-penalty }\n"), to: bad)
        let b = try TestSupport.rsynth(["validate", bad.path, "--plugin-path", dir.path], environment: env)
        XCTAssertEqual(b.status, 1)
        XCTAssertEqual(b.stdout, "\(bad.path):4:23: error: task 'counting-task' needs a 'l2-ball' constraint: add { plugin: l2-ball, with: {...} } under 'constraints'\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: log.path), "validate created the task")
        // The probe works: a run creates the task once, and its log line arrives through the host.
        let r = try TestSupport.rsynth(["run", specPath.path, "--plugin-path", dir.path, "--out", dir.appendingPathComponent("run").path,
                                        "--quiet"], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOf: log, encoding: .utf8), "created\n")
        XCTAssertTrue(r.stderr.contains("rsynth: plugin 'counting-task': planned 2 items\n"), r.stderr)
    }

    func testACTaskWithItsOwnObjective() throws {
        let dir = TestSupport.temporaryDirectory()
        // Exactly the build command documented at the top of the example.
        _ = try TestSupport.buildCPlugin(TestSupport.root.appendingPathComponent("Examples/c-plugin/margin_generation.c"),
                                         into: dir, name: "margin_generation")
        let out = dir.appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", TestSupport.root.appendingPathComponent("Examples/c-plugin/margin.yaml").path,
                                        "--plugin-path", dir.path, "--out", out.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let samples = try TestSupport.json(out.appendingPathComponent("manifest.json"))["samples"] as! [[String: Any]]
        XCTAssertEqual(samples.map { $0["target_name"] as! String }, ["3", "3", "3", "3", "8", "8", "8", "8"])
        let weights = TestSupport.root.appendingPathComponent("Examples/digits/models/digits-robust.pt").path
        for s in samples {
            let record = try TestSupport.json(out.appendingPathComponent((s["image"] as! String).replacingOccurrences(of: ".png", with: ".json")))
            let losses = record["losses"] as! [Double]
            // The Carlini-Wagner margin max(max_{j != t} z_j - z_t, -kappa) at the start, from
            // the logits `rsynth classify` gives for the saved seed (8-bit, so not bit-exact);
            // never below -kappa = -5; negative once the target leads, where a cross-entropy
            // could never be negative.
            let seed = out.appendingPathComponent(record["seed_image"] as! String).path
            let c = try TestSupport.rsynth(["classify", "--classifier", "digits-resnet", "--weights", weights, "--json", seed])
            XCTAssertEqual(c.status, 0, c.stderr)
            let logits = (try JSONSerialization.jsonObject(with: Data(c.stdout.utf8)) as! [String: Any])["logits"] as! [Double]
            let t = record["target"] as! Int
            let margin = max(logits.enumerated().filter { $0.offset != t }.map(\.element).max()! - logits[t], -5)
            XCTAssertEqual(losses[0], margin, accuracy: 0.02, "the margin at the seed")
            XCTAssertTrue(losses.allSatisfy { $0 >= -5 - 1e-6 }, "\(losses)")
            XCTAssertLessThan(s["final_loss"] as! Double, 0)
            // Negative: the target leads. The saved result says so too, by its own logits (the
            // eps-5 digit model spreads its probability, so leading is not always over 0.5).
            let result = out.appendingPathComponent(s["image"] as! String).path
            let cr = try TestSupport.rsynth(["classify", "--classifier", "digits-resnet", "--weights", weights, "--json", result])
            XCTAssertEqual(cr.status, 0, cr.stderr)
            let after = (try JSONSerialization.jsonObject(with: Data(cr.stdout.utf8)) as! [String: Any])["logits"] as! [Double]
            XCTAssertEqual(after.indices.max { after[$0] < after[$1] }, t, "the result's logits \(after)")
        }
    }
}
