import Foundation
import RSynthTestSupport
@testable import RobustSynthHost
import XCTest

/// Schemas/pipeline.schema.json is what the validator accepts, for editors: it must match the
/// shipped plugins' declarations, and every example must pass both it and `rsynth validate`.
final class SchemaTests: XCTestCase {
    func examples() throws -> [URL] {
        let dir = TestSupport.root.appendingPathComponent("Examples")
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)!
        return e.compactMap { $0 as? URL }.filter { $0.pathExtension == "yaml" }.sorted { $0.path < $1.path }
    }

    func testCommittedSchemaMatchesTheShippedPlugins() throws {
        let r = try TestSupport.rsynth(["plugins", "schema"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let committed = try String(contentsOf: TestSupport.root.appendingPathComponent("Schemas/pipeline.schema.json"), encoding: .utf8)
        XCTAssertEqual(r.stdout, committed, "Schemas/pipeline.schema.json is stale: regenerate it with `rsynth plugins schema > Schemas/pipeline.schema.json`")
    }

    func testEveryExamplePassesTheSchemaAndTheValidator() throws {
        let dir = TestSupport.temporaryDirectory()
        for name in ["gaussian_noise", "margin_generation"] {
            _ = try TestSupport.buildCPlugin(TestSupport.root.appendingPathComponent("Examples/c-plugin/\(name).c"), into: dir, name: name)
        }
        let withC = try TestSupport.rsynth(["plugins", "schema", "--plugin-path", dir.path])
        let cSchema = dir.appendingPathComponent("with-c.schema.json")
        try withC.stdout.write(to: cSchema, atomically: true, encoding: .utf8)
        let files = try examples()
        XCTAssertGreaterThanOrEqual(files.count, 2)
        for file in files {
            let thirdParty = file.path.contains("/c-plugin/")
            let schema = thirdParty ? cSchema.path : TestSupport.root.appendingPathComponent("Schemas/pipeline.schema.json").path
            // An independent implementation of JSON Schema 2020-12 (Python's jsonschema).
            let check = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
                import json, sys, yaml, jsonschema
                schema = json.load(open(sys.argv[1]))
                jsonschema.Draft202012Validator.check_schema(schema)
                errors = list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(open(sys.argv[2]))))
                for e in errors: print(list(e.absolute_path), e.message[:300])
                sys.exit(1 if errors else 0)
                """, schema, file.path])
            XCTAssertEqual(check.status, 0, "\(file.lastPathComponent) against the schema:\n\(check.stdout)\(check.stderr)")
            let v = try TestSupport.rsynth(["validate", file.path] + (thirdParty ? ["--plugin-path", dir.path] : []))
            // The ImageNet weights and Imagenette are downloads (README), not in the repository:
            // validate says so, and that is all it may say.
            let downloads = TestSupport.root.appendingPathComponent("Examples/imagenet").path
            let other = v.stdout.split(separator: "\n").filter {
                !($0.contains(": error: parameter '") && ($0.contains(": cannot read '\(downloads)/models/") && $0.hasSuffix("': no such file")
                    || $0.contains(": cannot read folder '\(downloads)/data/") && $0.hasSuffix("': no such folder")))
            }
            if v.status != 0 {
                XCTAssertTrue(file.path.hasPrefix(downloads + "/") && other.isEmpty, "\(file.lastPathComponent):\n\(v.stdout)")
            }
        }
    }

    func testTheSchemaRejectsWhatTheValidatorRejects() throws {
        let dir = TestSupport.temporaryDirectory()
        let bad = dir.appendingPathComponent("bad.yaml")
        TestSupport.write("version: 1\nclassifier: { plugin: linear }\nseed: { plugin: uniform }\ntask: { plugin: generation, with: { classes: [1] } }\nconstraints: [ { plugin: l2-ball, with: { eps: -3 } } ]\n", to: bad)
        let check = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
            import json, sys, yaml, jsonschema
            jsonschema.validate(yaml.safe_load(open(sys.argv[2])), json.load(open(sys.argv[1])))
            """, TestSupport.root.appendingPathComponent("Schemas/pipeline.schema.json").path, bad.path])
        XCTAssertNotEqual(check.status, 0)
        XCTAssertEqual(try TestSupport.rsynth(["validate", bad.path]).status, 1)
    }
}
