import RobustSynthPluginSDK

/// Keeps every iterate within an L2 ball of radius eps around its starting point x0:
/// delta = x - x0 is renormed as torch.renorm does (robustness library's L2Step.project), and
/// pairs with the L2-normalised step.
final class L2BallConstraint: Constraint, PluginFactory {
    static let info = PluginInfo(
        name: "l2-ball", kind: .constraint, version: "1.1.0",
        summary: "Projection onto the L2 ball of radius eps around the starting image; L2-normalised steps",
        parameters: [
            ParameterDecl("eps", .double, minimum: 0,
                          doc: "Radius of the ball in [0,1] pixel units (paper: 40 generation, 21 inpainting, 8 super-resolution, 60 translation at 224x224)"),
        ],
        facts: PluginFacts(stepGeometry: .l2))

    let eps: Double

    init(parameters: ParameterValues) throws {
        eps = parameters.double("eps")
    }

    var hasPenalty: Bool { false }
    var hasProjection: Bool { true }
    var hasRandomStart: Bool { true }

    func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws {}

    func project(_ batch: ConstraintBatch, x: inout Tensor) throws {
        projectOntoL2Ball(&x, center: batch.x0, radius: eps)
    }

    func randomStart(_ batch: ConstraintBatch, x: inout Tensor, seeds: [UInt64], stepSize: Double) throws {
        RandomStart.apply(.l2, &x, seeds: seeds, eps: eps, stepSize: stepSize)
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(L2BallConstraint.self, hostABI: hostABI)
}
