import ImageIO
import RobustSynthPluginSDK

/// The seed paper's univariate-normal seeds: fitted per class on images down-sampled to R x R, drawn,
/// clamped to [0, 1] and up-sampled to the classifier's size. The model comes from a file
/// (`rsynth seeds fit`) or a dataset folder fitted on first use and cached.
final class UnivariateNormalSampler: SeedSampler, PluginFactory {
    static let info = PluginInfo(
        name: "univariate-normal", kind: .seedSampler, version: "1.0.0",
        summary: "Class-conditional independent normal per pixel (fitted mean and variance at R x R, up-sampled)",
        parameters: FittedSeedSamplerCore.parameters(for: .univariateNormal))

    let core: FittedSeedSamplerCore

    init(parameters: ParameterValues) throws {
        core = try FittedSeedSamplerCore(distribution: .univariateNormal, parameters: parameters)
    }

    func sample(_ request: SeedRequest, shape: ImageShape) throws -> (images: Tensor, labels: [Int]?) {
        try core.sample(request, shape: shape)
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(UnivariateNormalSampler.self, hostABI: hostABI)
}
