@_exported import RobustSynthCore

/// What a Swift plugin adds to its conformance (Classifier, SeedSampler, Constraint or
/// SynthesisTask): its description and a way to make one from validated parameters.
///
///     final class MySampler: SeedSampler, PluginFactory { ... }
///     @_cdecl("synth_plugin_entry")
///     public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
///         exportPlugin(MySampler.self, hostABI: hostABI)
///     }
public protocol PluginFactory: AnyObject {
    static var info: PluginInfo { get }
    init(parameters: ParameterValues) throws
}

/// A Swift task's optimiser defaults and needed constraints come from its static facts, so
/// that the host can read them without creating it.
extension SynthesisTask where Self: PluginFactory {
    public var requiredConstraints: [String] { Self.info.facts?.requiredConstraints ?? [] }
    public var defaultSteps: Int { Self.info.facts?.defaultSteps ?? 60 }
    public var defaultStepSize: Double { Self.info.facts?.defaultStepSize ?? 1 }
}

/// A Swift constraint's step geometry is its static fact.
extension Constraint where Self: PluginFactory {
    public var stepGeometry: StepGeometry { Self.info.facts?.stepGeometry ?? .none }
}
