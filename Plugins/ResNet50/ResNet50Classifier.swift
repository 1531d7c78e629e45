import ResNetEngine
import RobustSynthPluginSDK

/// A standard ResNet from torchvision weights (such as resnet50-11ad3fa6.pth), with ImageNet's
/// normalisation unless told otherwise.
final class ResNet50Classifier: ForwardingClassifier, PluginFactory {
    static let info = PluginInfo(
        name: "resnet50", kind: .classifier, version: "1.0.0",
        summary: "Standard ResNet (50 or any depth) from torchvision weights (.pth or .safetensors)",
        parameters: [
            ParameterDecl("weights", .path, doc: "torchvision state dict (.pth, .pt or .safetensors), e.g. resnet50-11ad3fa6.pth"),
            ParameterDecl("input_size", .int, default: .int(224), minimum: 8, maximum: 2048, doc: "Input height and width"),
            ParameterDecl("mean", .list(.double), default: .list([.double(0.485), .double(0.456), .double(0.406)]),
                          doc: "Per-channel mean subtracted from [0,1] inputs (ImageNet's by default)"),
            ParameterDecl("std", .list(.double), default: .list([.double(0.229), .double(0.224), .double(0.225)]),
                          minimum: 1e-6, doc: "Per-channel standard deviation inputs are divided by"),
        ] + EngineParameters.declarations,
        facts: PluginFacts(taps: ResNet.tapPatterns))

    let base: Classifier

    init(parameters: ParameterValues) throws {
        base = try ResNet.load(parameters.string("weights"), inputSize: parameters.int("input_size"),
                               mean: parameters.doubles("mean").map(Float.init), std: parameters.doubles("std").map(Float.init),
                               backend: EngineParameters.backend(parameters), precision: EngineParameters.precision(parameters))
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(ResNet50Classifier.self, hostABI: hostABI)
}
