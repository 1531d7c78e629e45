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
