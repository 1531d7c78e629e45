import ImageIO
import RobustSynthPluginSDK

/// Paint-with-features (Santurkar et al. 2019, `robustness_applications`): make a feature
/// appear in one region of a real image. Maximise channel `feature` of a feature-map tap
/// (`layer4` by default: the units `representation` pools) averaged over the mask, brought to
/// the tap's resolution by box averaging; the masked-penalty constraint keeps the rest of the
/// image. The notebook's settings: eps 70 (L2), 140 steps of 1.
final class PaintWithFeaturesTask: SynthesisTask, PluginFactory {
    static let info = PluginInfo(
        name: "paint-with-features", kind: .task, version: "1.0.0",
        summary: "Paint a feature of the classifier into a masked region of real images",
        parameters: [
            ParameterDecl("mask", .path,
                          doc: "PNG of the classifier's input size: white (> 50%) where the feature is painted, black elsewhere"),
            ParameterDecl("feature", .int, minimum: 0,
                          doc: "The unit to paint: a channel of 'tap' (for layer4 of a ResNet, a coordinate of its representation)"),
            ParameterDecl("tap", .string, default: .string("layer4"),
                          doc: "The feature map the unit belongs to (layer1 ... layer4, layer3.2, ...)"),
            ParameterDecl("count", .int, default: .int(8), minimum: 1, maximum: 1_000_000,
                          doc: "Number of source images, taken class by class from the seed source"),
        ],
        facts: PluginFacts(requiredConstraints: ["l2-ball", "masked-penalty"], defaultSteps: 140, defaultStepSize: 1,
                           tapParameter: "tap", targetsAreNotClasses: true))

    let maskPath: String
    let maskImage: Tensor
    let feature: Int
    let tap: String
    let count: Int
    private var tapShape: [Int] = []

    init(parameters: ParameterValues) throws {
        maskPath = parameters.string("mask")
        feature = parameters.int("feature")
        tap = parameters.string("tap")
        count = parameters.int("count")
        let image = try ImageFile.read(maskPath).tensor()
        // One channel: the mean of the three, thresholded.
        let h = image.shape[2], w = image.shape[3], plane = h * w
        var m = Tensor(zeros: [1, 1, h, w])
        for j in 0..<plane {
            m.data[j] = (image.data[j] + image.data[plane + j] + image.data[2 * plane + j]) / 3 > 0.5 ? 1 : 0
        }
        guard m.data.contains(1) else { throw PluginError("\(maskPath) marks no region: paint it white where the feature goes") }
        maskImage = m
    }

    func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        let s = setup.inputShape
        guard maskImage.shape[2] == s.height, maskImage.shape[3] == s.width else {
            throw PluginError("\(maskPath) is \(maskImage.shape[3])x\(maskImage.shape[2]), but the classifier's input is \(s.width)x\(s.height): make the mask that size")
        }
        let t = try setup.requireTap(tap)
        guard t.shape.count == 3 else {
            throw PluginError("tap '\(tap)' is a vector; painting needs a feature map (layer1 ... layer4)")
        }
        guard feature < t.shape[0] else {
            throw PluginError("feature \(feature) is out of range: tap '\(tap)' has \(t.shape[0]) channels (0 to \(t.shape[0] - 1))")
        }
        tapShape = t.shape
        let n = try setup.requireSourceItems()
        return roundRobinItems(labels: setup.sourceItemLabels, itemCount: n, count: count).map {
            TaskItem(seedClass: nil, sourceItem: $0, target: TaskItem.noTarget, group: 0)
        }
    }

    func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?) {
        (source, Tensor.concatenate(Array(repeating: maskImage, count: source.batch)))
    }

    var taps: [String] { [tap] }

    func objective(_ input: ObjectiveInput) throws -> ObjectiveOutput {
        guard let mask = input.mask else { throw PluginError("the host gave no mask") }
        let t = input.taps[0]
        let small = Objectives.resampleMask(mask, height: t.shape[2], width: t.shape[3])
        let (loss, dtap) = try Objectives.activation(t, units: Array(repeating: feature, count: input.count), mask: small)
        return ObjectiveOutput(loss: loss, dtaps: [dtap])
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(PaintWithFeaturesTask.self, hostABI: hostABI)
}
