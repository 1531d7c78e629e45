import RobustSynthPluginSDK

/// Class-conditional generation: for each requested class, `per_class` seeds drawn from the
/// seed sampler for that class, driven towards it (the paper's section 3.1).
final class GenerationTask: SynthesisTask, PluginFactory {
    static let info = PluginInfo(
        name: "generation", kind: .task, version: "1.0.0",
        summary: "Class-conditional generation from seeds",
        parameters: [
            ParameterDecl("classes", .list(.string),
                          doc: "Classes to generate, by name, WordNet id or index (one grid row each)"),
            ParameterDecl("per_class", .int, default: .int(1), minimum: 1, maximum: 100_000,
                          doc: "Samples per class (grid columns)"),
        ],
        facts: PluginFacts(requiredConstraints: ["l2-ball"], defaultSteps: 60, defaultStepSize: 1))

    let classes: [String]
    let perClass: Int

    init(parameters: ParameterValues) throws {
        classes = parameters.strings("classes")
        perClass = parameters.int("per_class")
        if classes.isEmpty { throw PluginError("'classes' is empty: name at least one class") }
    }

    func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        var items = [TaskItem]()
        for (row, name) in classes.enumerated() {
            let c = try setup.requireClass(name)
            for _ in 0..<perClass { items.append(TaskItem(seedClass: c, sourceItem: nil, target: c, group: row)) }
        }
        return items
    }

    func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?) {
        (source, nil)
    }

}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(GenerationTask.self, hostABI: hostABI)
}
