import Foundation
import RobustSynthCore
import SynthPluginABI

/// A plugin found in a library and accepted by the host.
public struct LoadedPlugin: @unchecked Sendable {
    public let info: PluginInfo
    /// Absolute path of the library it came from.
    public let library: String
    /// The plugin's descriptor as this host reads it: the first min(plugin size, host size)
    /// bytes, the rest zero (fields an older plugin did not know read as absent).
    let descriptor: synth_plugin_descriptor
    /// The plugin ABI version it was built for.
    public let abiVersion: UInt32

    /// The plugin's interface table, copied the same way.
    func interface<T>(_ type: T.Type) -> T { ABIStruct.read(T.self, from: descriptor.iface!) }
}

/// Reading a struct that grows only at the end across the boundary: copy as many bytes as both
/// sides know (its leading uint32_t struct_size says how many the plugin's has) into a zeroed one.
enum ABIStruct {
    static func size(at p: UnsafeRawPointer) -> Int { Int(p.load(as: UInt32.self)) }

    static func read<T>(_ type: T.Type, from p: UnsafeRawPointer, size known: Int? = nil) -> T {
        let value = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        defer { value.deallocate() }
        value.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.size)
        value.copyMemory(from: p, byteCount: min(known ?? size(at: p), MemoryLayout<T>.size))
        return value.load(as: T.self)
    }
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
    /// The oldest plugin ABI still loaded: ABI 1's structs are prefixes of ABI 2's.
    public static let oldestABIVersion: UInt32 = SYNTH_PLUGIN_ABI_MIN_VERSION
    /// The smallest descriptor any supported ABI has (ABI 1 ends at `iface`).
    static let abi1DescriptorSize = MemoryLayout<synth_plugin_descriptor>.offset(of: \synth_plugin_descriptor.iface)!
        + MemoryLayout<UnsafeRawPointer?>.size

    /// Where an installed rsynth keeps its plugins, relative to the folder of the executable:
    /// `PREFIX/bin/rsynth` looks in `PREFIX/lib/rsynth/plugins` (see scripts/install.sh).
    public static let installedPluginFolder = "../lib/rsynth/plugins"

    /// Where to look, in order: `--plugin-path` entries, then RSYNTH_PLUGIN_PATH (colon-separated),
    /// then, for an installed rsynth (one with `../lib/rsynth/plugins` beside it), that folder;
    /// otherwise the folder of the running executable (a build folder). An installed rsynth's
    /// own folder is a bin folder, not a plugin folder: Debian's /usr/bin holds ld.so.
    public static func searchPath(pluginPaths: [String],
                                  environment: [String: String] = ProcessInfo.processInfo.environment,
                                  executableDirectory: String? = executableDirectory(),
                                  isFolder: (String) -> Bool = { var d: ObjCBool = false
                                      return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && d.boolValue }) -> [String] {
        var dirs = pluginPaths
        if let env = environment["RSYNTH_PLUGIN_PATH"] {
            dirs += env.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        if let e = executableDirectory {
            let installed = URL(fileURLWithPath: e).appendingPathComponent(installedPluginFolder).standardizedFileURL.path
            dirs.append(isFolder(installed) ? installed : e)
        }
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
    /// once; a second plugin with a name already taken is skipped and reported. With a scanner,
    /// each library is first vetted in a child process, and one that failed there (crashed, hung,
    /// or was refused) is reported with that reason and never opened here.
    public static func discover(searchPath: [String], scanner: PluginScanner? = nil) -> (plugins: [LoadedPlugin], failures: [LoadFailure]) {
        var plugins = [LoadedPlugin]()
        var failures = [LoadFailure]()
        var seen = Set<String>()
        var found = [String]()
        for entry in searchPath {
            for library in libraries(in: entry) {
                let real = URL(fileURLWithPath: library).resolvingSymlinksInPath().path
                if seen.insert(real).inserted { found.append(library) }
            }
        }
        let vetted = scanner?.scan(found) ?? [:]
        for library in found {
            if case .failed(let reason)? = vetted[library] {
                failures.append(LoadFailure(library: library, reason: reason))
                continue
            }
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
        if abi < oldestABIVersion || abi > hostABIVersion {
            return fail(abiMismatch(plugin: abi, host: hostABIVersion))
        }
        if Int(size) < abi1DescriptorSize {
            return fail("its descriptor is \(size) bytes but ABI version \(abi) needs at least \(abi1DescriptorSize): the library was built against a damaged or modified synth_plugin.h; rebuild it against this rsynth's header")
        }
        let descriptor = ABIStruct.read(synth_plugin_descriptor.self, from: raw, size: Int(size))
        switch describe(descriptor) {
        case .success(let info):
            descriptor.set_host_services?(HostServiceTable.shared(for: info.name))
            return .success(LoadedPlugin(info: info, library: library, descriptor: descriptor, abiVersion: abi))
        case .failure(let reason): return fail(reason.reason)
        }
    }

    public static func abiMismatch(plugin: UInt32, host: UInt32) -> String {
        let advice = plugin > host
            ? "upgrade rsynth to one that speaks version \(plugin), or rebuild the plugin against this rsynth's synth_plugin.h"
            : "rebuild the plugin against this rsynth's synth_plugin.h (version \(host))"
        let speaks = oldestABIVersion == host ? "ABI version \(host)" : "ABI versions \(oldestABIVersion) to \(host)"
        return "built for plugin ABI version \(plugin), but this rsynth speaks \(speaks): \(advice)"
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
        var facts: PluginFacts? = nil
        if let f = d.facts {
            switch readFacts(ABIStruct.read(synth_plugin_facts.self, from: UnsafeRawPointer(f)), parameters: parameters) {
            case .success(let v): facts = v
            case .failure(let e): return .failure(Invalid(reason: "plugin '\(name)': \(e.reason)"))
            }
        }
        let info = PluginInfo(name: name, kind: kind,
                              version: d.version.map { String(cString: $0) } ?? "unversioned",
                              summary: d.summary.map { String(cString: $0) } ?? "", parameters: parameters, facts: facts)
        return .success(info)
    }

    static func strings(_ list: UnsafePointer<UnsafePointer<CChar>?>?) -> [String] {
        guard let list else { return [] }
        var out = [String]()
        var i = 0
        while let s = list[i], i < 10_000 { out.append(String(cString: s)); i += 1 }
        return out
    }

    static func readFacts(_ f: synth_plugin_facts, parameters: [ParameterDecl]) -> Result<PluginFacts, Invalid> {
        let geometry: StepGeometry
        switch f.step_geometry {
        case SYNTH_STEP_NONE: geometry = .none
        case SYNTH_STEP_L2: geometry = .l2
        case SYNTH_STEP_LINF: geometry = .linf
        case SYNTH_STEP_UNCONSTRAINED: geometry = .unconstrained
        default: return .failure(Invalid(reason: "its facts state unknown step geometry \(f.step_geometry)"))
        }
        let tapParameter = f.tap_parameter.map { String(cString: $0) }
        if let t = tapParameter, !parameters.contains(where: { $0.name == t && $0.type == .string }) {
            return .failure(Invalid(reason: "its facts name tap parameter '\(t)', which is not one of its string parameters"))
        }
        guard f.default_steps >= 0, f.default_step_size >= 0, f.default_step_size.isFinite else {
            return .failure(Invalid(reason: "its facts state negative optimiser defaults"))
        }
        return .success(PluginFacts(requiredConstraints: strings(f.required_constraints),
                                    defaultSteps: f.default_steps > 0 ? Int(f.default_steps) : nil,
                                    defaultStepSize: f.default_step_size > 0 ? f.default_step_size : nil,
                                    taps: strings(f.taps), tapParameter: tapParameter, stepGeometry: geometry,
                                    targetsAreNotClasses: f.targets_are_not_classes != 0))
    }

    /// The functions every kind must provide (optional ones may be NULL).
    static func checkInterface(kind: PluginKind, iface: UnsafeRawPointer) -> String? {
        switch kind {
        case .classifier:
            let i = ABIStruct.read(synth_classifier_iface.self, from: iface)
            if i.info == nil || i.forward == nil || i.input_gradient == nil || i.destroy == nil {
                return "its classifier table lacks info, forward, input_gradient or destroy"
            }
            let taps = [i.tap_count == nil, i.tap_info == nil, i.forward_taps == nil, i.input_gradient_taps == nil]
            if Set(taps).count > 1 {
                return "its classifier table has some of tap_count, tap_info, forward_taps, input_gradient_taps but not all four"
            }
        case .seedSampler:
            let i = ABIStruct.read(synth_seed_sampler_iface.self, from: iface)
            if i.sample == nil || i.destroy == nil { return "its seed-sampler table lacks sample or destroy" }
        case .constraint:
            let i = ABIStruct.read(synth_constraint_iface.self, from: iface)
            if (i.penalty == nil && i.project == nil && i.step == nil) || i.destroy == nil {
                return "its constraint table has none of penalty, project and step, or lacks destroy"
            }
        case .task:
            let i = ABIStruct.read(synth_task_iface.self, from: iface)
            if i.plan == nil || i.item == nil || i.prepare == nil || i.destroy == nil {
                return "its task table lacks plan, item, prepare or destroy"
            }
        }
        return nil
    }
}
