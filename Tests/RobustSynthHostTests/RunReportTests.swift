import Foundation
import ImageIO
import RSynthTestSupport
@testable import RobustSynthHost
import XCTest

/// Every run folder's index.html (RunReport): one page that shows the run without a server and
/// links only to files inside the folder.
final class RunReportTests: XCTestCase {
    /// Every src= and href= of the page, in order.
    func links(_ html: String) throws -> [String] {
        let re = try NSRegularExpression(pattern: "(?:src|href)=\"([^\"]*)\"")
        return re.matches(in: html, range: NSRange(html.startIndex..., in: html)).map {
            String(html[Range($0.range(at: 1), in: html)!])
        }
    }

    /// Each link is a relative path to a file that is in the folder.
    func checkLinks(_ html: String, in dir: URL, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let all = try links(html)
        for l in all {
            XCTAssertFalse(l.hasPrefix("/") || l.contains(":") || l.split(separator: "/").contains(".."), "not inside the folder: \(l)", file: file, line: line)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(l).path), "missing: \(l)", file: file, line: line)
        }
        return all
    }

    func testAGenerationRunsPageShowsItsSamplesAndLinksInsideTheFolder() throws {
        let dir = TestSupport.temporaryDirectory()
        let spec = dir.appendingPathComponent("spec.yaml")
        TestSupport.write("""
            version: 1
            classifier: { plugin: linear, with: { classes: 10, size: 16 } }
            seed: { plugin: uniform }
            task: { plugin: generation, with: { classes: [3, 8], per_class: 3 } }
            constraints:
              - { plugin: l2-ball, with: { eps: 2 } }
            optimizer: { steps: 6, step_size: 0.5, batch_size: 4, seed: 5 }

            """, to: spec)
        let out = dir.appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", spec.path, "--out", out.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        let all = try checkLinks(html, in: out)
        // The grid, both loss plots, the CSV, spec and manifest, and a seed and a result per sample.
        XCTAssertEqual(all.filter { $0.hasPrefix("samples/") }.count, 12)
        for f in ["grid.png", "loss-00-3.svg", "loss-01-8.svg", "losses.csv", "spec.yaml", "manifest.json"] {
            XCTAssertTrue(all.contains(f), f)
        }
        XCTAssertTrue(html.contains("<h1>generation with linear</h1>"), html)
        XCTAssertTrue(html.contains("<tr><th>samples</th><td>6 of 6</td></tr>"), html)
        XCTAssertTrue(html.contains("6 steps of 0.5, l2 step, batch 4, seed 5"), html)
        XCTAssertEqual(html.components(separatedBy: "<polyline").count - 1, 6, "a loss curve per sample")
        // The spec is shown as text, escaped.
        XCTAssertTrue(html.contains("task: { plugin: generation, with: { classes: [3, 8], per_class: 3 } }"), html)
    }

    /// A rows figure of 200 translations is two pages of captioned source | result pairs (11
    /// columns of 16 on a page), listed in the manifest and all shown on the run page; a second finalize with fewer
    /// samples (a merge of one shard) removes the page it no longer has.
    func testManyRowsArePagedListedAndShown() throws {
        let dir = TestSupport.temporaryDirectory()
        let spec = dir.appendingPathComponent("spec.yaml")
        let digits = TestSupport.root.appendingPathComponent("Examples/digits").path
        TestSupport.write("""
            version: 1
            classifier: { plugin: digits-resnet, with: { weights: \(digits)/models/digits-robust.pt } }
            seed: { plugin: dataset-image, with: { dataset: \(digits)/data/test, labels: "10" } }
            task: { plugin: translation, with: { count: 200 } }
            constraints:
              - { plugin: l2-ball, with: { eps: 8 } }
            optimizer: { steps: 1, step_size: 0.25, batch_size: 50, seed: 0 }

            """, to: spec)
        let out = dir.appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", spec.path, "--out", out.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let manifest = try TestSupport.json(out.appendingPathComponent("manifest.json"))
        XCTAssertEqual(manifest["grid"] as? String, "grid.png")
        XCTAssertEqual(manifest["grid_pages"] as? [String], ["grid.png", "grid-2.png"])
        for name in ["grid.png", "grid-2.png"] {
            let page = try ImageFile.read(out.appendingPathComponent(name).path)
            XCTAssertLessThanOrEqual(max(page.width, page.height), 1600, name)
        }
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        let all = try checkLinks(html, in: out)
        XCTAssertTrue(all.contains("grid.png") && all.contains("grid-2.png"), "\(all.prefix(4))")
        XCTAssertTrue(html.contains("alt=\"results, page 2 of 2\""), html)

        // Shard 0 of 2 merged alone: 100 samples, one page; grid-2.png goes.
        let shard = dir.appendingPathComponent("shard0")
        XCTAssertEqual(try TestSupport.rsynth(["run", spec.path, "--out", shard.path, "--quiet", "--shard", "0/2"]).status, 0)
        try FileManager.default.copyItem(at: out.appendingPathComponent("grid-2.png"), to: shard.appendingPathComponent("grid-2.png"))
        let merged = dir.appendingPathComponent("merged")
        let m = try TestSupport.rsynth(["merge", "--out", merged.path, shard.path])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertNil(try TestSupport.json(merged.appendingPathComponent("manifest.json"))["grid_pages"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: merged.appendingPathComponent("grid-2.png").path))
    }

    /// A photo task with a judge: source class, start image and the judge's verdict per sample,
    /// and the agreement.
    func testAnInpaintingRunsPageHasSourcesStartsAndTheJudge() throws {
        let out = try DemoJudging.run("Examples/digits/inpainting.yaml",
                                      replacing: ["count: 10": "count: 4", "steps: 200": "steps: 5",
                                                  "seed: 0 }": "seed: 0 }\njudge: { dataset: data/train, k: 5 }"])
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        let all = try checkLinks(html, in: out)
        XCTAssertEqual(all.filter { $0.hasSuffix("-start.png") }.count, 4)
        XCTAssertTrue(html.contains("<th>source class</th>") && html.contains("<th>start</th>") && html.contains("<th>judge says</th>"), html)
        let judge = try XCTUnwrap(TestSupport.json(out.appendingPathComponent("manifest.json"))["judge"] as? [String: Any])
        let recognised = judge["recognised"] as! Int
        XCTAssertTrue(html.contains("<tr><th>judge</th><td>\(recognised) of 4 recognised as their target"), html)
    }

    func testTextFromTheRunIsEscaped() throws {
        XCTAssertEqual(RunReport.esc("<b>&\"x'</b>"), "&lt;b&gt;&amp;&quot;x&#39;&lt;/b&gt;")
        XCTAssertEqual(RunReport.sparkline([1]), "")
        XCTAssertEqual(RunReport.sparkline([1, .nan]), "")
        XCTAssertEqual(RunReport.sparkline([2, 1], width: 10, height: 10),
                       "<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\"><polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"0.0,2.0 10.0,8.0\"/></svg>")
    }
}
