import Foundation
import RSynthTestSupport
@testable import RobustSynthHost
import XCTest

/// Libraries that crash, abort or hang while they load (in a static constructor or in
/// synth_plugin_entry) are vetted in a child process: each is reported with its reason, every
/// other plugin still works, and an unchanged library is not vetted again.
final class PluginIsolationTests: XCTestCase {
    let bad: [(name: String, source: String, reason: String)] = [
        ("crash", "plugins/crash_in_entry.c", "crashed with SIGSEGV (Segmentation fault) while loading"),
        ("abort", "plugins/abort_in_entry.c", "aborted (SIGABRT) while loading"),
        ("hang", "plugins/hang_in_entry.c", "did not answer within 1 s while loading"),
        ("ctor", "plugins/crash_in_constructor.c", "crashed with SIGSEGV (Segmentation fault) while loading"),
    ]

    func buildBadPlugins(_ dir: URL) throws {
        for b in bad { _ = try TestSupport.buildCPlugin(TestSupport.fixture(b.source), into: dir, name: b.name) }
    }

    func lines(_ url: URL) -> [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func modificationDate(_ url: URL) throws -> Date {
        try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as! Date
    }

    func testCrashingAbortingAndHangingLibrariesAreReportedAndEveryOtherPluginWorks() throws {
        let dir = TestSupport.temporaryDirectory()
        try buildBadPlugins(dir)
        let cache = TestSupport.temporaryDirectory("\(#function)-cache")
        let log = cache.appendingPathComponent("scan.log")
        let env = ["RSYNTH_CACHE_DIR": cache.path, "RSYNTH_PLUGIN_SCAN_TIMEOUT": "1", "RSYNTH_PLUGIN_SCAN_LOG": log.path]
        let shipped = PluginCatalog.discover(pluginPaths: [TestSupport.products.path], environment: [:])
        XCTAssertEqual(shipped.failures, [])

        let r = try TestSupport.rsynth(["plugins", "--plugin-path", dir.path], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        for p in shipped.plugins {
            XCTAssertTrue(r.stdout.contains("\(p.info.name) ") && r.stdout.contains(p.library), "\(p.info.name) not listed:\n\(r.stdout)")
        }
        XCTAssertTrue(r.stdout.contains("\nLibraries that failed to load:\n"), r.stdout)
        for b in bad {
            XCTAssertTrue(r.stdout.contains("\n  \(dir.path)/lib\(b.name).so: \(b.reason)\n"), "\(b.name):\n\(r.stdout)")
        }
        // Every library was vetted once, in order; the crashes needed fresh children.
        let scanned = lines(log)
        XCTAssertEqual(scanned.count, shipped.plugins.count + bad.count, scanned.joined(separator: "\n"))
        XCTAssertEqual(Set(scanned).count, scanned.count, scanned.joined(separator: "\n"))
        let cacheFile = cache.appendingPathComponent("plugin-scan-v1.json")
        let written = try modificationDate(cacheFile)

        // The same in JSON, and from the cache: no child, the cache untouched.
        let j = try TestSupport.rsynth(["plugins", "--json", "--plugin-path", dir.path], environment: env)
        XCTAssertEqual(j.status, 0, j.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(Set((object["plugins"] as! [[String: String]]).map { $0["name"]! }), Set(shipped.plugins.map(\.info.name)))
        let failures = Dictionary(uniqueKeysWithValues: (object["failures"] as! [[String: String]]).map { ($0["library"]!, $0["reason"]!) })
        XCTAssertEqual(failures, Dictionary(uniqueKeysWithValues: bad.map { ("\(dir.path)/lib\($0.name).so", $0.reason) }))
        XCTAssertEqual(lines(log), scanned, "a warm command vetted libraries again")
        XCTAssertEqual(try modificationDate(cacheFile), written)

        // A run of built-in plugins with the bad libraries on the plugin path.
        let spec = dir.appendingPathComponent("spec.yaml")
        TestSupport.write("""
            version: 1
            classifier: { plugin: linear, with: { classes: 10, size: 16 } }
            seed: { plugin: uniform }
            task: { plugin: generation, with: { classes: [3, 8], per_class: 2 } }
            constraints:
              - { plugin: l2-ball, with: { eps: 2 } }
            optimizer: { steps: 5, step_size: 0.5, batch_size: 2, seed: 5 }

            """, to: spec)
        let out = dir.appendingPathComponent("run")
        let run = try TestSupport.rsynth(["run", spec.path, "--plugin-path", dir.path, "--out", out.path, "--quiet"], environment: env)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples/000003.png").path))
        XCTAssertEqual(lines(log), scanned)
    }

    func testAChangedLibraryIsVettedAgainAndACorruptCacheIsRewritten() throws {
        let dir = TestSupport.temporaryDirectory()
        let crash = try TestSupport.buildCPlugin(TestSupport.fixture("plugins/crash_in_entry.c"), into: dir, name: "crash")
        let cache = TestSupport.temporaryDirectory("\(#function)-cache")
        let log = cache.appendingPathComponent("scan.log")
        let env = ["RSYNTH_CACHE_DIR": cache.path, "RSYNTH_PLUGIN_SCAN_LOG": log.path]
        XCTAssertEqual(try TestSupport.rsynth(["plugins", "--plugin-path", dir.path], environment: env).status, 0)
        let first = lines(log)
        XCTAssertTrue(first.contains("scan \(crash.path)"), first.joined(separator: "\n"))

        // A library replaced by a good one (another mtime and size): vetted again, and it loads.
        try FileManager.default.removeItem(at: crash)
        _ = try TestSupport.buildCPlugin(TestSupport.fixture("plugins/probe_plugin.c"), into: dir, name: "crash")
        let r = try TestSupport.rsynth(["plugins", "--plugin-path", dir.path], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Array(lines(log).dropFirst(first.count)), ["scan \(crash.path)"])
        XCTAssertFalse(r.stdout.contains("Libraries that failed to load"), r.stdout)

        // A corrupt cache is ignored (everything vetted again) and rewritten.
        let cacheFile = cache.appendingPathComponent("plugin-scan-v1.json")
        TestSupport.write("{ not json", to: cacheFile)
        let before = lines(log).count
        let c = try TestSupport.rsynth(["plugins", "--plugin-path", dir.path], environment: env)
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(c.stdout, r.stdout)
        XCTAssertGreaterThan(lines(log).count, before)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(contentsOf: cacheFile)))
    }

    func testTheScanChildAnswersLineByLine() throws {
        let dir = TestSupport.temporaryDirectory()
        let plain = try TestSupport.buildCPlugin(TestSupport.fixture("plugins/not_a_plugin.c"), into: dir, name: "plain")
        let uniform = TestSupport.products.appendingPathComponent("libRSynthUniform.so").path
        let r = try TestSupport.rsynth(["__scan-plugins", plain.path, uniform])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            begin \(plain.path)
            failed \(plain.path): not a RobustSynth plugin: it exports no synth_plugin_entry symbol
            begin \(uniform)
            ok \(uniform)

            """)
        let help = try TestSupport.rsynth(["--help"])
        XCTAssertFalse(help.stdout.contains("scan"), help.stdout)
    }

    func testACrashInAPluginCallDuringARunNamesThePluginAndTheCallAndTheFolderResumes() throws {
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.buildCPlugin(TestSupport.fixture("plugins/crashing_sampler.c"), into: dir, name: "crashing")
        let spec = dir.appendingPathComponent("spec.yaml")
        TestSupport.write("""
            version: 1
            classifier: { plugin: linear, with: { classes: 10, size: 16 } }
            seed: { plugin: crashing-sampler }
            task: { plugin: generation, with: { classes: [3, 8], per_class: 2 } }
            constraints:
              - { plugin: l2-ball, with: { eps: 2 } }
            optimizer: { steps: 3, step_size: 0.5, batch_size: 2, seed: 5 }

            """, to: spec)
        let out = dir.appendingPathComponent("run")
        let args = ["run", spec.path, "--plugin-path", dir.path, "--out", out.path, "--quiet"]
        let crashed = try TestSupport.rsynth(args, environment: ["CRASHING_SAMPLER_AT": "2"])
        XCTAssertEqual(crashed.status, 1)
        XCTAssertEqual(crashed.stderr, "rsynth: error: plugin 'crashing-sampler' crashed with SIGSEGV in its sample call; the samples written so far stay in \(out.path) and the same command resumes the run\n")
        let samples = { (try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("samples").path))?.filter { $0.hasSuffix(".png") && !$0.contains("-") }.sorted() ?? [] }
        XCTAssertEqual(samples(), ["000000.png", "000001.png"])
        let resumed = try TestSupport.rsynth(args)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.hasPrefix("2 samples run, 2 already done, 4 of 4"), resumed.stdout)
        XCTAssertEqual(samples(), ["000000.png", "000001.png", "000002.png", "000003.png"])
    }
}
