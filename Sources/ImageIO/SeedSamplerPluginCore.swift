import Foundation
import RobustSynthCore

/// What the `univariate-normal` and `multivariate-normal` plugins share: their parameters, and
/// sampling from a fitted model file or a dataset folder (fitted on first use and cached).
public final class FittedSeedSamplerCore {
    public let distribution: SeedDistribution
    let modelPath: String
    let datasetPath: String
    let labels: ClassLabels
    let options: SeedFitter.Options
    let limitPerClass: Int?
    let cacheDirectory: String
    let jitter: Float
    let upsample: Resample.Filter
    private var model: SeedModel?
    private let lock = NSLock()

    /// The parameters both plugins declare (`jitter` only for the multivariate normal).
    public static func parameters(for distribution: SeedDistribution) -> [ParameterDecl] {
        var p = [
            ParameterDecl("model", .path, default: .string(""),
                          doc: "Seed-model file from `rsynth seeds fit` (give this or dataset)"),
            ParameterDecl("dataset", .path, default: .string(""),
                          doc: "Image folder, one sub-folder per class (WordNet id, name or index); fitted on first use and cached"),
            ParameterDecl("resolution", .int, default: .int(56), minimum: 1, maximum: 1024,
                          doc: "Fitting resolution R when fitting a dataset (56 for ImageNet-size images, 8 or 16 for small ones)"),
            ParameterDecl("preprocess", .string, default: .string("imagenet-eval"),
                          choices: SeedModel.Preprocess.allCases.map(\.rawValue),
                          doc: "How dataset images become R x R: imagenet-eval (256 / centre 224, area) or centre-square"),
            ParameterDecl("limit_per_class", .int, default: .int(0), minimum: 0,
                          doc: "Fit on at most this many images per class (0: all)"),
            ParameterDecl("labels", .string, default: .string("imagenet"),
                          doc: "How dataset folders name classes: 'imagenet' or a class count K (folders 0 ... K-1)"),
            ParameterDecl("cache", .path, default: .string(""),
                          doc: "Folder for fitted models (default: $RSYNTH_CACHE_DIR, else ~/.cache/rsynth/seeds)"),
            ParameterDecl("upsample", .string, default: .string("nearest"), choices: ["nearest", "bilinear"],
                          doc: "Up-sampling from R to the classifier's size"),
        ]
        if distribution == .multivariateNormal {
            p.append(ParameterDecl("jitter", .double, default: .double(1e-4), minimum: 0,
                                   doc: "Isotropic variance added to the covariance (MadryLab: 1e-4)"))
        }
        return p
    }

    public init(distribution: SeedDistribution, parameters: ParameterValues) throws {
        self.distribution = distribution
        modelPath = parameters.string("model")
        datasetPath = parameters.string("dataset")
        do { labels = try SeedModelSource.labels(parameters.string("labels")) } catch { throw PluginError("\(error)") }
        guard let pre = SeedModel.Preprocess(rawValue: parameters.string("preprocess")) else {
            throw PluginError("preprocess must be imagenet-eval or centre-square")
        }
        options = SeedFitter.Options(resolution: parameters.int("resolution"), preprocess: pre)
        let limit = parameters.int("limit_per_class")
        limitPerClass = limit > 0 ? limit : nil
        cacheDirectory = parameters.string("cache")
        jitter = distribution == .multivariateNormal ? Float(parameters.double("jitter")) : 0
        upsample = parameters.string("upsample") == "bilinear" ? .bilinear : .nearest
        if modelPath.isEmpty == datasetPath.isEmpty {
            throw PluginError(modelPath.isEmpty
                ? "give a fitted seed-model file (model: FILE, from `rsynth seeds fit`) or a dataset folder (dataset: DIR)"
                : "give either model or dataset, not both")
        }
        if !modelPath.isEmpty && !FileManager.default.fileExists(atPath: modelPath) {
            throw PluginError("seed model '\(modelPath)' does not exist (fit one with `rsynth seeds fit`)")
        }
        var isDir: ObjCBool = false
        if !datasetPath.isEmpty && !(FileManager.default.fileExists(atPath: datasetPath, isDirectory: &isDir) && isDir.boolValue) {
            throw PluginError("dataset folder '\(datasetPath)' does not exist")
        }
    }

    /// The model, read or fitted on first use.
    public func loadedModel() throws -> SeedModel {
        lock.lock(); defer { lock.unlock() }
        if let m = model { return m }
        do {
            let (m, _) = try SeedModelSource.load(model: modelPath, dataset: datasetPath, labels: labels, options: options,
                                                  limitPerClass: limitPerClass, cacheDirectory: cacheDirectory,
                                                  log: { FileHandle.standardError.write(Data(("\($0)\n").utf8)) })
            model = m
            return m
        } catch let e as ImageError {
            throw PluginError(e.message)
        }
    }

    public func sample(_ request: SeedRequest, shape: ImageShape) throws -> (images: Tensor, labels: [Int]?) {
        guard shape.channels == 3 else { throw PluginError("seed models are RGB; the classifier takes \(shape.channels) channels") }
        let m = try loadedModel()
        do {
            let x = try SeedSampling.draw(distribution, model: m, classes: request.classes, seeds: request.seeds,
                                          jitter: jitter, size: (height: shape.height, width: shape.width), upsample: upsample)
            return (x, nil)
        } catch let e as ImageError {
            throw PluginError(e.message)
        }
    }
}
