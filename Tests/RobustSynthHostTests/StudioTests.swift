import Foundation
import RSynthStudio
import RSynthTestSupport
import XCTest

/// `rsynth studio` over HTTP: started on a free loopback port over a runs folder with two runs,
/// its gallery JSON, filters, run pages and files; every way out of the runs folder refused.
final class StudioTests: XCTestCase {
    nonisolated(unsafe) static var server: Process?
    nonisolated(unsafe) static var base = ""
    nonisolated(unsafe) static var runs: URL!

    static let spec = """
        version: 1
        classifier: { plugin: linear, with: { classes: 10, size: 16 } }
        seed: { plugin: uniform }
        task: { plugin: generation, with: { classes: [CLASSES], per_class: 2 } }
        constraints:
          - { plugin: l2-ball, with: { eps: 2 } }
        optimizer: { steps: 3, step_size: 0.5, batch_size: 4, seed: 5 }

        """

    /// Two runs (the second finished later), a secret file beside the runs folder and a
    /// symbolic link to it inside; then the studio on port 0, its address read from its first line.
    override class func setUp() {
        let dir = TestSupport.temporaryDirectory("studio")
        runs = dir.appendingPathComponent("runs")
        try! FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
        for (name, classes) in [("first", "3, 8"), ("second", "1")] {
            let spec = dir.appendingPathComponent("\(name).yaml")
            TestSupport.write(Self.spec.replacingOccurrences(of: "CLASSES", with: classes), to: spec)
            let r = try! TestSupport.rsynth(["run", spec.path, "--out", runs.appendingPathComponent(name).path, "--quiet"])
            precondition(r.status == 0, r.stderr)
            Thread.sleep(forTimeInterval: 1.1)   // distinct modification times, in whole seconds on some filesystems
        }
        TestSupport.write("secret\n", to: dir.appendingPathComponent("secret.txt"))
        try! FileManager.default.createSymbolicLink(atPath: runs.appendingPathComponent("first/leak.txt").path,
                                                    withDestinationPath: dir.appendingPathComponent("secret.txt").path)

        let studio = StudioProcess(runs: runs)
        server = studio.process
        base = studio.base
        firstLine = studio.firstLine
    }

    nonisolated(unsafe) static var firstLine = ""

    override class func tearDown() {
        server?.terminate()
        server?.waitUntilExit()
    }

    /// GET base + path exactly as written (no client-side normalisation of `..`).
    func get(_ path: String) throws -> StudioClient.Reply { try StudioClient(base: Self.base).get(path) }

    func testItSaysWhereItListensAndThatOnlyThisMachineCanReachIt() {
        XCTAssertTrue(Self.firstLine.hasPrefix("rsynth studio: serving the runs in \(Self.runs.path) at http://127.0.0.1:"), Self.firstLine)
        XCTAssertTrue(Self.firstLine.hasSuffix("/ (this machine only; --host 0.0.0.0 to share it)\n"), Self.firstLine)
    }

    func testTheGalleryListsEveryRunNewestFirstAndFilters() throws {
        let r = try get("api/runs")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.type, "application/json")
        let runs = try XCTUnwrap((try JSONSerialization.jsonObject(with: r.body) as? [String: Any])?["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.map { $0["path"] as? String }, ["second", "first"])
        let first = runs[1]
        XCTAssertEqual(first["task"] as? String, "generation")
        XCTAssertEqual(first["classifier"] as? String, "linear")
        XCTAssertEqual(first["seed"] as? String, "uniform")
        XCTAssertEqual(first["constraints"] as? [String], ["l2-ball eps: 2.0"])
        XCTAssertEqual(first["classes"] as? [String], ["3", "8"])
        XCTAssertEqual(first["samples"] as? Int, 4)
        XCTAssertEqual(first["total"] as? Int, 4)
        XCTAssertEqual(first["complete"] as? Bool, true)
        XCTAssertEqual(first["grid"] as? String, "grid.png")

        func paths(_ query: String) throws -> [String] {
            let r = try get("api/runs?" + query)
            XCTAssertEqual(r.status, 200, query)
            let runs = (try JSONSerialization.jsonObject(with: r.body) as? [String: Any])?["runs"] as? [[String: Any]] ?? []
            return runs.compactMap { $0["path"] as? String }
        }
        XCTAssertEqual(try paths("class=8"), ["first"])
        XCTAssertEqual(try paths("class=1&task=generation"), ["second"])
        XCTAssertEqual(try paths("classifier=digits-resnet"), [])
    }

    func testARunsPageAndFilesAreServed() throws {
        let page = try get("files/first/index.html")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.type, "text/html; charset=utf-8")
        XCTAssertTrue(page.text.contains("<h1>generation with linear</h1>"), page.text)
        let grid = try get("files/first/grid.png")
        XCTAssertEqual(grid.status, 200)
        XCTAssertEqual(grid.type, "image/png")
        XCTAssertEqual(grid.body, try Data(contentsOf: Self.runs.appendingPathComponent("first/grid.png")))
        let app = try get("")
        XCTAssertEqual(app.status, 200)
        XCTAssertTrue(app.text.contains("<title>rsynth studio</title>") && app.text.contains(#"src="app/main.js""#), app.text)
        let gallery = try get("app/gallery.js")
        XCTAssertEqual(gallery.type, "text/javascript; charset=utf-8")
        XCTAssertTrue(gallery.text.contains(#"fetch("api/runs?" + q)"#), gallery.text)
        XCTAssertEqual(try get("app/nothing.js").status, 404)
        XCTAssertTrue(app.text.contains("--out \(StudioPaths.realPath(Self.runs.path)!)/quickstart</code>"), "the empty gallery's hint names this runs folder")
    }

    func testNothingOutsideTheRunsFolderIsServed() throws {
        let cases: [(String, Int, String)] = [
            ("files/%2e%2e/secret.txt", 403, "the path leaves the runs folder ('..' or '.')"),
            ("files/first/%2E%2E/%2e%2e/secret.txt", 403, "the path leaves the runs folder ('..' or '.')"),
            ("files/first%2F..%2F..%2Fsecret.txt", 403, "the path leaves the runs folder ('..' or '.')"),
            ("files/first/leak.txt", 403, "the path leads outside the runs folder (a symbolic link)"),
            ("files/first/..%5C..%5Csecret.txt", 403, "the path has a NUL or a backslash"),
            ("files/first/%00", 403, "the path has a NUL or a backslash"),
            ("files/first/samples", 403, "not a regular file"),
            ("files/first/nothing.png", 404, "no such file"),
        ]
        for (path, status, why) in cases {
            let r = try get(path)
            XCTAssertEqual(r.status, status, path)
            XCTAssertTrue(r.text.hasPrefix("rsynth studio: \(why): "), "\(path): \(r.text)")
            XCTAssertFalse(r.text.contains("secret\n"), path)
        }
        // A literal ../ may be folded by the HTTP client before it is sent: whatever arrives, no secret.
        let literal = try get("files/../secret.txt")
        XCTAssertTrue([403, 404].contains(literal.status), literal.text)
        XCTAssertFalse(literal.text.contains("secret\n"))
        XCTAssertEqual(try get("api/nothing").status, 404)
        // And the server is still serving.
        XCTAssertEqual(try get("api/runs").status, 200)
    }

    func testPathsResolveOnlyInsideTheRoot() throws {
        let root = try XCTUnwrap(StudioPaths.realPath(Self.runs.path))
        XCTAssertEqual(try StudioPaths.resolve("first/grid.png", under: root).get(), root + "/first/grid.png")
        XCTAssertEqual(try StudioPaths.resolve("first//grid.png", under: root).get(), root + "/first/grid.png")
        XCTAssertThrowsError(try StudioPaths.resolve("", under: root).get())
        XCTAssertThrowsError(try StudioPaths.resolve("%zz", under: root).get())
        XCTAssertEqual(StudioPaths.contentType("a/b.SVG"), "image/svg+xml")
    }

    /// The gallery's cache: a manifest is decoded again only when its time or size changes.
    func testTheGalleryCacheFollowsTheManifests() throws {
        let root = TestSupport.temporaryDirectory("studio-cache")
        try FileManager.default.copyItem(at: Self.runs.appendingPathComponent("first"), to: root.appendingPathComponent("a"))
        let cache = RunGallery.Cache()
        let manifest = root.appendingPathComponent("a/manifest.json")
        let stamp = Date(timeIntervalSince1970: 1_700_000_000)
        try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: manifest.path)
        XCTAssertEqual(RunGallery.scan(root.path, cache: cache).map(\.task), ["generation"])
        // Same size and time, other bytes: the cached entry stands (nothing was decoded).
        let original = try Data(contentsOf: manifest)
        try Data(repeating: UInt8(ascii: " "), count: original.count).write(to: manifest)
        try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: manifest.path)
        XCTAssertEqual(RunGallery.scan(root.path, cache: cache).map(\.task), ["generation"])
        XCTAssertEqual(RunGallery.scan(root.path).map(\.task), [], "without the cache the blank manifest is skipped")
        // A rewritten manifest (a resumed run): read again.
        let changed = String(decoding: original, as: UTF8.self).replacingOccurrences(of: "\"generation\"", with: "\"translation\"")
        try changed.write(to: manifest, atomically: true, encoding: .utf8)
        XCTAssertEqual(RunGallery.scan(root.path, cache: cache).map(\.task), ["translation"])
    }

    // MARK: - A real browser

    struct NoBrowser: Error, CustomStringConvertible { let description: String }

    /// Debian's chromium-headless-shell (Examples/install-dependencies.sh --tests installs it).
    static let browser = "/usr/bin/chromium-headless-shell"

    /// The document the browser has built from base + `view` once the page's module has run:
    /// `--dump-dom` after up to 5 s of the page's own time.
    func dom(_ view: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: Self.browser) else {
            throw NoBrowser(description: "no \(Self.browser): apt-get install --no-install-recommends chromium-headless-shell (Examples/install-dependencies.sh --tests does)")
        }
        let r = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/timeout"),
                                    ["60", Self.browser, "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                                     "--dump-dom", Self.base + view])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    /// The page's module runs in a real browser and builds the three views: the gallery's rows,
    /// count and filter choices from /api/runs; a run's own page; two runs side by side.
    func testARealBrowserBuildsTheGalleryARunAndTheComparison() throws {
        let gallery = try dom("")
        // Rows the module wrote (the template in the page's source has `${esc(e.path)}` instead).
        XCTAssertTrue(gallery.contains(#"<tr data-path="second">"#), gallery)
        XCTAssertTrue(gallery.contains(#"<tr data-path="first">"#), gallery)
        XCTAssertLessThan(gallery.range(of: #"<tr data-path="second">"#)!.lowerBound,
                          gallery.range(of: #"<tr data-path="first">"#)!.lowerBound, "newest first")
        XCTAssertTrue(gallery.contains(#"<span id="status">2 runs</span>"#), gallery)
        XCTAssertTrue(gallery.contains("<option>generation</option>") && gallery.contains("<option>linear</option>"), gallery)
        XCTAssertTrue(gallery.contains(#"src="files/first/grid.png""#), gallery)

        let run = try dom("#run=first")
        XCTAssertTrue(run.contains(#"<iframe title="run" src="files/first/index.html"></iframe>"#), run)
        XCTAssertTrue(run.contains(#"<section id="gallery" hidden="">"#), run)

        let pair = try dom("#compare=first%7Csecond")
        XCTAssertTrue(pair.contains(#"<iframe title="first" src="files/first/index.html"></iframe>"#), pair)
        XCTAssertTrue(pair.contains(#"<iframe title="second" src="files/second/index.html"></iframe>"#), pair)

        let half = try dom("#compare=first")
        XCTAssertTrue(half.contains(#"compare needs two runs, "first|second"; got "first"."#), half)
        XCTAssertFalse(half.contains("<iframe"), half)
    }
}
