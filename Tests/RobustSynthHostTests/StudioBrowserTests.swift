import Foundation
import ImageIO
import RSynthStudio
import RSynthTestSupport
import XCTest

/// The studio in a real browser (Tests/studio_browser.py drives Debian's chromium-headless-shell
/// over the DevTools protocol), as a newcomer uses it without editing YAML: the form shows a
/// field's error and clears it, composes a robust and a standard digits generation from the
/// shipped examples, runs both and watches them finish; a sketch is drawn with the mouse and
/// stored; the two runs open side by side. Screenshots of every page are kept.
final class StudioBrowserTests: XCTestCase {
    func testANewcomerComposesRunsAndComparesThemInABrowser() throws {
        guard FileManager.default.isExecutableFile(atPath: StudioTests.browser) else {
            throw StudioTests.NoBrowser(description: "no \(StudioTests.browser): apt-get install --no-install-recommends chromium-headless-shell (Examples/install-dependencies.sh --tests does)")
        }
        let dir = TestSupport.temporaryDirectory("studio-browser")
        let runs = dir.appendingPathComponent("runs")
        let studio = StudioProcess(runs: runs)
        defer { studio.stop() }
        let shots = dir.appendingPathComponent("screenshots")
        let r = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/timeout"),
                                    ["600", "python3", TestSupport.root.appendingPathComponent("Tests/studio_browser.py").path,
                                     studio.base, shots.path, "--browser", StudioTests.browser])
        XCTAssertEqual(r.status, 0, r.stderr)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)

        XCTAssertGreaterThan(seen["examples"] as? Int ?? 0, 10, "the shipped example specs are offered")
        XCTAssertEqual(seen["field_error"] as? String, "parameter 'eps' must be in [0, inf), got -1")
        XCTAssertTrue((seen["robust"] as? String ?? "").hasPrefix("browser-robust done 20/20 samples, step 220/220"), "\(seen)")
        XCTAssertTrue((seen["standard"] as? String ?? "").hasPrefix("browser-standard done 20/20 samples, step 220/220"), "\(seen)")
        XCTAssertEqual(seen["thumbnails"] as? Int, 20, "every sample shown as it finished")
        XCTAssertEqual(Set(seen["compared"] as? [String] ?? []), ["browser-robust", "browser-standard"])
        XCTAssertEqual(seen["run_title"] as? String, "generation with digits-resnet")

        // The runs the browser made: the robust model's and the standard one's, as the form set them.
        let real = try XCTUnwrap(StudioPaths.realPath(runs.path))
        var agreement = [String: Double]()
        for model in ["robust", "standard"] {
            let m = try TestSupport.json(URL(fileURLWithPath: real + "/browser-\(model)/manifest.json"))
            XCTAssertEqual(m["complete"] as? Bool, true)
            XCTAssertEqual((m["samples"] as? [Any])?.count, 20)
            let weights = (((m["plan"] as? [String: Any])?["plugins"] as? [[String: Any]])?.first?["parameters"] as? [String: Any])?["weights"] as? String
            XCTAssertTrue(weights?.contains(model == "robust" ? "digits-robust.pt" : "digits-standard.pth") == true, "\(String(describing: weights))")
            agreement[model] = (m["judge"] as? [String: Any])?["agreement"] as? Double
        }
        XCTAssertGreaterThan(agreement["robust"] ?? 0, (agreement["standard"] ?? 1) + 0.2, "the comparison shows the paper's point: \(agreement)")

        // The sketch drawn with the mouse: a white PNG with a dark vertical stroke near the middle.
        let sketch = try ImageFile.read(real + "/data/uploads/sketch-one.png")
        XCTAssertEqual([sketch.width, sketch.height], [256, 256])
        var dark = [Int](repeating: 0, count: sketch.width)
        for y in 0..<sketch.height { for x in 0..<sketch.width where sketch.pixels[(y * sketch.width + x) * 3] < 128 { dark[x] += 1 } }
        XCTAssertGreaterThan(dark[128], 100, "the stroke runs down the middle column")
        XCTAssertEqual(dark[..<100].reduce(0, +) + dark[156...].reduce(0, +), 0, "and nowhere else")

        for page in ["new", "draw", "gallery", "compare", "run"] {
            let shot = try ImageFile.read(shots.appendingPathComponent("studio-\(page).png").path)
            XCTAssertEqual([shot.width, shot.height], [1280, 860], page)
        }
    }
}
