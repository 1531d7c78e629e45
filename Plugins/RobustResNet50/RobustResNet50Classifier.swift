import ResNetEngine
import RobustSynthPluginSDK

/// An adversarially robust ResNet from a MadryLab `robustness` checkpoint (such as
/// imagenet_l2_3_0.pt), normalising inputs with the checkpoint's own stored normaliser.
final class RobustResNet50Classifier: ForwardingClassifier, PluginFactory {
    static let info = PluginInfo(
        name: "robust-resnet50", kind: .classifier, version: "1.0.0",
        summary: "Robust ResNet (50 or any depth) from a MadryLab robustness checkpoint, with its stored normaliser",
        parameters: [
            ParameterDecl("weights", .path, doc: "MadryLab checkpoint (.pt, legacy or zip), e.g. imagenet_l2_3_0.pt"),
            ParameterDecl("input_size", .int, default: .int(224), minimum: 8, maximum: 2048, doc: "Input height and width"),
        ] + EngineParameters.declarations,
        facts: PluginFacts(taps: ResNet.tapPatterns))

    let base: Classifier

    init(parameters: ParameterValues) throws {
        let path = parameters.string("weights")
        let w = try ResNetFile.weights(path)
        guard let n = w.normalizer else {
            throw PluginError("\(path) is a \(w.layout.rawValue)-layout state dict without module.normalizer.new_mean/new_std, not a MadryLab robustness checkpoint: for torchvision weights use the resnet50 plugin")
        }
        base = try ResNet(weights: w, mean: n.mean, std: n.std, inputSize: parameters.int("input_size"),
                         backend: EngineParameters.backend(parameters), precision: EngineParameters.precision(parameters))
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(RobustResNet50Classifier.self, hostABI: hostABI)
}
