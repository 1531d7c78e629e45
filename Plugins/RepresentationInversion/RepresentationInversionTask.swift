import ImageIO
import RobustSynthPluginSDK

/// Representation inversion (Engstrom et al. 2019, `robust_representations`): find an image
/// whose representation matches a real image's, starting from noise or from another image:
///   loss = ||R(x) - R(x_t)||_2 / ||R(x_t)||_2
/// with R a tap (`representation` by default) and x_t the source image. A robust model's
/// representation pins the image down, so the result looks like the source; a standard
/// model's does not. The robustness library's example: eps 1000 (L2), step 1, 10000 steps.
final class RepresentationInversionTask: SynthesisTask, PluginFactory {
    static let info = PluginInfo(
        name: "representation-inversion", kind: .task, version: "1.0.0",
        summary: "Recover an image from its representation, starting from noise or another image",
        parameters: [
            ParameterDecl("count", .int, default: .int(16), minimum: 1, maximum: 1_000_000,
                          doc: "Number of source images whose representation is inverted, taken class by class"),
            ParameterDecl("tap", .string, default: .string("representation"),
                          doc: "The classifier output to match (rsynth plugins describe the classifier; e.g. representation, layer4)"),
            ParameterDecl("start", .string, default: .string("noise"), choices: StartPoint.choices,
                          doc: "Where each inversion starts: uniform noise (its own per sample; grey-noise: one value per pixel in every channel), mid-grey, or start_image"),
            ParameterDecl("start_image", .path, default: .string(""),
                          doc: "The image to start from when start is 'image' (any size: resized to the classifier's input)"),
        ],
        facts: PluginFacts(defaultSteps: 10_000, defaultStepSize: 1, tapParameter: "tap", targetsAreNotClasses: true))

    let count: Int
    let tap: String
    let start: StartPoint

    init(parameters: ParameterValues) throws {
        count = parameters.int("count")
        tap = parameters.string("tap")
        start = try StartPoint(parameters.string("start"), image: parameters.string("start_image"))
    }

    func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        let n = try setup.requireSourceItems()
        try start.check(setup.inputShape)
        return roundRobinItems(labels: setup.sourceItemLabels, itemCount: n, count: count).map {
            TaskItem(seedClass: nil, sourceItem: $0, target: TaskItem.noTarget, group: 0)
        }
    }

    func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?) {
        (try start.make(like: source, seeds: seeds), nil)
    }

    var taps: [String] { [tap] }

    func objective(_ input: ObjectiveInput) throws -> ObjectiveOutput {
        guard let target = input.sourceTaps?.first else { throw PluginError("the host gave no source representation") }
        let (loss, dr) = Objectives.representationDistance(input.taps[0], target: target)
        return ObjectiveOutput(loss: loss, dtaps: [dr])
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(RepresentationInversionTask.self, hostABI: hostABI)
}
