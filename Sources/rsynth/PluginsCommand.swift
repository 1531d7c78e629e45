import ArgumentParser
import Foundation
import RobustSynthCore
import RobustSynthHost

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the plugins found, and the libraries that failed to load and why.",
        discussion: """
        Plugins are searched in each --plugin-path, then in RSYNTH_PLUGIN_PATH (colon-separated), \
        then next to the rsynth executable, then in ../lib/rsynth/plugins beside it (an installed \
        rsynth). A library that is not a plugin, was built for another \
        ABI version or repeats a plugin name is listed with the reason and skipped.
        """,
        subcommands: [ListPlugins.self, DescribePlugin.self, PluginSchema.self],
        defaultSubcommand: ListPlugins.self)
}

struct ListPlugins: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List plugins (the default).")
    @OptionGroup var paths: PluginPathOptions
    @Flag(help: "Print JSON: {\"plugins\": [{name, kind, version, library, summary}], \"failures\": [{library, reason}]}.")
    var json = false

    func run() throws {
        let catalog = paths.catalog()
        if json {
            let plugins: [[String: String]] = catalog.plugins.map {
                ["name": $0.info.name, "kind": $0.info.kind.rawValue, "version": $0.info.version,
                 "library": $0.library, "summary": $0.info.summary]
            }
            let failures = catalog.failures.map { ["library": $0.library, "reason": $0.reason] }
            let data = try JSONSerialization.data(withJSONObject: ["plugins": plugins, "failures": failures],
                                                  options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if catalog.plugins.isEmpty { print("No plugins found.") }
        let nameWidth = max(4, catalog.plugins.map(\.info.name.count).max() ?? 0)
        let kindWidth = max(4, catalog.plugins.map(\.info.kind.rawValue.count).max() ?? 0)
        let versionWidth = max(7, catalog.plugins.map(\.info.version.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        if !catalog.plugins.isEmpty {
            print("\(pad("NAME", nameWidth))  \(pad("KIND", kindWidth))  \(pad("VERSION", versionWidth))  LIBRARY")
            for p in catalog.plugins.sorted(by: { ($0.info.kind.rawValue, $0.info.name) < ($1.info.kind.rawValue, $1.info.name) }) {
                print("\(pad(p.info.name, nameWidth))  \(pad(p.info.kind.rawValue, kindWidth))  \(pad(p.info.version, versionWidth))  \(p.library)")
            }
        }
        if !catalog.failures.isEmpty {
            print("\nLibraries that failed to load:")
            for f in catalog.failures { print("  \(f.library): \(f.reason)") }
        }
    }
}

struct DescribePlugin: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show a plugin's parameters: type, default, range, doc.")

    /// What the plugin states before any instance exists (its facts, ABI 2).
    static func factLines(_ info: PluginInfo) -> [String] {
        guard let f = info.facts else { return ["facts: none stated (a plugin built for ABI 1)"] }
        var lines = [String]()
        if !f.requiredConstraints.isEmpty { lines.append("needs constraints: " + f.requiredConstraints.joined(separator: ", ")) }
        if f.defaultSteps != nil || f.defaultStepSize != nil {
            lines.append("default optimiser: \(f.defaultSteps.map(String.init) ?? "60") steps of \(f.defaultStepSize.map { "\($0)" } ?? "1")")
        }
        if f.stepGeometry != .none { lines.append("step geometry: \(f.stepGeometry.rawValue)") }
        if !f.taps.isEmpty { lines.append((info.kind == .classifier ? "taps offered: " : "taps read: ") + f.taps.joined(separator: ", ")) }
        if let t = f.tapParameter { lines.append("reads the tap named by its parameter '\(t)'") }
        return lines
    }
    @OptionGroup var paths: PluginPathOptions
    @Argument(help: "The plugin's name, as `rsynth plugins` lists it.", completion: PluginCompletion.names()) var name: String
    @Flag(help: "Print the JSON Schema of the plugin's `with:` section instead.") var schema = false

    func run() throws {
        // A plugin whose summary depends on the machine (`pytorch`: which Python and torch it
        // would use) looks for this and only then does the work of finding out.
        setenv("RSYNTH_DESCRIBING", name, 1)
        let catalog = paths.catalog()
        guard let p = catalog.plugin(named: name) else {
            throw ValidationError(catalog.unknownPluginMessage(name, kind: nil))
        }
        if schema {
            print(JSONSchema.text(JSONSchema.pluginUse(p.info)), terminator: "")
            return
        }
        print("\(p.info.name) \(p.info.version) (\(p.info.kind.rawValue)): \(p.info.summary)")
        print("library: \(p.library) (plugin ABI \(p.abiVersion))")
        for line in Self.factLines(p.info) { print(line) }
        if p.info.parameters.isEmpty { print("\nNo parameters."); return }
        print("\nParameters (under `with:` in a spec):")
        for d in p.info.parameters {
            var facts = [d.type.description]
            facts.append(d.defaultValue.map { "default \($0.json)" } ?? "required")
            if let r = d.rangeText { facts.append("range \(r)") }
            if let c = d.choices { facts.append("one of \(c.joined(separator: ", "))") }
            print("  \(d.name) (\(facts.joined(separator: ", ")))")
            print("      \(d.doc)")
        }
    }
}

struct PluginSchema: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (2020-12) of pipeline specs for the plugins found.",
        discussion: "Schemas/pipeline.schema.json is this output for the plugins that ship with rsynth; point yaml-language-server at it.")
    @OptionGroup var paths: PluginPathOptions

    func run() throws {
        print(JSONSchema.text(JSONSchema.pipeline(plugins: paths.catalog().plugins.map(\.info))), terminator: "")
    }
}

/// `rsynth __scan-plugins LIB...`, not shown in --help: what a command runs in a child process to
/// vet libraries before opening them itself (PluginScanner). For each library in order it prints
/// "begin LIB", loads it, and prints "ok LIB" or "failed LIB: reason".
struct ScanPluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: PluginScanner.subcommand, abstract: "Vet plugin libraries (used internally).", shouldDisplay: false)
    @Argument(help: "Libraries to load.") var libraries: [String] = []

    func run() throws {
        let status = PluginScanner.runScanChild(libraries)
        if status != 0 { throw ExitCode(status) }
    }
}
