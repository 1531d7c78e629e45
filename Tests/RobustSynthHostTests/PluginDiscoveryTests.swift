import Foundation
import RSynthTestSupport
import RobustSynthCore
@testable import RobustSynthHost
import XCTest

final class PluginDiscoveryTests: XCTestCase {
    func testEachBuiltPluginComesFromItsOwnLibrary() {
        let catalog = PluginCatalog.discover(pluginPaths: [TestSupport.products.path], environment: [:])
        let byName = Dictionary(uniqueKeysWithValues: catalog.plugins.map { ($0.info.name, $0) })
        let expected: [(String, PluginKind, String)] = [
            ("uniform", .seedSampler, "libRSynthUniform.so"),
            ("l2-ball", .constraint, "libRSynthL2Ball.so"),
            ("generation", .task, "libRSynthGeneration.so"),
            ("linear", .classifier, "libRSynthLinearClassifier.so"),
        ]
        for (name, kind, library) in expected {
            XCTAssertEqual(byName[name]?.info.kind, kind, name)
            XCTAssertEqual(byName[name].map { URL(fileURLWithPath: $0.library).lastPathComponent }, library, name)
        }
        XCTAssertEqual(catalog.failures, [])
    }

    func testPluginsJSONListsNameKindVersionAndLibrary() throws {
        let r = try TestSupport.rsynth(["plugins", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let plugins = object["plugins"] as! [[String: String]]
        XCTAssertGreaterThanOrEqual(plugins.count, 4)
        for p in plugins {
            for field in ["name", "kind", "version", "library"] { XCTAssertNotNil(p[field], "\(field) missing in \(p)") }
            XCTAssertTrue(FileManager.default.fileExists(atPath: p["library"]!), p["library"]!)
        }
        let uniform = plugins.first { $0["name"] == "uniform" }!
        XCTAssertEqual(uniform["kind"], "seed-sampler")
        XCTAssertEqual(uniform["version"], "1.0.0")
        XCTAssertEqual(URL(fileURLWithPath: uniform["library"]!).lastPathComponent, "libRSynthUniform.so")
    }

    func testBrokenLibrariesAreReportedAndTheOthersStillLoad() throws {
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.buildCPlugin(TestSupport.fixture("plugins/future_abi_plugin.c"), into: dir, name: "future")
        _ = try TestSupport.buildCPlugin(TestSupport.fixture("plugins/not_a_plugin.c"), into: dir, name: "plain")
        TestSupport.write("not a library\n", to: dir.appendingPathComponent("libnotes.so"))
        try FileManager.default.copyItem(at: TestSupport.products.appendingPathComponent("libRSynthUniform.so"),
                                         to: dir.appendingPathComponent("libuniform-copy.so"))

        let catalog = PluginCatalog.discover(pluginPaths: [dir.path, TestSupport.products.path], environment: [:])
        let reasons = Dictionary(uniqueKeysWithValues: catalog.failures.map { (URL(fileURLWithPath: $0.library).lastPathComponent, $0.reason) })
        XCTAssertEqual(reasons["libfuture.so"],
                       "built for plugin ABI version 99, but this rsynth speaks ABI versions 1 to 2: upgrade rsynth to one that speaks version 99, or rebuild the plugin against this rsynth's synth_plugin.h")
        XCTAssertEqual(reasons["libplain.so"], "not a RobustSynth plugin: it exports no synth_plugin_entry symbol")
        XCTAssertTrue(reasons["libnotes.so"]?.hasPrefix("cannot be opened: ") ?? false, reasons["libnotes.so"] ?? "not reported")
        XCTAssertEqual(reasons["libRSynthUniform.so"],
                       "duplicate plugin name 'uniform': already loaded from \(dir.path)/libuniform-copy.so; this copy is skipped")
        // Everything else still works.
        XCTAssertNotNil(catalog.plugin(named: "generation"))
        XCTAssertEqual(catalog.plugin(named: "uniform")?.library, dir.appendingPathComponent("libuniform-copy.so").path)

        let r = try TestSupport.rsynth(["plugins", "--plugin-path", dir.path])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("Libraries that failed to load:\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  \(dir.path)/libfuture.so: built for plugin ABI version 99"), r.stdout)
    }

    /// Flag, environment, then the installed plugin folder where there is one (never the bin
    /// folder then: Debian's /usr/bin holds ld.so), else the executable's own (a build folder).
    func testSearchOrderIsFlagThenEnvironmentThenInstalledPluginFolderOrElseTheExecutablesFolder() {
        let installed = PluginLoader.searchPath(pluginPaths: ["/a", "/b"], environment: ["RSYNTH_PLUGIN_PATH": "/c::/d"],
                                                executableDirectory: "/opt/rs/bin", isFolder: { $0 == "/opt/rs/lib/rsynth/plugins" })
        XCTAssertEqual(installed, ["/a", "/b", "/c", "/d", "/opt/rs/lib/rsynth/plugins"])
        let build = PluginLoader.searchPath(pluginPaths: [], environment: [:], executableDirectory: "/src/.build/debug",
                                            isFolder: { _ in false })
        XCTAssertEqual(build, ["/src/.build/debug"])
    }

    /// An installed layout, PREFIX/bin/rsynth with the plugins in PREFIX/lib/rsynth/plugins, made
    /// of links to the built products: every plugin is found from any working directory.
    func testInstalledLayoutFindsPluginsInLibRsynthPlugins() throws {
        let prefix = TestSupport.temporaryDirectory()
        let bin = prefix.appendingPathComponent("bin"), plugins = prefix.appendingPathComponent("lib/rsynth/plugins")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestSupport.rsynth, to: bin.appendingPathComponent("rsynth"))
        let libraries = try FileManager.default.contentsOfDirectory(atPath: TestSupport.products.path)
            .filter { $0.hasPrefix("libRSynth") && $0.hasSuffix(".so") }.sorted()
        // Package.swift's plugin products, as scripts/plugin-names.sh (which install.sh uses) reads them.
        let names = try TestSupport.run(URL(fileURLWithPath: "/bin/bash"), ["scripts/plugin-names.sh"], directory: TestSupport.root)
        XCTAssertEqual(names.status, 0, names.stderr)
        let declared = names.stdout.split(separator: "\n").map { "libRSynth\($0).so" }.sorted()
        XCTAssertTrue(declared.contains("libRSynthPyTorch.so") && declared.contains("libRSynthL2Ball.so"), names.stdout)
        XCTAssertFalse(declared.isEmpty)
        XCTAssertEqual(libraries, declared, "the plugins of Package.swift")
        for lib in libraries {
            try FileManager.default.copyItem(at: TestSupport.products.appendingPathComponent(lib),
                                             to: plugins.appendingPathComponent(lib))
        }
        let r = try TestSupport.run(bin.appendingPathComponent("rsynth"), ["plugins", "--json"], directory: FileManager.default.temporaryDirectory)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let found = (json["plugins"] as! [[String: String]]).map { $0["library"]! }.sorted()
        XCTAssertEqual(found, libraries.map { plugins.appendingPathComponent($0).path })
        XCTAssertEqual((json["failures"] as! [Any]).count, 0, r.stdout)
        try? FileManager.default.removeItem(at: prefix)
    }

    func testDescribeShowsTypesDefaultsRangesAndDocs() throws {
        let r = try TestSupport.rsynth(["plugins", "describe", "l2-ball"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("l2-ball 1.1.0 (constraint): Projection onto the L2 ball of radius eps around the starting image; L2-normalised steps\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\n  eps (double, required, range [0, inf))\n"), r.stdout)
        let unknown = try TestSupport.rsynth(["plugins", "describe", "l2-bal"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("Error: unknown plugin 'l2-bal' (did you mean 'l2-ball'?)"), unknown.stderr)
    }
}
