import Foundation
import RSynthTestSupport
@testable import RobustSynthHost
import XCTest

/// What `validate` checks without running or creating a plugin: path parameters name what
/// exists (a regular file, or a folder where the parameter's name or doc says so), weights
/// start as a checkpoint, classes are the classifier's where they are known, the output folder
/// can be written; each at the line and column of the offending value.
final class StaticValidationTests: XCTestCase {
    let catalog = PluginCatalog.discover(pluginPaths: [TestSupport.products.path], environment: [:])

    func problems(_ text: String, in dir: URL) -> [String] {
        let path = dir.appendingPathComponent("spec.yaml").path
        switch SpecValidator.validate(text: text, path: path, catalog: catalog) {
        case .success: return []
        case .failure(let e): return e.diagnostics.map { $0.description.replacingOccurrences(of: dir.path, with: "D") }
        }
    }

    let digits = TestSupport.root.appendingPathComponent("Examples/digits/models/digits-robust.pt").path

    func spec(classifier: String, seed: String = "{ plugin: uniform }", classes: String = "[1]", extra: String = "") -> String {
        """
        version: 1
        classifier: \(classifier)
        seed: \(seed)
        task: { plugin: generation, with: { classes: \(classes) } }
        constraints: [ { plugin: l2-ball, with: { eps: 2 } } ]
        \(extra)
        """
    }

    func testWeightsMustBeAReadableCheckpoint() throws {
        let dir = TestSupport.temporaryDirectory()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("folder.pt"), withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(dir.appendingPathComponent("fifo.pt").path, 0o644), 0)
        TestSupport.write("<html>not a model</html>", to: dir.appendingPathComponent("page.pt"))
        TestSupport.write("", to: dir.appendingPathComponent("empty.pt"))
        XCTAssertEqual(symlink("loop.pt", dir.appendingPathComponent("loop.pt").path), 0)
        let cases = [
            ("missing.pt", "cannot read 'D/missing.pt': no such file"),
            ("folder.pt", "cannot read 'D/folder.pt': it is a folder, not a file"),
            ("fifo.pt", "cannot read 'D/fifo.pt': it is a FIFO (named pipe), not a regular file"),
            ("loop.pt", "cannot read 'D/loop.pt': Too many levels of symbolic links"),
            ("empty.pt", "'D/empty.pt' is not a checkpoint: the file is empty"),
            ("page.pt", "'D/page.pt' is not a checkpoint: it starts with 3c 68 74 6d, not as a PyTorch zip (50 4b 03 04), a legacy torch.save file (a pickle, 80 02) or a safetensors file (a header length, then '{')"),
        ]
        for (file, message) in cases {
            XCTAssertEqual(problems(spec(classifier: "{ plugin: digits-resnet, with: { weights: \(file) } }"), in: dir),
                           ["D/spec.yaml:2:55: error: parameter 'weights': \(message)"], file)
        }
        // The shipped digit models (zip and legacy) pass.
        for model in ["digits-robust.pt", "digits-standard.pth"] {
            let path = TestSupport.root.appendingPathComponent("Examples/digits/models/\(model)").path
            XCTAssertEqual(problems(spec(classifier: "{ plugin: digits-resnet, with: { weights: \(path) } }"), in: dir), [], model)
        }
    }

    func testClassesAreCheckedAgainstTheClassifiersClasses() throws {
        let dir = TestSupport.temporaryDirectory()
        XCTAssertEqual(problems(spec(classifier: "{ plugin: linear, with: { classes: 10 } }", classes: "[3, 42, -1, tench]"), in: dir), [
            "D/spec.yaml:4:50: error: item 2 of parameter 'classes': class 42 is out of range: classifier 'linear' has 10 classes (0 to 9)",
            "D/spec.yaml:4:54: error: item 3 of parameter 'classes': class -1 is out of range: classifier 'linear' has 10 classes (0 to 9)",
            "D/spec.yaml:4:58: error: item 4 of parameter 'classes': classifier 'linear' has no class 'tench'; its classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9",
        ])
        // A 1000-class linear model has ImageNet's names, as in the run.
        XCTAssertEqual(problems(spec(classifier: "{ plugin: linear, with: { classes: 1000 } }", classes: "[tench, tnech]"), in: dir), [
            "D/spec.yaml:4:54: error: item 2 of parameter 'classes': classifier 'linear' has no class 'tnech' (did you mean 'tench'?)",
        ])
        // digits-resnet: the classes listed in the JSON beside the weights.
        XCTAssertEqual(problems(spec(classifier: "{ plugin: digits-resnet, with: { weights: \(digits) } }", classes: "[7, tench, 10]"), in: dir), [
            "D/spec.yaml:4:50: error: item 2 of parameter 'classes': classifier 'digits-resnet' has no class 'tench'; its classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9",
            "D/spec.yaml:4:57: error: item 3 of parameter 'classes': class 10 is out of range: classifier 'digits-resnet' has 10 classes (0 to 9)",
        ])
        // The ResNet-50 plugins: ImageNet's 1000 classes (the weights are checked on their own).
        TestSupport.write("PK\u{3}\u{4}", to: dir.appendingPathComponent("w.pt"))
        XCTAssertEqual(problems(spec(classifier: "{ plugin: robust-resnet50, with: { weights: w.pt } }", classes: "[tench, tnech, 999, 1000]"), in: dir), [
            "D/spec.yaml:4:54: error: item 2 of parameter 'classes': classifier 'robust-resnet50' has no class 'tnech' (did you mean 'tench'?)",
            "D/spec.yaml:4:66: error: item 4 of parameter 'classes': class 1000 is out of range: classifier 'robust-resnet50' has 1000 classes (0 to 999)",
        ])
    }

    func testFoldersFilesAndTheOutputFolder() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write("x", to: dir.appendingPathComponent("file"))
        let text = spec(classifier: "{ plugin: linear, with: { classes: 10 } }",
                        seed: "{ plugin: dataset-image, with: { dataset: file, labels: \"10\" } }",
                        extra: """
                        output: { dir: \(dir.path)/file/run }
                        judge: { dataset: nowhere }

                        """)
        XCTAssertEqual(problems(text, in: dir), [
            "D/spec.yaml:3:49: error: parameter 'dataset': cannot read folder 'D/file': it is not a folder",
            "D/spec.yaml:6:16: error: 'output.dir': cannot create 'D/file/run': 'D/file' is a file, not a folder",
            "D/spec.yaml:7:19: error: 'judge.dataset': cannot read folder 'D/nowhere': no such folder",
        ])
        let file = spec(classifier: "{ plugin: linear, with: { classes: 10 } }", extra: "output: { dir: \(dir.path)/file }\n")
        XCTAssertEqual(problems(file, in: dir), ["D/spec.yaml:6:16: error: 'output.dir': 'D/file' is a file, not a folder"])
        // A list of paths: each item at its own column.
        let drawing = TestSupport.root.appendingPathComponent("Examples/imagenet/sketches").path
        let sketch = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: drawing).sorted().first { $0.hasSuffix(".png") })
        let sketches = """
            version: 1
            classifier: { plugin: linear, with: { classes: 10 } }
            seed: { plugin: uniform }
            task: { plugin: sketch-to-image, with: { sketches: [\(drawing)/\(sketch), gone.png], classes: [1] } }
            constraints: [ { plugin: l2-ball, with: { eps: 2 } } ]

            """
        let got = problems(sketches, in: dir)
        XCTAssertEqual(got.count, 1, "\(got)")
        XCTAssertTrue(got.first?.hasSuffix(": error: item 2 of parameter 'sketches': cannot read 'D/gone.png': no such file") == true, "\(got)")
    }
}
