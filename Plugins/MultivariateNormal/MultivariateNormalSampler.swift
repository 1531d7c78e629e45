import ImageIO
import RobustSynthPluginSDK

/// The seed paper's multivariate-normal seeds: fitted per class on images down-sampled to R x R, drawn,
/// clamped to [0, 1] and up-sampled to the classifier's size. The model comes from a file
/// (`rsynth seeds fit`) or a dataset folder fitted on first use and cached.
final class MultivariateNormalSampler: SeedSampler, PluginFactory {
    static let info = PluginInfo(
        name: "multivariate-normal", kind: .seedSampler, version: "1.0.0",
        summary: "Class-conditional multivariate normal with the empirical covariance at R x R (sampled through the centred data matrix), up-sampled",
        parameters: FittedSeedSamplerCore.parameters(for: .multivariateNormal))

    let core: FittedSeedSamplerCore

    init(parameters: ParameterValues) throws {
        core = try FittedSeedSamplerCore(distribution: .multivariateNormal, parameters: parameters)
    }

    func sample(_ request: SeedRequest, shape: ImageShape) throws -> (images: Tensor, labels: [Int]?) {
        try core.sample(request, shape: shape)
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(MultivariateNormalSampler.self, hostABI: hostABI)
}
