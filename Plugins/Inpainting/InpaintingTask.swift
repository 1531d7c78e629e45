import ImageIO
import RobustSynthPluginSDK

/// Inpainting (the paper's section 3.2): a square patch of a real image is replaced by the
/// image's per-channel mean at a random place; descent on the cross-entropy of the image's own
/// class plus the masked penalty that keeps the rest of the image. Table 1: eps 21, alpha 0.1,
/// 720 steps. Instead of the square, `masks` gives the region to fill as pictures (white: fill),
/// such as one painted in `rsynth studio`.
final class InpaintingTask: SynthesisTask, PluginFactory {
    static let info = PluginInfo(
        name: "inpainting", kind: .task, version: "1.1.0",
        summary: "Fill a missing square patch of real images with their own class",
        parameters: [
            ParameterDecl("count", .int, default: .int(16), minimum: 1, maximum: 1_000_000,
                          doc: "Number of images, taken class by class from the seed source"),
            ParameterDecl("patch", .int, default: .int(60), minimum: 1, maximum: 4096,
                          doc: "Side of the square patch in pixels (paper: 60 at 224x224)"),
            ParameterDecl("masks", .list(.path), default: .list([]),
                          doc: "PNG or JPEG masks, white where the image is to be filled, any size (resized to the classifier's input): one per image in order, or one for all; empty: a square of 'patch' pixels at a random place"),
        ],
        facts: PluginFacts(requiredConstraints: ["l2-ball", "masked-penalty"], defaultSteps: 720, defaultStepSize: 0.1))

    let count: Int
    let patch: Int
    /// [1, 1, h, w] each, as read (resized once the input size is known).
    let masks: [Tensor]

    init(parameters: ParameterValues) throws {
        count = parameters.int("count")
        patch = parameters.int("patch")
        let paths = parameters.strings("masks")
        guard paths.count <= 1 || paths.count == count else {
            throw PluginError("'masks' has \(paths.count) pictures for \(count) images ('count'): give one per image, or one for all")
        }
        masks = try paths.map { path in
            // The mean of the channels: a grey mask, whatever colours it was painted in.
            let rgb = try ImageFile.read(path).tensor()
            let hw = rgb.shape[2] * rgb.shape[3]
            var grey = Tensor(zeros: [1, 1, rgb.shape[2], rgb.shape[3]])
            for j in 0..<hw { grey.data[j] = (rgb.data[j] + rgb.data[hw + j] + rgb.data[2 * hw + j]) / 3 }
            guard grey.data.contains(where: { $0 > 0.5 }) else {
                throw PluginError("mask '\(path)' has no white (or light) pixel: nothing to fill")
            }
            return grey
        }
    }

    func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        let shape = setup.inputShape
        guard !masks.isEmpty || (patch < shape.height && patch < shape.width) else {
            throw PluginError("a patch of \(patch) pixels does not fit the classifier's \(shape.height)x\(shape.width) images: choose a smaller 'patch'")
        }
        let n = try setup.requireSourceItems()
        return roundRobinItems(labels: setup.sourceItemLabels, itemCount: n, count: count).map {
            TaskItem(seedClass: nil, sourceItem: $0, target: TaskItem.sourceLabel, group: 0)
        }
    }

    // source, x0: [n, C, H, W]; mask: [n, 1, H, W], 1 where the image is filled. Inside the mask
    // the start is the image's per-channel mean.
    func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?) {
        let n = source.batch, c = source.shape[1], h = source.shape[2], w = source.shape[3]
        var x0 = source
        var mask = Tensor(zeros: [n, 1, h, w])
        for i in 0..<n {
            if masks.isEmpty {
                var rng = RandomStream(seed: seeds[i] ^ 0x1A7A_1A7A)
                let top = rng.nextInt(below: h - patch + 1), left = rng.nextInt(below: w - patch + 1)
                for y in top..<(top + patch) { for x in left..<(left + patch) { mask.data[i * h * w + y * w + x] = 1 } }
            } else {
                let picture = Resample.resize(masks[masks.count == 1 ? 0 : items[i]], height: h, width: w, filter: .bilinear)
                for j in 0..<(h * w) where picture.data[j] > 0.5 { mask.data[i * h * w + j] = 1 }
            }
            for ch in 0..<c {
                let plane = (i * c + ch) * h * w
                let mean = source.data[plane..<(plane + h * w)].reduce(0, +) / Float(h * w)
                for j in 0..<(h * w) where mask.data[i * h * w + j] == 1 { x0.data[plane + j] = mean }
            }
        }
        return (x0, mask)
    }

}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(InpaintingTask.self, hostABI: hostABI)
}
