import RobustSynthPluginSDK

/// Keeps every pixel within eps of its starting value (x0 + clamp(x - x0, -eps, eps), the
/// robustness library's LinfStep.project) and pairs with the sign step x - alpha * sign(g).
final class LinfBallConstraint: Constraint, PluginFactory {
    static let info = PluginInfo(
        name: "linf-ball", kind: .constraint, version: "1.0.0",
        summary: "Projection onto the L-infinity box of half-width eps around the starting image; sign steps",
        parameters: [
            ParameterDecl("eps", .double, minimum: 0,
                          doc: "Largest change of any pixel, in [0,1] units (e.g. 8/255 = 0.0314; 0.5 and more lets pixels go anywhere)"),
        ],
        facts: PluginFacts(stepGeometry: .linf))

    let eps: Double

    init(parameters: ParameterValues) throws {
        eps = parameters.double("eps")
    }

    var hasPenalty: Bool { false }
    var hasProjection: Bool { true }
    var hasRandomStart: Bool { true }

    func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws {}

    func project(_ batch: ConstraintBatch, x: inout Tensor) throws {
        projectOntoLinfBall(&x, center: batch.x0, radius: eps)
    }

    func randomStart(_ batch: ConstraintBatch, x: inout Tensor, seeds: [UInt64], stepSize: Double) throws {
        RandomStart.apply(.linf, &x, seeds: seeds, eps: eps, stepSize: stepSize)
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(LinfBallConstraint.self, hostABI: hostABI)
}
