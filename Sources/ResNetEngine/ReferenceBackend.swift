import RobustSynthCore

/// The reference backend: ReferenceNet's plain NCHW loops, float32 only. Slow; the yardstick the
/// oneDNN path is tested against.
final class ReferenceBackend: ResNetBackendContext {
    static let entry = ResNetBackendEntry(
        name: "reference", summary: "plain loops (slow, for checking)", precisions: [.float32],
        make: { ReferenceBackend($0) })

    private let net: ReferenceNet

    init(_ c: ResNetBackendConfig) {
        net = ReferenceNet(weights: c.weights, mean: c.mean, std: c.std, inputSize: c.inputSize)
    }

    func forward(_ x: Tensor, sites: [TapSite]) throws -> (logits: Tensor, taps: [Tensor]) {
        let logits = net.forward(x)
        return (logits, sites.map { net.tap($0) })
    }

    func inputGradient(_ dlogits: Tensor, batch n: Int, sites: [TapSite], tapGradients: [TapSite: [Float]]) throws -> Tensor {
        net.inputGradient(dlogits, tapGradients: tapGradients)
    }

    func decisions(batch n: Int, sites: [TapSite]) throws -> ForwardDecisions { net.decisions() }
}
