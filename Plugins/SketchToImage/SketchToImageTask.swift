import ImageIO
import RobustSynthPluginSDK

/// Sketch-to-image (Santurkar et al. 2019, `robustness_applications`): a line drawing is the
/// starting point, driven towards a class by cross-entropy inside an L2 ball, so the class's
/// texture and shape fill the drawing. The notebook's settings: eps 40, 60 steps of 1.
final class SketchToImageTask: SynthesisTask, PluginFactory {
    static let info = PluginInfo(
        name: "sketch-to-image", kind: .task, version: "1.0.0",
        summary: "Turn line drawings into images of a class",
        parameters: [
            ParameterDecl("sketches", .list(.path),
                          doc: "PNG or JPEG drawings, any size (resized to the classifier's input); one grid row each"),
            ParameterDecl("classes", .list(.string),
                          doc: "The class of each sketch, in order (name, WordNet id or index); a single class applies to all"),
            ParameterDecl("per_sketch", .int, default: .int(1), minimum: 1, maximum: 10_000,
                          doc: "Samples per sketch (grid columns); they differ only where the step or a random start does"),
        ],
        facts: PluginFacts(requiredConstraints: ["l2-ball"], defaultSteps: 60, defaultStepSize: 1))

    let sketches: [Tensor]
    let classes: [String]
    let perSketch: Int

    init(parameters: ParameterValues) throws {
        let paths = parameters.strings("sketches")
        classes = parameters.strings("classes")
        perSketch = parameters.int("per_sketch")
        if paths.isEmpty { throw PluginError("'sketches' is empty: give at least one drawing") }
        guard classes.count == paths.count || classes.count == 1 else {
            throw PluginError("'classes' has \(classes.count) entries for \(paths.count) sketches: give one per sketch, or one for all")
        }
        sketches = try paths.map { try ImageFile.read($0).tensor() }
    }

    func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        var items = [TaskItem]()
        for row in sketches.indices {
            let c = try setup.requireClass(classes.count == 1 ? classes[0] : classes[row])
            for _ in 0..<perSketch { items.append(TaskItem(seedClass: c, sourceItem: nil, target: c, group: row)) }
        }
        return items
    }

    /// Each sample's sketch, resized (bilinear, antialiased) to the classifier's input.
    func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?) {
        let h = source.shape[2], w = source.shape[3]
        let perRow = perSketch
        let parts = items.map { Resample.resize(sketches[$0 / perRow], height: h, width: w, filter: .bilinear) }
        return (Tensor.concatenate(parts), nil)
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(SketchToImageTask.self, hostABI: hostABI)
}
