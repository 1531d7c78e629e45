import ImageIO
import RobustSynthPluginSDK

/// Super-resolution (the paper's section 3.3): a real image is down-sampled (area average) and
/// up-sampled back (nearest neighbour, as the paper), and descent on the cross-entropy of the
/// image's class adds the detail back, within an L2 ball around the up-sampled image.
/// Table 1: eps 8, alpha 1, 40 steps, 224 -> 64 -> 224.
final class SuperResolutionTask: SynthesisTask, PluginFactory {
    static let info = PluginInfo(
        name: "super-resolution", kind: .task, version: "1.0.0",
        summary: "Add detail to down-sampled real images",
        parameters: [
            ParameterDecl("count", .int, default: .int(16), minimum: 1, maximum: 1_000_000,
                          doc: "Number of images, taken class by class from the seed source"),
            ParameterDecl("low_resolution", .int, default: .int(64), minimum: 1, maximum: 4096,
                          doc: "Side of the low-resolution image (paper: 64 for 224x224)"),
            ParameterDecl("upsample", .string, default: .string("nearest"), choices: ["nearest", "bilinear"],
                          doc: "How the low-resolution image is brought back to full size"),
        ],
        facts: PluginFacts(requiredConstraints: ["l2-ball"], defaultSteps: 40, defaultStepSize: 1))

    let count: Int
    let low: Int
    let upsample: String

    init(parameters: ParameterValues) throws {
        count = parameters.int("count")
        low = parameters.int("low_resolution")
        upsample = parameters.string("upsample")
    }

    func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        let s = setup.inputShape
        guard low < s.height && low < s.width else {
            throw PluginError("low_resolution \(low) is not below the classifier's \(s.height)x\(s.width)")
        }
        let n = try setup.requireSourceItems()
        return roundRobinItems(labels: setup.sourceItemLabels, itemCount: n, count: count).map {
            TaskItem(seedClass: nil, sourceItem: $0, target: TaskItem.sourceLabel, group: 0)
        }
    }

    // source, x0: [n, C, H, W]; x0 = up(down(source)).
    func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?) {
        let h = source.shape[2], w = source.shape[3]
        let small = Resample.areaDown(source, height: low, width: low)
        let up = upsample == "nearest" ? Resample.nearest(small, height: h, width: w)
                                       : Resample.bilinear(small, height: h, width: w, antialias: false)
        return (up, nil)
    }

}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(SuperResolutionTask.self, hostABI: hostABI)
}
