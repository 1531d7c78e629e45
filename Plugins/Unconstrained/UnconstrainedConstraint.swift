import RobustSynthPluginSDK

/// No set around x0: the plain gradient step x - alpha * g, then only the clamp to [0, 1]
/// (the robustness library's UnconstrainedStep). Its step is per example: the library's shrinks
/// with the batch size because it steps on the batch mean's gradient.
final class UnconstrainedConstraint: Constraint, PluginFactory {
    static let info = PluginInfo(
        name: "unconstrained", kind: .constraint, version: "1.0.0",
        summary: "No bound around the start: plain gradient steps, clamped to [0, 1] only",
        parameters: [],
        facts: PluginFacts(stepGeometry: .unconstrained))

    init(parameters: ParameterValues) throws {}

    var hasPenalty: Bool { false }
    var hasProjection: Bool { false }
    var hasRandomStart: Bool { true }

    func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws {}
    func project(_ batch: ConstraintBatch, x: inout Tensor) throws {}

    func randomStart(_ batch: ConstraintBatch, x: inout Tensor, seeds: [UInt64], stepSize: Double) throws {
        RandomStart.apply(.unconstrained, &x, seeds: seeds, eps: 0, stepSize: stepSize)
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(UnconstrainedConstraint.self, hostABI: hostABI)
}
