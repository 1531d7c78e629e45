import Foundation
import ImageIO
import RSynthStudio
import RSynthTestSupport
import XCTest

/// Composing and running in `rsynth studio` over HTTP: the session token, the form's schema and
/// examples, problems at their fields with `rsynth validate`'s messages, a digits generation
/// queued and followed to the end with a folder identical to `rsynth run`'s, cancel leaving a
/// resumable folder, uploads checked and kept inside the runs folder, malformed requests.
final class StudioRunTests: XCTestCase {
    nonisolated(unsafe) static var studio: StudioProcess!
    nonisolated(unsafe) static var runs: URL!
    nonisolated(unsafe) static var outside: URL!
    var client: StudioClient { StudioClient(base: Self.studio.base) }

    override class func setUp() {
        let dir = TestSupport.temporaryDirectory("studio-run")
        runs = dir.appendingPathComponent("runs")
        outside = dir.appendingPathComponent("outside")
        try! FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        // The studio creates a runs folder that does not exist yet.
        studio = StudioProcess(runs: runs)
        runs = URL(fileURLWithPath: StudioPaths.realPath(runs.path)!)
    }

    override class func tearDown() { studio.stop() }

    static let examples = TestSupport.root.appendingPathComponent("Examples").path

    /// A generation on the shipped robust digit model, as the form sends it.
    static func digits(perClass: Int, steps: Int, batch: Int) -> [String: Any] {
        ["version": 1,
         "classifier": ["plugin": "digits-resnet", "with": ["weights": examples + "/digits/models/digits-robust.pt"]],
         "seed": ["plugin": "uniform", "with": ["grey": true]],
         "task": ["plugin": "generation", "with": ["classes": Array(0...9), "per_class": perClass]],
         "constraints": [["plugin": "l2-ball", "with": ["eps": 12]]],
         "optimizer": ["steps": steps, "step_size": 1, "batch_size": batch, "seed": 0],
         "judge": ["dataset": examples + "/digits/data/train", "k": 5]]
    }

    func job(_ name: String) throws -> [String: Any]? {
        let jobs = try client.get("api/jobs").json["jobs"] as? [[String: Any]] ?? []
        return jobs.first { $0["name"] as? String == name }
    }

    /// Polls until `name`'s job satisfies `done`; fails after `timeout`.
    func waitFor(_ name: String, timeout: TimeInterval = 180, _ done: ([String: Any]) -> Bool) throws -> [String: Any] {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let j = try job(name), done(j) { return j }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("\(name): waited \(timeout) s; last seen \(String(describing: try job(name)))")
        return try job(name) ?? [:]
    }

    func testEveryChangeNeedsTheSessionToken() throws {
        let draft: [String: Any] = ["name": "sneaky", "spec": Self.digits(perClass: 1, steps: 1, batch: 10)]
        for token in [nil, "0123", String(repeating: "0", count: 48)] {
            for path in ["api/jobs", "api/validate", "api/parse", "api/uploads?folder=a&name=b.png", "api/jobs/1/cancel"] {
                let r = try client.post(path, json: draft, token: token)
                XCTAssertEqual(r.status, 403, "\(path) with token \(token ?? "none")")
                XCTAssertEqual(r.json["error"] as? String, "missing or wrong session token: reload the studio's page")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.runs.appendingPathComponent("sneaky").path))
        XCTAssertNil(try job("sneaky"))
        XCTAssertEqual(try client.token().count, 48)
    }

    func testTheFormIsBuiltFromThePluginsSchemaAndTheShippedExamples() throws {
        let served = try JSONSerialization.jsonObject(with: client.get("api/schema").body) as? NSDictionary
        let printed = try JSONSerialization.jsonObject(with: Data(TestSupport.rsynth(["plugins", "schema"]).stdout.utf8)) as? NSDictionary
        XCTAssertNotNil(served)
        XCTAssertEqual(served, printed, "the form's schema is `rsynth plugins schema`")

        let examples = try XCTUnwrap(client.get("api/examples").json["examples"] as? [[String: Any]])
        let names = examples.compactMap { $0["name"] as? String }
        XCTAssertTrue(names.contains("quickstart") && names.contains("digits/generation-uniform-standard")
                      && names.contains("digits/inpainting"), "\(names)")
        let quick = try XCTUnwrap(examples.first { $0["name"] as? String == "quickstart" })
        XCTAssertTrue((quick["title"] as? String ?? "").hasPrefix("Quickstart: 8 images of each digit"), "\(quick)")
        let spec = try XCTUnwrap(quick["spec"] as? [String: Any])
        // Relative paths made absolute against the example's own folder.
        let weights = ((spec["classifier"] as? [String: Any])?["with"] as? [String: Any])?["weights"] as? String
        XCTAssertEqual(weights, Self.examples + "/digits/models/digits-robust.pt")
        XCTAssertEqual((spec["judge"] as? [String: Any])?["dataset"] as? String, Self.examples + "/digits/data/train")
        XCTAssertEqual((spec["task"] as? [String: Any])?["plugin"] as? String, "generation")
    }

    func testProblemsComeAtTheirFieldsWithValidatesOwnMessages() throws {
        var spec = Self.digits(perClass: 1, steps: 5, batch: 10)
        spec["task"] = ["plugin": "generation", "with": ["classes": [3], "per_klass": 2]]
        spec["constraints"] = [["plugin": "l2-ball", "with": ["eps": -1]]]
        let r = try client.post("api/validate", json: ["name": "broken", "spec": spec], token: client.token())
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.json["ok"] as? Bool, false)
        let problems = try XCTUnwrap(r.json["problems"] as? [[String: Any]])
        XCTAssertEqual(problems.compactMap { $0["field"] as? String }, ["task.with.per_klass", "constraints.0.with.eps"])
        XCTAssertEqual(problems.last?["message"] as? String, "parameter 'eps' must be in [0, inf), got -1")
        // The same messages, line and column as `rsynth validate` of the YAML the studio wrote.
        let yaml = try XCTUnwrap(r.json["yaml"] as? String)
        let file = TestSupport.temporaryDirectory("studio-validate").appendingPathComponent("broken.yaml")
        TestSupport.write(yaml, to: file)
        let v = try TestSupport.rsynth(["validate", file.path])
        XCTAssertEqual(v.status, 1)
        let expected = v.stdout.split(separator: "\n").map { $0.replacingOccurrences(of: file.path, with: "") }
        let got = problems.map { p in
            (p["text"] as? String ?? "").replacingOccurrences(of: Self.runs.path + "/.studio/specs/broken.yaml", with: "")
        }
        XCTAssertEqual(got, expected)
        XCTAssertTrue(problems.allSatisfy { ($0["text"] as? String)?.hasSuffix("error: " + ($0["message"] as? String ?? "?")) == true })

        let fine = try client.post("api/validate", json: ["name": "fine", "spec": Self.digits(perClass: 1, steps: 5, batch: 10)],
                                   token: client.token())
        XCTAssertEqual(fine.json["ok"] as? Bool, true, fine.text)
        XCTAssertNil(fine.json["problems"])
        // Nothing is queued or written by checking.
        XCTAssertNil(try job("fine"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.runs.appendingPathComponent(".studio/specs/fine.yaml").path))
    }

    func testAPastedSpecBecomesTheFormAndBackTheSameSpec() throws {
        let token = try client.token()
        let text = """
            version: 1
            classifier: { plugin: digits-resnet, with: { weights: \(Self.examples)/digits/models/digits-standard.pth } }
            seed: { plugin: uniform }
            task: { plugin: generation, with: { classes: [1, 7], per_class: 3 } }
            constraints: [{ plugin: l2-ball, with: { eps: 4.5 } }]
            optimizer: { steps: 7, step_size: 0.5, stop: { probability: 0.9 } }
            judge: { dataset: data/train }
            output: { dir: somewhere/else }

            """
        let parsed = try client.post("api/parse", Data(text.utf8), token: token, type: "application/yaml")
        XCTAssertEqual(parsed.status, 200, parsed.text)
        let spec = try XCTUnwrap(parsed.json["spec"] as? [String: Any])
        // A pasted spec's relative paths are taken from the folder the studio started in; the
        // run folder is the studio's to name, so `output` is dropped.
        XCTAssertEqual((spec["judge"] as? [String: Any])?["dataset"] as? String, FileManager.default.currentDirectoryPath + "/data/train")
        XCTAssertNil(spec["output"])
        XCTAssertEqual(((spec["optimizer"] as? [String: Any])?["stop"] as? [String: Any])?["probability"] as? Double, 0.9)
        var valid = spec
        valid["judge"] = nil
        let checked = try client.post("api/validate", json: ["name": "pasted", "spec": valid], token: token)
        XCTAssertEqual(checked.json["ok"] as? Bool, true, checked.text)
        // Its YAML read back is the same spec.
        let again = try client.post("api/parse", Data((checked.json["yaml"] as? String ?? "").utf8), token: token, type: "application/yaml")
        XCTAssertEqual(again.json["spec"] as? NSDictionary, valid as NSDictionary)

        let notASpec = try client.post("api/parse", Data("- just\n- a list\n".utf8), token: token, type: "application/yaml")
        XCTAssertEqual(notASpec.status, 422)
        XCTAssertEqual(notASpec.json["error"] as? String, "the text is not a YAML mapping (a spec starts with 'version: 1')")
    }

    func testARunComposedHereIsTheRunThatRsynthRunWrites() throws {
        let submitted = try client.post("api/jobs", json: ["name": "composed", "spec": Self.digits(perClass: 1, steps: 5, batch: 4)],
                                        token: client.token())
        XCTAssertEqual(submitted.status, 201, submitted.text)
        XCTAssertTrue(["queued", "running"].contains(submitted.json["state"] as? String ?? ""), submitted.text)
        let done = try waitFor("composed") { ["done", "failed", "cancelled"].contains($0["state"] as? String ?? "") }
        XCTAssertEqual(done["state"] as? String, "done", "\(done)")
        let progress = try XCTUnwrap(done["progress"] as? [String: Any])
        XCTAssertEqual(progress["label"] as? String, "generation")
        XCTAssertEqual(progress["done"] as? Int, 10)
        XCTAssertEqual(progress["total"] as? Int, 10)
        XCTAssertEqual(progress["step"] as? Int, 60)
        XCTAssertEqual(progress["planned"] as? Int, 60)
        XCTAssertEqual((done["samples"] as? [String])?.count, 10)
        XCTAssertTrue((done["message"] as? String ?? "").hasPrefix("10 samples run, 0 already done, 10 of 10 in \(Self.runs.path)/composed"), "\(done)")

        // `rsynth run` of the spec the studio wrote, by hand into another folder: the same files,
        // the same bytes but for the wall times.
        let spec = Self.runs.appendingPathComponent(".studio/specs/composed.yaml").path
        let byHand = TestSupport.temporaryDirectory("studio-by-hand").appendingPathComponent("composed")
        let r = try TestSupport.rsynth(["run", spec, "--out", byHand.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let studioFolder = Self.runs.appendingPathComponent("composed")
        let files = try FileManager.default.subpathsOfDirectory(atPath: studioFolder.path).sorted()
        XCTAssertEqual(files, try FileManager.default.subpathsOfDirectory(atPath: byHand.path).sorted())
        XCTAssertTrue(files.contains("samples/000009.png") && files.contains("grid.png") && files.contains("spec.yaml"), "\(files)")
        // `.lock` names the process that holds the folder; index.html and the JSON files carry wall times.
        for f in files where !f.hasSuffix(".json") && f != "index.html" && f != "samples" && f != ".lock" {
            XCTAssertEqual(try Data(contentsOf: studioFolder.appendingPathComponent(f)), try Data(contentsOf: byHand.appendingPathComponent(f)), f)
        }
        for f in files where f.hasSuffix(".json") {
            XCTAssertEqual(try Self.withoutTimes(studioFolder.appendingPathComponent(f)), try Self.withoutTimes(byHand.appendingPathComponent(f)), f)
        }
    }

    /// A run that fails in its child (here: another spec into a finished run's folder, which
    /// `rsynth run` refuses) ends `failed` with the run's own error, and the server serves on.
    func testARunThatFailsShowsItsErrorAndTheServerServesOn() throws {
        let token = try client.token()
        XCTAssertEqual(try client.post("api/jobs", json: ["name": "twice", "spec": Self.digits(perClass: 1, steps: 2, batch: 10)], token: token).status, 201)
        XCTAssertEqual(try waitFor("twice") { $0["state"] as? String == "done" }["state"] as? String, "done")
        XCTAssertEqual(try client.post("api/jobs", json: ["name": "twice", "spec": Self.digits(perClass: 1, steps: 3, batch: 10)], token: token).status, 201)
        let failed = try waitFor("twice") { $0["state"] as? String == "failed" || $0["state"] as? String == "done" && ($0["id"] as? Int ?? 0) > 1 }
        XCTAssertEqual(failed["state"] as? String, "failed", "\(failed)")
        let message = failed["message"] as? String ?? ""
        XCTAssertTrue(message.hasPrefix("rsynth: error: ") && message.contains(Self.runs.path + "/twice"), message)
        XCTAssertEqual(try client.get("api/runs").status, 200)
        XCTAssertEqual(try client.get("").status, 200)
    }

    /// A JSON file's value with every wall time (keys naming seconds, and `timings`) removed.
    static func withoutTimes(_ url: URL) throws -> NSObject {
        func strip(_ v: Any) -> Any {
            if let d = v as? [String: Any] {
                return d.filter { !$0.key.contains("seconds") && $0.key != "timings" }.mapValues(strip)
            }
            if let a = v as? [Any] { return a.map(strip) }
            return v
        }
        return strip(try JSONSerialization.jsonObject(with: Data(contentsOf: url))) as! NSObject
    }

    func testCancelStopsARunAndLeavesItsFolderResumable() throws {
        let token = try client.token()
        let draft: [String: Any] = ["name": "long", "spec": Self.digits(perClass: 8, steps: 300, batch: 8)]
        XCTAssertEqual(try client.post("api/jobs", json: draft, token: token).status, 201)
        // The same folder twice at once is refused.
        let twice = try client.post("api/jobs", json: draft, token: token)
        XCTAssertEqual(twice.status, 409)
        XCTAssertEqual(twice.json["error"] as? String, "a run into 'long' is already queued or running")

        let started = try waitFor("long") { ($0["samples"] as? [String] ?? []).count >= 8 || $0["state"] as? String != "running" && $0["state"] as? String != "queued" }
        XCTAssertEqual(started["state"] as? String, "running", "the run ended before it could be cancelled: \(started)")
        let id = try XCTUnwrap(started["id"] as? Int)
        XCTAssertEqual(try client.post("api/jobs/\(id)/cancel", json: [:], token: token).status, 200)
        let cancelled = try waitFor("long", timeout: 60) { $0["state"] as? String != "running" }
        XCTAssertEqual(cancelled["state"] as? String, "cancelled", "\(cancelled)")
        XCTAssertTrue((cancelled["message"] as? String ?? "").contains("run the same command again to resume"), "\(cancelled)")
        let kept = cancelled["samples"] as? [String] ?? []
        XCTAssertTrue((8..<80).contains(kept.count), "\(kept.count) samples when cancelled")
        let folder = Self.runs.appendingPathComponent("long")
        let before = try kept.map { try Data(contentsOf: folder.appendingPathComponent($0)) }

        // The command the spec's header names resumes it: what was written stays, the rest runs.
        let r = try TestSupport.rsynth(["run", Self.runs.appendingPathComponent(".studio/specs/long.yaml").path, "--out", folder.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("\(80 - kept.count) samples run, \(kept.count) already done, 80 of 80"), r.stdout)
        XCTAssertEqual(try kept.map { try Data(contentsOf: folder.appendingPathComponent($0)) }, before)
        XCTAssertEqual(try TestSupport.json(folder.appendingPathComponent("manifest.json"))["complete"] as? Bool, true)
        XCTAssertEqual(try client.post("api/jobs/9999/cancel", json: [:], token: token).status, 404)
    }

    func testUploadsAreCheckedImagesKeptInsideTheRunsFolder() throws {
        let token = try client.token()
        let png = TestSupport.temporaryDirectory("studio-upload").appendingPathComponent("one.png")
        let image = RGBImage(width: 3, height: 2, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9, 200, 100, 50, 1, 2, 3])
        try ImageFile.writePNG(image, to: png.path)
        let bytes = try Data(contentsOf: png)

        let ok = try client.post("api/uploads?folder=photos/cat&name=one.png", bytes, token: token, type: "image/png")
        XCTAssertEqual(ok.status, 201, ok.text)
        XCTAssertEqual(ok.json["path"] as? String, Self.runs.path + "/data/photos/cat/one.png")
        XCTAssertEqual(ok.json["folder"] as? String, Self.runs.path + "/data/photos")
        XCTAssertEqual(try ImageFile.read(Self.runs.path + "/data/photos/cat/one.png").pixels, image.pixels)

        let text = try client.post("api/uploads?folder=photos&name=two.png", Data("hello".utf8), token: token, type: "image/png")
        XCTAssertEqual(text.status, 415)
        XCTAssertEqual(text.json["error"] as? String, "cannot read image 'two.png': not a PNG or JPEG file (it starts with 68 65 6c 6c)")
        var truncated = bytes
        truncated.removeLast(12)
        XCTAssertEqual(try client.post("api/uploads?folder=photos&name=three.png", truncated, token: token, type: "image/png").status, 415)
        let huge = try client.post("api/uploads?folder=photos&name=big.png", Data(count: StudioUploads.maxBytes + 1), token: token,
                                   type: "image/png")
        XCTAssertEqual(huge.status, 413)
        XCTAssertEqual(huge.json["error"] as? String, "the request is larger than the limit of \(StudioUploads.maxBytes) bytes")

        let names = "folder and name must be 1 or 2 folders and a file name of letters, digits, '.', '-' and '_', not starting with '.'"
        for query in ["folder=..&name=x.png", "folder=%2e%2e&name=x.png", "folder=a/../..&name=x.png", "folder=a/b/c&name=x.png",
                      "folder=photos&name=.hidden.png", "folder=photos&name=..%2Fx.png", "folder=&name=x.png", "folder=photos&name=a%00.png",
                      "folder=/tmp&name=x.png"] {
            let r = try client.post("api/uploads?" + query, bytes, token: token, type: "image/png")
            XCTAssertEqual(r.status, 400, query)
            XCTAssertEqual(r.json["error"] as? String, names, query)
        }
        // A symbolic link planted in data/ does not lead an upload outside.
        try FileManager.default.createSymbolicLink(atPath: Self.runs.path + "/data/evil", withDestinationPath: Self.outside.path)
        let evil = try client.post("api/uploads?folder=evil&name=x.png", bytes, token: token, type: "image/png")
        XCTAssertEqual(evil.status, 403)
        XCTAssertEqual(evil.json["error"] as? String, "the upload folder leads outside the runs folder (a symbolic link)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: Self.outside.path), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: Self.runs.path + "/data/photos").sorted(), ["cat"])
    }

    func testMalformedRequestsGetA4xxWithAReasonAndTheServerKeepsServing() throws {
        let token = try client.token()
        let cases: [(String, Data, Int, String)] = [
            ("api/jobs", Data("{".utf8), 400, "the request is not the JSON expected: "),
            ("api/jobs", Data(#"{"name": "x"}"#.utf8), 400, "the request is not the JSON expected: 'spec' is missing"),
            ("api/jobs", Data(#"{"name": "../up", "spec": {}}"#.utf8), 400, "a run needs a name of letters, digits"),
            ("api/jobs", Data(#"{"name": "data", "spec": {}}"#.utf8), 400, "a run needs a name of letters, digits"),
            ("api/jobs", Data(#"{"name": ".studio", "spec": {}}"#.utf8), 400, "a run needs a name of letters, digits"),
            ("api/jobs", Data(#"{"name": "empty", "spec": {}}"#.utf8), 422, "the spec has "),
            ("api/validate", Data(#"{"spec": [1, 2]}"#.utf8), 400, "the request is not the JSON expected: "),
            ("api/jobs", Data(count: (1 << 20) + 1), 413, "the request is larger than the limit of 1048576 bytes"),
        ]
        for (path, body, status, message) in cases {
            let r = try client.post(path, body, token: token)
            XCTAssertEqual(r.status, status, "\(path) \(String(decoding: body.prefix(40), as: UTF8.self)): \(r.text)")
            XCTAssertTrue((r.json["error"] as? String ?? "").hasPrefix(message), "\(path): \(r.text)")
        }
        XCTAssertNil(try job("empty"))
        XCTAssertEqual(try client.get("api/runs").status, 200)
    }
}
