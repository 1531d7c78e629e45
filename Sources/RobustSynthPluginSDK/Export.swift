import CFFIBridge
import SynthPluginABI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one descriptor of this library (one plugin per library), built on first request.
nonisolated(unsafe) private var exportedDescriptor: UnsafeMutablePointer<synth_plugin_descriptor>?
nonisolated(unsafe) private var lastCreateError: UnsafeMutablePointer<CChar>?

/// The ABI version of the host that loaded this library (from synth_plugin_entry): fields an
/// older host's structs lack are never read.
enum PluginHostABI {
    nonisolated(unsafe) static var version: UInt32 = 1
}

/// Builds this library's descriptor for `P`. Call it from the library's `synth_plugin_entry`.
/// The host checks `abi_version` itself, so the descriptor is returned whatever `hostABI` is.
public func exportPlugin<P: PluginFactory>(_ type: P.Type, hostABI: UInt32) -> UnsafeRawPointer? {
    PluginHostABI.version = hostABI
    if let d = exportedDescriptor { return UnsafeRawPointer(d) }
    let info = P.info
    let d = UnsafeMutablePointer<synth_plugin_descriptor>.allocate(capacity: 1)
    d.initialize(to: synth_plugin_descriptor())
    d.pointee.abi_version = SYNTH_PLUGIN_ABI_VERSION
    d.pointee.struct_size = UInt32(MemoryLayout<synth_plugin_descriptor>.size)
    d.pointee.kind = info.kind.abiCode
    d.pointee.name = permanentCString(info.name)
    d.pointee.version = permanentCString(info.version)
    d.pointee.summary = permanentCString(info.summary)
    d.pointee.params = UnsafePointer(declarations(info.parameters))
    d.pointee.param_count = Int32(info.parameters.count)
    d.pointee.create = makeCreate(info.parameters) { try P(parameters: $0) }
    d.pointee.create_error = { lastCreateError.map { UnsafePointer($0) } }
    switch info.kind {
    case .classifier: d.pointee.iface = UnsafeRawPointer(classifierInterface)
    case .seedSampler: d.pointee.iface = UnsafeRawPointer(seedSamplerInterface)
    case .constraint: d.pointee.iface = UnsafeRawPointer(constraintInterface)
    case .task: d.pointee.iface = UnsafeRawPointer(taskInterface)
    }
    d.pointee.facts = info.facts.map(exportFacts)
    d.pointee.set_host_services = { services in adoptHostServices(services) }
    exportedDescriptor = d
    return UnsafeRawPointer(d)
}

/// The descriptor's synth_plugin_facts, permanent like the rest of it.
private func exportFacts(_ f: PluginFacts) -> UnsafePointer<synth_plugin_facts> {
    var c = synth_plugin_facts()
    c.struct_size = UInt32(MemoryLayout<synth_plugin_facts>.size)
    c.required_constraints = f.requiredConstraints.isEmpty ? nil : permanentCStringArray(f.requiredConstraints)
    c.default_steps = Int64(f.defaultSteps ?? 0)
    c.default_step_size = f.defaultStepSize ?? 0
    c.taps = f.taps.isEmpty ? nil : permanentCStringArray(f.taps)
    c.tap_parameter = f.tapParameter.map(permanentCString)
    c.step_geometry = f.stepGeometry.abiCode
    c.targets_are_not_classes = f.targetsAreNotClasses ? 1 : 0
    let p = UnsafeMutablePointer<synth_plugin_facts>.allocate(capacity: 1)
    p.initialize(to: c)
    return UnsafePointer(p)
}

/// Routes RobustSynthCore's HostServices to the host's C functions (read up to their struct_size).
private func adoptHostServices(_ services: UnsafePointer<synth_host_services>?) {
    guard let services else { return }
    var s = synth_host_services()
    withUnsafeMutableBytes(of: &s) { dst in
        let n = min(Int(services.pointee.struct_size), dst.count)
        dst.copyMemory(from: UnsafeRawBufferPointer(start: services, count: n))
    }
    nonisolated(unsafe) let host = s.host
    if let log = s.log {
        HostServices.logHandler = { message, warning in
            message.withCString { log(host, warning ? SYNTH_LOG_WARNING : SYNTH_LOG_INFO, $0) }
        }
    }
    if let progress = s.progress {
        HostServices.progressHandler = { fraction, what in what.withCString { progress(host, fraction, $0) } }
    }
    if let cancelled = s.cancelled { HostServices.cancelledHandler = { cancelled(host) != 0 } }
}

extension StepGeometry {
    var abiCode: Int32 {
        switch self {
        case .none: return SYNTH_STEP_NONE
        case .l2: return SYNTH_STEP_L2
        case .linf: return SYNTH_STEP_LINF
        case .unconstrained: return SYNTH_STEP_UNCONSTRAINED
        }
    }
}

extension PluginKind {
    var abiCode: Int32 {
        switch self {
        case .classifier: return SYNTH_KIND_CLASSIFIER
        case .seedSampler: return SYNTH_KIND_SEED_SAMPLER
        case .constraint: return SYNTH_KIND_CONSTRAINT
        case .task: return SYNTH_KIND_TASK
        }
    }
}

private func declarations(_ parameters: [ParameterDecl]) -> UnsafeMutablePointer<synth_param_decl> {
    let decls = UnsafeMutablePointer<synth_param_decl>.allocate(capacity: max(parameters.count, 1))
    for (i, p) in parameters.enumerated() {
        var d = synth_param_decl()
        d.name = permanentCString(p.name)
        d.type = p.type.abiCode
        d.default_json = p.defaultValue.map { permanentCString($0.json) }
        d.has_minimum = p.minimum == nil ? 0 : 1
        d.has_maximum = p.maximum == nil ? 0 : 1
        d.minimum = p.minimum ?? 0
        d.maximum = p.maximum ?? 0
        d.doc = permanentCString(p.doc)
        d.choices = p.choices.map(permanentCStringArray)
        (decls + i).initialize(to: d)
    }
    return decls
}

/// What the libffi closure needs to turn raw C arguments into ParameterValues and an instance.
private final class CreateContext {
    let parameters: [ParameterDecl]
    let make: (ParameterValues) throws -> AnyObject
    init(parameters: [ParameterDecl], make: @escaping (ParameterValues) throws -> AnyObject) {
        self.parameters = parameters; self.make = make
    }
}

/// A real C function `void *create(<typed args>)` made at run time with a libffi closure, so
/// a Swift plugin is called exactly like a C one.
private func makeCreate(_ parameters: [ParameterDecl],
                        make: @escaping (ParameterValues) throws -> AnyObject) -> (@convention(c) () -> Void)? {
    let kinds: [Int32] = parameters.flatMap { $0.type.cArgumentKinds.map(ffiCode) }
    let context = Unmanaged.passRetained(CreateContext(parameters: parameters, make: make)).toOpaque()
    return kinds.withUnsafeBufferPointer { k in
        rs_ffi_make_closure(k.baseAddress, Int32(k.count), { userData, args in
            let ctx = Unmanaged<CreateContext>.fromOpaque(userData!).takeUnretainedValue()
            let values = decodeArguments(ctx.parameters, args!)
            do {
                let object = try ctx.make(values)
                return Unmanaged.passRetained(InstanceBox(object)).toOpaque()
            } catch {
                free(lastCreateError)
                lastCreateError = strdup(String(describing: error))
                return nil
            }
        }, context)
    }
}

func ffiCode(_ kind: CArgumentKind) -> Int32 {
    switch kind {
    case .int32: return RS_FFI_SINT32
    case .int64: return RS_FFI_SINT64
    case .double: return RS_FFI_DOUBLE
    case .pointer: return RS_FFI_POINTER
    }
}

private func decodeArguments(_ parameters: [ParameterDecl],
                             _ args: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> ParameterValues {
    var values = [String: ParameterValue]()
    var slot = 0
    for p in parameters {
        if case .list(let element) = p.type {
            let items = args[slot]!.load(as: UnsafeRawPointer?.self)
            let count = Int(args[slot + 1]!.load(as: Int64.self))
            slot += 2
            values[p.name] = .list((0..<count).map { decodeElement(element, items!, $0) })
        } else {
            values[p.name] = decodeElement(p.type, UnsafeRawPointer(args[slot]!), 0)
            slot += 1
        }
    }
    return ParameterValues(values)
}

private func decodeElement(_ type: ParameterType, _ items: UnsafeRawPointer, _ i: Int) -> ParameterValue {
    switch type {
    case .bool: return .bool(items.load(fromByteOffset: i * 4, as: Int32.self) != 0)
    case .int: return .int(items.load(fromByteOffset: i * 8, as: Int64.self))
    case .double: return .double(items.load(fromByteOffset: i * 8, as: Double.self))
    default:
        let s = items.load(fromByteOffset: i * MemoryLayout<UnsafeRawPointer>.size, as: UnsafePointer<CChar>?.self)
        return .string(s.map { String(cString: $0) } ?? "")
    }
}
