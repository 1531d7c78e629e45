import RobustSynthPluginSDK

/// Image-to-image translation (the paper's section 3.4): real images of a source class (or of
/// any class) driven towards another class within an L2 ball. Table 1: eps 60, alpha 0.5,
/// 200 steps.
final class TranslationTask: SynthesisTask, PluginFactory {
    static let info = PluginInfo(
        name: "translation", kind: .task, version: "1.0.0",
        summary: "Turn real images of one class into another class",
        parameters: [
            ParameterDecl("source_class", .string, default: .string(""),
                          doc: "Take only images of this class (name, WordNet id or index); empty: any class"),
            ParameterDecl("target_classes", .list(.string), default: .list([]),
                          doc: "Classes to translate every image to (one grid row each); empty: each image to another class, in turn"),
            ParameterDecl("count", .int, default: .int(16), minimum: 1, maximum: 1_000_000,
                          doc: "Number of source images"),
        ],
        facts: PluginFacts(requiredConstraints: ["l2-ball"], defaultSteps: 200, defaultStepSize: 0.5))

    let sourceClass: String
    let targetClasses: [String]
    let count: Int

    init(parameters: ParameterValues) throws {
        sourceClass = parameters.string("source_class")
        targetClasses = parameters.strings("target_classes")
        count = parameters.int("count")
    }

    func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        let n = try setup.requireSourceItems()
        let targets = try targetClasses.map { try setup.requireClass($0) }
        var only: Set<Int>?
        if !sourceClass.isEmpty {
            only = [try setup.requireClass(sourceClass)]
            guard setup.sourceItemLabels != nil else {
                throw PluginError("'source_class' needs a seed source that knows the class of its images")
            }
        }
        let picked = roundRobinItems(labels: setup.sourceItemLabels, itemCount: n, count: count, classes: only)
        if picked.isEmpty { throw PluginError("the seed source has no images of class '\(sourceClass)'") }
        if !targets.isEmpty {
            return targets.enumerated().flatMap { (row, t) in
                picked.map { TaskItem(seedClass: nil, sourceItem: $0, target: t, group: row) }
            }
        }
        // Each image to another class, cycling through all the others in turn.
        guard let labels = setup.sourceItemLabels else {
            throw PluginError("without 'target_classes' the seed source must know the class of its images")
        }
        let k = setup.numClasses
        return picked.enumerated().map { (i, item) in
            TaskItem(seedClass: nil, sourceItem: item, target: (labels[item] + 1 + i % (k - 1)) % k, group: 0)
        }
    }

    func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?) {
        (source, nil)
    }

}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(TranslationTask.self, hostABI: hostABI)
}
