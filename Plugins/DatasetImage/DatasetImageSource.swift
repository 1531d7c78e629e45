import ImageIO
import RobustSynthPluginSDK

/// Real images of an image-folder dataset with their labels (for inpainting, super-resolution
/// and translation). Items are the dataset's images in order: class folders by name, files by name.
final class DatasetImageSampler: SeedSampler, PluginFactory {
    static let info = PluginInfo(
        name: "dataset-image", kind: .seedSampler, version: "1.0.0",
        summary: "Real images from an image folder (one sub-folder per class), with their labels",
        parameters: [
            ParameterDecl("dataset", .path, doc: "Image folder, one sub-folder per class (WordNet id, name or index)"),
            ParameterDecl("labels", .string, default: .string("imagenet"),
                          doc: "How folders name classes: 'imagenet' or a class count K (folders 0 ... K-1)"),
            ParameterDecl("limit_per_class", .int, default: .int(0), minimum: 0,
                          doc: "Use at most this many images per class, the first by name (0: all)"),
            ParameterDecl("transform", .string, default: .string("imagenet-eval"),
                          choices: DatasetImageSource.Transform.allCases.map(\.rawValue),
                          doc: "imagenet-eval: shorter side 256/224 of the input size, centre crop; resize: bilinear to the input size"),
        ])

    let source: DatasetImageSource

    init(parameters: ParameterValues) throws {
        guard let transform = DatasetImageSource.Transform(rawValue: parameters.string("transform")) else {
            throw PluginError("transform must be imagenet-eval or resize")
        }
        let limit = parameters.int("limit_per_class")
        do {
            let labels = try SeedModelSource.labels(parameters.string("labels"))
            let ds = try ImageFolderDataset(root: parameters.string("dataset"), labels: labels,
                                            limitPerClass: limit > 0 ? limit : nil)
            if !ds.skipped.isEmpty { HostServices.log(ImageFolderDataset.skippedText(ds.skipped), warning: true) }
            source = DatasetImageSource(dataset: ds, transform: transform)
        } catch let e as ImageError {
            throw PluginError(e.message)
        }
    }

    var itemCount: Int? { source.dataset.count }

    /// The class of every item, so tasks can pick items by class (round robin) before loading.
    var itemLabels: [Int]? { source.dataset.items.map(\.label) }

    func sample(_ request: SeedRequest, shape: ImageShape) throws -> (images: Tensor, labels: [Int]?) {
        guard shape.channels == 3 else { throw PluginError("dataset images are RGB; the classifier takes \(shape.channels) channels") }
        let items = request.items ?? Array(0..<request.count)
        do {
            let (x, labels) = try source.images(items, height: shape.height, width: shape.width)
            return (x, labels)
        } catch let e as ImageError {
            throw PluginError(e.message)
        }
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(DatasetImageSampler.self, hostABI: hostABI)
}
