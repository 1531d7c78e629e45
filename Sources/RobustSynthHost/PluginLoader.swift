import Foundation
import RobustSynthCore
import SynthPluginABI

/// A plugin found in a library and accepted by the host.
public struct LoadedPlugin: @unchecked Sendable {
    public let info: PluginInfo
    /// Absolute path of the library it came from.
    public let library: String
    let descriptor: UnsafePointer<synth_plugin_descriptor>
}

/// A library that could not be used, and why.
public struct LoadFailure: Error, Sendable, Equatable {
    public let library: String
    public let reason: String
}

/// Finds plugin libraries, opens them and checks what they export. Never crashes on a bad
/// library: each problem becomes a LoadFailure and discovery goes on.
public enum PluginLoader {
    public static let hostABIVersion: UInt32 = SYNTH_PLUGIN_ABI_VERSION

    /// Where to look, in order: `--plugin-path` entries, then RSYNTH_PLUGIN_PATH (colon-separated),
    /// then the folder of the running executable.
    public static func searchPath(pluginPaths: [String],
                                  environment: [String: String] = ProcessInfo.processInfo.environment,
                                  executableDirectory: String? = executableDirectory()) -> [String] {
        var dirs = pluginPaths
        if let env = environment["RSYNTH_PLUGIN_PATH"] {
            dirs += env.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        if let e = executableDirectory { dirs.append(e) }
        return dirs
    }

    public static func executableDirectory() -> String? {
        guard let exe = Bundle.main.executablePath ?? CommandLine.arguments.first else { return nil }
        return URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    /// The shared libraries in `entry` (a folder, or a single library file), sorted by name.
    static func libraries(in entry: String) -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: entry, isDirectory: &isDir) else { return [] }
        let absolute = URL(fileURLWithPath: entry).standardizedFileURL.path
        if !isDir.boolValue { return [absolute] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: absolute)) ?? []
        return names.filter { $0.hasSuffix(".so") || $0.hasSuffix(".dylib") }.sorted()
            .map { (absolute as NSString).appendingPathComponent($0) }
    }

    /// Opens every library on the search path. A library seen twice (same real path) is opened
    /// once; a second plugin with a name already taken is skipped and reported.
    public static func discover(searchPath: [String]) -> (plugins: [LoadedPlugin], failures: [LoadFailure]) {
        var plugins = [LoadedPlugin]()
        var failures = [LoadFailure]()
        var seen = Set<String>()
        for entry in searchPath {
            for library in libraries(in: entry) {
                let real = URL(fileURLWithPath: library).resolvingSymlinksInPath().path
                if !seen.insert(real).inserted { continue }
                switch load(library) {
                case .success(let p):
                    if let first = plugins.first(where: { $0.info.name == p.info.name }) {
                        failures.append(LoadFailure(library: library, reason:
                            "duplicate plugin name '\(p.info.name)': already loaded from \(first.library); this copy is skipped"))
                    } else {
                        plugins.append(p)
                    }
                case .failure(let f): failures.append(f)
                }
            }
        }
        return (plugins, failures)
    }

    /// Opens one library (RTLD_NOW | RTLD_LOCAL; never closed: Swift images cannot be unloaded).
    public static func load(_ library: String) -> Result<LoadedPlugin, LoadFailure> {
        func fail(_ reason: String) -> Result<LoadedPlugin, LoadFailure> {
            .failure(LoadFailure(library: library, reason: reason))
        }
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            let message = dlerror().map { String(cString: $0) } ?? "unknown error"
            return fail("cannot be opened: \(message)")
        }
        guard let symbol = dlsym(handle, SYNTH_PLUGIN_ENTRY_SYMBOL) else {
            return fail("not a RobustSynth plugin: it exports no \(SYNTH_PLUGIN_ENTRY_SYMBOL) symbol")
        }
        let entry = unsafeBitCast(symbol, to: synth_plugin_entry_fn.self)
        guard let d = entry(hostABIVersion) else {
            return fail("\(SYNTH_PLUGIN_ENTRY_SYMBOL) returned no descriptor (the plugin refused host ABI version \(hostABIVersion))")
        }
        // Read the two leading fields first: they are the same in every ABI version.
        let raw = UnsafeRawPointer(d)
        let abi = raw.load(as: UInt32.self)
        let size = raw.load(fromByteOffset: 4, as: UInt32.self)
        if abi != hostABIVersion {
            return fail(abiMismatch(plugin: abi, host: hostABIVersion))
        }
        let needed = MemoryLayout<synth_plugin_descriptor>.size
        if Int(size) < needed {
            return fail("its descriptor is \(size) bytes but ABI version \(abi) needs \(needed): the library was built against a damaged or modified synth_plugin.h; rebuild it against this rsynth's header")
        }
        switch describe(d.pointee) {
        case .success(let info): return .success(LoadedPlugin(info: info, library: library, descriptor: d))
        case .failure(let reason): return fail(reason.reason)
        }
    }

    public static func abiMismatch(plugin: UInt32, host: UInt32) -> String {
        let advice = plugin > host
            ? "upgrade rsynth to one that speaks version \(plugin), or rebuild the plugin against this rsynth's synth_plugin.h"
            : "rebuild the plugin against this rsynth's synth_plugin.h (version \(host))"
        return "built for plugin ABI version \(plugin), but this rsynth speaks ABI version \(host): \(advice)"
    }

    struct Invalid: Error { let reason: String }

    /// Reads the descriptor into Swift values, checking everything the host will rely on.
    static func describe(_ d: synth_plugin_descriptor) -> Result<PluginInfo, Invalid> {
        guard let namePtr = d.name, !String(cString: namePtr).isEmpty else {
            return .failure(Invalid(reason: "its descriptor has no name"))
        }
        let name = String(cString: namePtr)
        let kind: PluginKind
        switch d.kind {
        case SYNTH_KIND_CLASSIFIER: kind = .classifier
        case SYNTH_KIND_SEED_SAMPLER: kind = .seedSampler
        case SYNTH_KIND_CONSTRAINT: kind = .constraint
        case SYNTH_KIND_TASK: kind = .task
        default: return .failure(Invalid(reason: "plugin '\(name)' has unknown kind \(d.kind)"))
        }
        guard d.create != nil else { return .failure(Invalid(reason: "plugin '\(name)' has no create function")) }
        guard let iface = d.iface else { return .failure(Invalid(reason: "plugin '\(name)' has no interface table")) }
        if let problem = checkInterface(kind: kind, iface: iface) {
            return .failure(Invalid(reason: "plugin '\(name)': \(problem)"))
        }
        var parameters = [ParameterDecl]()
        for i in 0..<Int(max(d.param_count, 0)) {
            guard let params = d.params else { return .failure(Invalid(reason: "plugin '\(name)' declares \(d.param_count) parameters but no table")) }
            switch ParameterDeclReader.read(params[i]) {
            case .success(let p): parameters.append(p)
            case .failure(let e): return .failure(Invalid(reason: "plugin '\(name)', parameter \(i + 1): \(e.reason)"))
            }
        }
        let info = PluginInfo(name: name, kind: kind,
                              version: d.version.map { String(cString: $0) } ?? "unversioned",
                              summary: d.summary.map { String(cString: $0) } ?? "", parameters: parameters)
        return .success(info)
    }

    /// The functions every kind must provide (optional ones may be NULL).
    static func checkInterface(kind: PluginKind, iface: UnsafeRawPointer) -> String? {
        switch kind {
        case .classifier:
            let i = iface.assumingMemoryBound(to: synth_classifier_iface.self).pointee
            if i.info == nil || i.forward == nil || i.input_gradient == nil || i.destroy == nil {
                return "its classifier table lacks info, forward, input_gradient or destroy"
            }
        case .seedSampler:
            let i = iface.assumingMemoryBound(to: synth_seed_sampler_iface.self).pointee
            if i.sample == nil || i.destroy == nil { return "its seed-sampler table lacks sample or destroy" }
        case .constraint:
            let i = iface.assumingMemoryBound(to: synth_constraint_iface.self).pointee
            if (i.penalty == nil && i.project == nil) || i.destroy == nil {
                return "its constraint table has neither penalty nor project, or lacks destroy"
            }
        case .task:
            let i = iface.assumingMemoryBound(to: synth_task_iface.self).pointee
            if i.plan == nil || i.item == nil || i.prepare == nil || i.destroy == nil {
                return "its task table lacks plan, item, prepare or destroy"
            }
        }
        return nil
    }
}
