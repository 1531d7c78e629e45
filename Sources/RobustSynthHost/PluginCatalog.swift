import Foundation
import RobustSynthCore
import Yams

/// The plugins found on the search path, by name, and the libraries that failed.
public final class PluginCatalog {
    public let plugins: [LoadedPlugin]
    public let failures: [LoadFailure]

    public init(plugins: [LoadedPlugin], failures: [LoadFailure]) {
        self.plugins = plugins
        self.failures = failures
    }

    /// Discovers plugins: `pluginPaths` first, then RSYNTH_PLUGIN_PATH, then next to the executable.
    /// With a scanner, libraries are vetted in a child process first (see PluginScanner).
    public static func discover(pluginPaths: [String] = [],
                                environment: [String: String] = ProcessInfo.processInfo.environment,
                                scanner: PluginScanner? = nil) -> PluginCatalog {
        let found = PluginLoader.discover(searchPath: PluginLoader.searchPath(pluginPaths: pluginPaths, environment: environment),
                                          scanner: scanner)
        return PluginCatalog(plugins: found.plugins, failures: found.failures)
    }

    public func plugin(named name: String) -> LoadedPlugin? { plugins.first { $0.info.name == name } }

    public func names(of kind: PluginKind? = nil) -> [String] {
        plugins.filter { kind == nil || $0.info.kind == kind }.map(\.info.name)
    }

    /// "unknown task plugin 'genration' (did you mean 'generation'?)" and the like.
    public func unknownPluginMessage(_ name: String, kind: PluginKind?) -> String {
        var message = "unknown \(kind.map { "\($0.rawValue) " } ?? "")plugin '\(name)'"
        if let near = closestMatch(to: name, in: names(of: kind)) {
            message += " (did you mean '\(near)'?)"
        } else if let k = kind {
            let available = names(of: k)
            message += available.isEmpty ? " (no \(k.rawValue) plugins were found)" : " (available: \(available.joined(separator: ", ")))"
        }
        return message
    }

    /// Looks a plugin up by name and kind, or throws the message a user should see.
    public func require(_ name: String, kind: PluginKind) throws -> LoadedPlugin {
        guard let p = plugin(named: name) else { throw HostedPluginError(plugin: name, message: unknownPluginMessage(name, kind: kind)) }
        guard p.info.kind == kind else {
            throw HostedPluginError(plugin: name, message: "is a \(p.info.kind.rawValue), not a \(kind.rawValue)")
        }
        return p
    }

    /// Fills defaults and checks `values` against the plugin's declarations (for commands that
    /// build parameters themselves rather than from a spec).
    public func resolve(_ plugin: LoadedPlugin, _ values: [String: ParameterValue]) throws -> ParameterValues {
        var out = [String: ParameterValue]()
        for name in values.keys where !plugin.info.parameters.contains(where: { $0.name == name }) {
            throw HostedPluginError(plugin: plugin.info.name, message: "has no parameter '\(name)'")
        }
        for decl in plugin.info.parameters {
            guard let v = values[decl.name] ?? decl.defaultValue else {
                throw HostedPluginError(plugin: plugin.info.name, message: "needs parameter '\(decl.name)'")
            }
            if let problem = ParameterConversion.checkRange(v, decl) {
                throw HostedPluginError(plugin: plugin.info.name, message: "parameter '\(decl.name)' \(problem)")
            }
            out[decl.name] = v
        }
        return ParameterValues(out)
    }

    public func makeClassifier(_ plugin: LoadedPlugin, _ values: ParameterValues) throws -> HostedClassifier {
        try HostedClassifier(plugin, created: plugin.create(values))
    }
    public func makeSeedSampler(_ plugin: LoadedPlugin, _ values: ParameterValues) throws -> HostedSeedSampler {
        HostedSeedSampler(plugin, created: try plugin.create(values))
    }
    public func makeConstraint(_ plugin: LoadedPlugin, _ values: ParameterValues) throws -> HostedConstraint {
        HostedConstraint(plugin, created: try plugin.create(values))
    }
    public func makeTask(_ plugin: LoadedPlugin, _ values: ParameterValues) throws -> HostedTask {
        HostedTask(plugin, created: try plugin.create(values))
    }

    /// Parameters written on a command line as `name=value` (value in YAML: `32`, `[0.5, 0.5]`,
    /// `nearest`), checked against the plugin's declarations.
    public func values(fromAssignments assignments: [String], for plugin: LoadedPlugin) throws -> [String: ParameterValue] {
        var values = [String: ParameterValue]()
        for a in assignments {
            guard let eq = a.firstIndex(of: "=") else {
                throw HostedPluginError(plugin: plugin.info.name, message: "'\(a)' is not NAME=VALUE")
            }
            let name = String(a[..<eq]), text = String(a[a.index(after: eq)...])
            guard let decl = plugin.info.parameters.first(where: { $0.name == name }) else {
                var message = "has no parameter '\(name)'"
                if let near = closestMatch(to: name, in: plugin.info.parameters.map(\.name)) { message += " (did you mean '\(near)'?)" }
                throw HostedPluginError(plugin: plugin.info.name, message: message)
            }
            guard let node = try? Yams.compose(yaml: text) else {
                throw HostedPluginError(plugin: plugin.info.name, message: "cannot read the value of '\(name)': \(text)")
            }
            switch ParameterConversion.convert(node, to: decl) {
            case .success(.string(let path)) where decl.type == .path:
                values[name] = .string(URL(fileURLWithPath: path).standardizedFileURL.path)  // relative to the working directory
            case .success(let v): values[name] = v
            case .failure(let p): throw HostedPluginError(plugin: plugin.info.name, message: p.message)
            }
        }
        return values
    }

    /// A classifier by name with parameters given as values (e.g. `rsynth classify`).
    public func classifier(_ name: String, _ values: [String: ParameterValue]) throws -> HostedClassifier {
        let p = try require(name, kind: .classifier)
        return try makeClassifier(p, resolve(p, values))
    }
}
