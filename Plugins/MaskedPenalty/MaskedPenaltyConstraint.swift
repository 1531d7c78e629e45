import RobustSynthPluginSDK

/// The inpainting penalty of the paper: lambda * mean(((x0 - x) * (1 - m))^2) per example, where
/// m is 1 inside the region the task rewrites. It keeps the known pixels near the original while
/// the classifier fills the patch. lambda is not in the paper; MadryLab used 10.
final class MaskedPenaltyConstraint: Constraint, PluginFactory {
    static let info = PluginInfo(
        name: "masked-penalty", kind: .constraint, version: "1.0.0",
        summary: "Penalty lambda * mean(((x0 - x)(1 - mask))^2) that keeps pixels outside the task's mask",
        parameters: [
            ParameterDecl("lambda", .double, default: .double(10), minimum: 0,
                          doc: "Weight of the penalty against the cross-entropy (MadryLab used 10)"),
        ])

    let lambda: Double

    init(parameters: ParameterValues) throws {
        lambda = parameters.double("lambda")
    }

    var hasPenalty: Bool { true }
    var hasProjection: Bool { false }

    // x, x0, gradient: [n, C, H, W]; mask: [n, 1, H, W]; loss: [n].
    func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws {
        guard let mask = batch.mask else {
            throw PluginError("needs a task that marks a region (such as inpainting); this task made no mask")
        }
        let d = x.exampleCount, hw = x.shape[2] * x.shape[3]
        for i in 0..<x.batch {
            var sum = 0.0
            for j in 0..<d {
                let keep = 1 - Double(mask.data[i * hw + j % hw])
                let diff = Double(x.data[i * d + j] - batch.x0.data[i * d + j]) * keep
                sum += diff * diff
                gradient.data[i * d + j] += Float(lambda * 2 * diff * keep / Double(d))
            }
            loss[i] += Float(lambda * sum / Double(d))
        }
    }

    func project(_ batch: ConstraintBatch, x: inout Tensor) throws {}
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(MaskedPenaltyConstraint.self, hostABI: hostABI)
}
