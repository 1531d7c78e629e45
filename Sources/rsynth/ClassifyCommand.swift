import ArgumentParser
import Foundation
import ImageIO
import RobustSynthCore
import RobustSynthHost

/// Options shared by the commands that run one classifier plugin on files.
struct ClassifierOptions: ParsableArguments {
    @OptionGroup var paths: PluginPathOptions
    @Option(help: "Classifier plugin (robust-resnet50, resnet50, digits-resnet, ...).", completion: PluginCompletion.names(of: .classifier)) var classifier: String
    @Option(help: "Weights file for the classifier (.pt, .pth, .safetensors).", completion: .file(extensions: ["pt", "pth", "safetensors"])) var weights: String?
    @Option(name: .customLong("with"),
            help: ArgumentHelp("Another parameter of the classifier plugin, e.g. --with input_size=32; repeatable (see `rsynth plugins describe`).",
                               valueName: "name=value"))
    var parameters: [String] = []

    func load() throws -> (HostedClassifier, ClassLabels) {
        let c = try Self.makeClassifier(paths.catalog(), name: classifier, weights: weights, assignments: parameters)
        return (c, PipelineRunner.labels(of: c))
    }

    /// The classifier plugin `name` made from `--with name=value` assignments and a weights file,
    /// as a pipeline would make it (every command that takes a classifier goes through here).
    static func makeClassifier(_ catalog: PluginCatalog, name: String, weights: String?, assignments: [String])
        throws -> HostedClassifier
    {
        do {
            let plugin = try catalog.require(name, kind: .classifier)
            var values = try catalog.values(fromAssignments: assignments, for: plugin)
            if let w = weights { values["weights"] = .string(URL(fileURLWithPath: w).standardizedFileURL.path) }
            return try catalog.makeClassifier(plugin, catalog.resolve(plugin, values))
        } catch {
            throw CommandError("\(error)")
        }
    }
}

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Top-K classes of images with their probabilities.",
        discussion: """
        An image already at the classifier's input size is used exactly as stored (pixel / 255, \
        RGB); any other size gets the standard ImageNet evaluation transform (shorter side to 256, \
        centre crop 224, scaled to the classifier's input size).
        """)
    @OptionGroup var options: ClassifierOptions
    @Option(help: "How many classes to show.") var top = 5
    @Flag(help: "One JSON object per image and line: {\"image\", \"logits\" (all, in class order), \"top\": [{\"class\", \"name\", \"probability\"}]}.")
    var json = false
    @Argument(help: "Images (JPEG or PNG).") var images: [String]

    func run() throws {
        let (classifier, labels) = try options.load()
        for path in images {
            let x: Tensor
            do { x = try classifierInput(path, classifier.inputShape) } catch {
                throw CommandError("\(error)")
            }
            let logits = try requireFiniteLogits(classifier.forward(x), image: path)
            let z = logits.data.map(Double.init)
            let m = z.max()!
            let s = z.map { exp($0 - m) }.reduce(0, +)
            let p = z.map { exp($0 - m) / s }
            let best = p.indices.sorted { p[$0] > p[$1] }.prefix(max(1, top))
            if json {
                let object: [String: Any] = [
                    "image": path,
                    "logits": logits.data.map(Double.init),
                    "top": best.map { ["class": $0, "name": labels.name($0), "probability": p[$0]] as [String: Any] },
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(path)
                for k in best { print(String(format: "  %6.2f%%  %@ (%d)", p[k] * 100, labels.name(k), k)) }
            }
        }
    }
}

struct SaliencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saliency",
        abstract: "The gradient of the cross-entropy for a class with respect to the input pixels.",
        discussion: """
        Writes the gradient with respect to the [0, 1] input as float32 .npy of shape (3, H, W), \
        and beside it a PNG: the largest absolute gradient over channels per pixel, scaled to its \
        99th percentile. Robust models show the object's shape here; standard ones show noise.
        """)
    @OptionGroup var options: ClassifierOptions
    @Option(help: "The class: name, WordNet id or index.") var target: String
    @Option(help: "Output .npy file (a .png is written beside it).") var out: String
    @Argument(help: "The image (JPEG or PNG).") var image: String

    func run() throws {
        let (classifier, labels) = try options.load()
        guard let t = labels.resolve(target) else {
            throw ValidationError("unknown class '\(target)'" + (labels.suggestion(for: target).map { " (did you mean '\($0)'?)" } ?? ""))
        }
        let x: Tensor
        do { x = try classifierInput(image, classifier.inputShape) } catch { throw CommandError("\(error)") }
        let logits = try requireFiniteLogits(classifier.forward(x), image: image)
        let (_, dlogits, probability) = crossEntropy(logits: logits, targets: [t])
        let g = try classifier.inputGradient(dlogits)
        if !g.data.allSatisfy({ $0.isFinite }) {
            throw CommandError("\(image): the input gradient is not finite (NaN or infinite): the classifier's weights overflow float32")
        }
        let s = classifier.inputShape
        try NPY.write(Tensor(shape: [s.channels, s.height, s.width], data: g.data), to: out)
        let png = (out.hasSuffix(".npy") ? String(out.dropLast(4)) : out) + ".png"
        try ImageFile.writePNG(SaliencyPicture.make(g, shape: s), to: png)
        print("\(labels.name(t)) (\(t)): probability \(String(format: "%.4f", probability[0]))")
        print("gradient: \(out)\npicture: \(png)")
    }
}

/// max_c |g| per pixel, scaled so that its 99th percentile is white.
enum SaliencyPicture {
    static func make(_ g: Tensor, shape s: ImageShape) -> RGBImage {
        let hw = s.height * s.width
        var magnitude = [Float](repeating: 0, count: hw)
        for c in 0..<s.channels { for i in 0..<hw { magnitude[i] = max(magnitude[i], abs(g.data[c * hw + i])) } }
        let sorted = magnitude.sorted()
        let top = max(sorted[min(hw - 1, Int(Double(hw) * 0.99))], 1e-12)
        var px = [UInt8](repeating: 0, count: hw * 3)
        for i in 0..<hw {
            let v = UInt8(min(magnitude[i] / top, 1) * 255)
            px[3 * i] = v; px[3 * i + 1] = v; px[3 * i + 2] = v
        }
        return RGBImage(width: s.width, height: s.height, pixels: px)
    }
}

/// An image file as the classifier's input (Resample.classifierInput: as stored at the input size).
func classifierInput(_ path: String, _ shape: ImageShape) throws -> Tensor {
    Resample.classifierInput(try ImageFile.read(path).tensor(), height: shape.height, width: shape.width)
}

/// Finite weights can still overflow float32: one sentence naming the image, rather than nan% or
/// a JSON encoding failure.
func requireFiniteLogits(_ logits: Tensor, image: String) throws -> Tensor {
    if let bad = logits.data.firstIndex(where: { !$0.isFinite }) {
        throw CommandError("\(image): the classifier's logit \(bad) is \(logits.data[bad]) (not finite): its weights overflow float32 on this image")
    }
    return logits
}
