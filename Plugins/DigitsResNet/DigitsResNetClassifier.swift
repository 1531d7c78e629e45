import Foundation
import ResNetEngine
import RobustSynthPluginSDK

/// The small digit classifiers the project ships (Examples/digits/models): 16x16 RGB ResNets
/// trained on scikit-learn's handwritten digits, one normally and one adversarially. Runs on the
/// same engine as ResNet-50. The normalisation comes from the checkpoint (MadryLab layout) or
/// from the JSON beside it (`<name>.json`: mean, std, input, classes), as train.py writes it.
final class DigitsResNetClassifier: ForwardingClassifier, PluginFactory {
    static let info = PluginInfo(
        name: "digits-resnet", kind: .classifier, version: "1.0.0",
        summary: "The shipped 16x16 digit ResNets (robust or standard), or any small ResNet with a JSON beside it",
        parameters: [
            ParameterDecl("weights", .path, doc: "Examples/digits/models/digits-robust.pt or digits-standard.pth (a JSON with mean/std beside it)"),
        ] + EngineParameters.declarations,
        facts: PluginFacts(taps: ResNet.tapPatterns))

    let base: Classifier
    let names: [String]

    init(parameters: ParameterValues) throws {
        let path = parameters.string("weights")
        let w = try ResNetFile.weights(path)
        let metaPath = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("json").path
        var meta = [String: Any]()
        // Only a regular file is read (a FIFO would block the read).
        var st = stat()
        let isFile = stat(metaPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        if isFile, let data = FileManager.default.contents(atPath: metaPath) {
            guard let m = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw PluginError("\(metaPath) is not a JSON object")
            }
            meta = m
        }
        func floats(_ key: String) -> [Float]? { (meta[key] as? [Double])?.map(Float.init) }
        guard let mean = w.normalizer?.mean ?? floats("mean"), let std = w.normalizer?.std ?? floats("std") else {
            throw PluginError("\(path) stores no normaliser and \(metaPath) gives no mean/std")
        }
        let size = try Self.inputSize(meta["input"], metaPath: metaPath)
        names = (meta["classes"] as? [Any])?.map { "\($0)" } ?? (0..<w.architecture.numClasses).map(String.init)
        guard names.count == w.architecture.numClasses else {
            throw PluginError("\(metaPath) names \(names.count) classes, the network has \(w.architecture.numClasses)")
        }
        base = try ResNet(weights: w, mean: mean, std: std, inputSize: size, backend: EngineParameters.backend(parameters),
                          precision: EngineParameters.precision(parameters))
    }

    /// The largest input side a sidecar may declare, as the ResNet-50 plugins' input_size: the
    /// engine allocates batch x channels x side^2 floats per activation, so a declared 100000x100000
    /// input once asked for 156 GB.
    static let maxInputSide = 2048

    /// The sidecar's "input", [channels, height, width] or [height, width] with height == width,
    /// each side 1...maxInputSide; 16 when it gives none.
    static func inputSize(_ value: Any?, metaPath: String) throws -> Int {
        guard let value else { return 16 }
        guard let dims = value as? [Int], dims.count >= 2, dims.count <= 3 else {
            let text = (value as? [Any]).map { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" } ?? "\(value)"
            throw PluginError("\(metaPath): 'input' must be [channels, height, width], got \(text)")
        }
        let (h, w) = (dims[dims.count - 2], dims[dims.count - 1])
        guard h == w, (1...maxInputSide).contains(w) else {
            throw PluginError("\(metaPath): 'input' declares a \(h)x\(w) input; it must be square, at most \(maxInputSide)x\(maxInputSide)")
        }
        return w
    }

    func className(_ index: Int) -> String? { index >= 0 && index < names.count ? names[index] : nil }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(DigitsResNetClassifier.self, hostABI: hostABI)
}
