import Foundation
import RSynthTestSupport
import XCTest

/// Runs a demo spec and judges its results twice: by the spec's k-NN (the manifest's rate) and
/// by `rsynth judge`'s linear pixel classifier, a judge of another family trained here on the
/// same real images. Neither judge ever sees the classifier the spec uses.
enum DemoJudging {
    struct Rates {
        var knn: Double
        var linear: Double
        var count: Int
        var run: URL
    }

    /// `replacing` rewrites the spec's text first (`per_class: 8` -> `per_class: 20`: the
    /// quickstart's 80 samples become 200).
    static func run(_ spec: String, replacing: [String: String] = [:], extraArguments: [String] = [],
                    file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let name = URL(fileURLWithPath: spec).deletingPathExtension().lastPathComponent
        let dir = TestSupport.temporaryDirectory("demo-\(name)")
        let out = dir.appendingPathComponent("run")
        var path = TestSupport.root.appendingPathComponent(spec)
        if !replacing.isEmpty {
            var text = try String(contentsOf: path, encoding: .utf8)
            for (old, new) in replacing {
                XCTAssertTrue(text.contains(old), "\(spec) has no '\(old)'", file: file, line: line)
                text = text.replacingOccurrences(of: old, with: new)
            }
            // Beside the original, so the spec's relative paths still hold.
            path = path.deletingLastPathComponent().appendingPathComponent(".test-\(getpid())-\(path.lastPathComponent)")
            try text.write(to: path, atomically: true, encoding: .utf8)
        }
        defer { if !replacing.isEmpty { try? FileManager.default.removeItem(at: path) } }
        let r = try TestSupport.rsynth(["run", path.path, "--out", out.path, "--quiet", "--save-tensors"] + extraArguments,
                                       environment: ["RSYNTH_CACHE_DIR": dir.appendingPathComponent("cache").path])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return out
    }

    /// `rsynth judge`'s rate on `run`: `method` linear or knn, `of` result, start or seed,
    /// the judge trained on `dataset`.
    static func judge(_ run: URL, dataset: String, method: String = "linear", of subject: String = "result",
                      file: StaticString = #filePath, line: UInt = #line) throws -> Double {
        let r = try TestSupport.rsynth(["judge", run.path, "--dataset", TestSupport.root.appendingPathComponent(dataset).path,
                                        "--method", method, "--of", subject, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        return json["agreement"] as! Double
    }

    /// Prints both models' rates (the README's table) and checks them: the robust model at least
    /// `robustAtLeast`, the standard one at most `standardAtMost`, by each judge, on `count` samples.
    static func checkBars(_ what: String, robust: Rates, standard: Rates, count: Int = 200,
                          robustAtLeast: (knn: Double, linear: Double), standardAtMost: (knn: Double, linear: Double),
                          file: StaticString = #filePath, line: UInt = #line) {
        print("\(what) (README's table): robust 5-NN \(robust.knn) linear \(robust.linear), standard 5-NN \(standard.knn) linear \(standard.linear), of \(robust.count)")
        XCTAssertEqual(robust.count, count, file: file, line: line)
        XCTAssertEqual(standard.count, count, file: file, line: line)
        XCTAssertGreaterThanOrEqual(robust.knn, robustAtLeast.knn, "robust \(what) judged as the target", file: file, line: line)
        XCTAssertGreaterThanOrEqual(robust.linear, robustAtLeast.linear, "robust \(what) judged as the target", file: file, line: line)
        XCTAssertLessThanOrEqual(standard.knn, standardAtMost.knn, "standard \(what) judged as the target", file: file, line: line)
        XCTAssertLessThanOrEqual(standard.linear, standardAtMost.linear, "standard \(what) judged as the target", file: file, line: line)
    }

    static func rates(_ spec: String, dataset: String, replacing: [String: String] = [:],
                      file: StaticString = #filePath, line: UInt = #line) throws -> Rates {
        let out = try run(spec, replacing: replacing, file: file, line: line)
        let knn = try TestSupport.json(out.appendingPathComponent("manifest.json"))["judge"] as! [String: Any]
        return Rates(knn: knn["agreement"] as! Double, linear: try judge(out, dataset: dataset, file: file, line: line),
                     count: knn["judged"] as! Int, run: out)
    }
}
