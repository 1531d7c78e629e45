import RobustSynthPluginSDK

/// Feature visualisation (Engstrom et al. 2019, `robust_representations`): maximise one unit of
/// a tap, a coordinate of `representation` or a channel of a feature map (its mean over the
/// plane), from the seed sampler's images: noise from `uniform`, real images from
/// `dataset-image`. The run's grid has one unit per column. The robustness library's example:
/// eps 1000 (L2), step 1, 200 steps.
final class FeatureVisualizationTask: SynthesisTask, PluginFactory {
    static let info = PluginInfo(
        name: "feature-visualization", kind: .task, version: "1.0.0",
        summary: "Maximise units of a classifier's representation or feature maps (one per grid column)",
        parameters: [
            ParameterDecl("tap", .string, default: .string("representation"),
                          doc: "The classifier output whose units are maximised (representation, layer4, layer3.2, ...)"),
            ParameterDecl("units", .list(.int), default: .list([.int(0), .int(1), .int(2), .int(3)]), minimum: 0,
                          doc: "Units (coordinates of a vector tap, channels of a feature map), one grid column each"),
            ParameterDecl("per_unit", .int, default: .int(1), minimum: 1, maximum: 10_000,
                          doc: "Starting points per unit (grid rows): seeds of a distribution, or images of a data set"),
        ],
        facts: PluginFacts(defaultSteps: 200, defaultStepSize: 1, tapParameter: "tap", targetsAreNotClasses: true))

    let tap: String
    let units: [Int]
    let perUnit: Int

    init(parameters: ParameterValues) throws {
        tap = parameters.string("tap")
        units = parameters.ints("units")
        perUnit = parameters.int("per_unit")
        if units.isEmpty { throw PluginError("'units' is empty: name at least one unit") }
    }

    func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        let t = try setup.requireTap(tap)
        let available = t.shape[0]
        if let bad = units.first(where: { $0 >= available }) {
            throw PluginError("unit \(bad) is out of range: tap '\(tap)' has \(available) (0 to \(available - 1))")
        }
        let images = setup.sourceItemCount.map {
            roundRobinItems(labels: setup.sourceItemLabels, itemCount: $0, count: perUnit)
        }
        var items = [TaskItem]()
        for row in 0..<perUnit {
            for _ in units {
                items.append(TaskItem(seedClass: nil, sourceItem: images.map { $0[row % $0.count] }, target: TaskItem.noTarget,
                                      group: row))
            }
        }
        return items
    }

    func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?) {
        (source, nil)
    }

    var taps: [String] { [tap] }

    func objective(_ input: ObjectiveInput) throws -> ObjectiveOutput {
        let (loss, dtap) = try Objectives.activation(input.taps[0], units: input.items.map { units[$0 % units.count] })
        return ObjectiveOutput(loss: loss, dtaps: [dtap])
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(FeatureVisualizationTask.self, hostABI: hostABI)
}
