import RobustSynthCore

extension ResNet {
    /// The taps a ResNet may offer, as the plugins' static facts state them (fnmatch patterns):
    /// each stage's output, each block's (`layer3.2`), and the pooled penultimate vector.
    /// Which blocks exist depends on the weights; `taps` lists them exactly.
    public static let tapPatterns = ["layer1", "layer2", "layer3", "layer4", "layer*.*", "representation"]

    /// The Classifier protocol's view of `tapShapes`.
    public var taps: [TapInfo] { tapShapes.map { TapInfo(name: $0.name, shape: $0.shape) } }
}
