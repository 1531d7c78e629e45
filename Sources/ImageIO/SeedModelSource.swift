import Foundation
import RobustSynthCore

/// Where seed plugins get their model: a fitted file, or a dataset folder fitted on first use and
/// cached. The cache key covers the dataset's files (paths, sizes, modification times) and the
/// fit settings, so adding, removing or replacing an image refits.
public enum SeedModelSource {
    /// "imagenet" (the 1000 ImageNet classes) or a class count K (folders named 0 ... K-1).
    public static func labels(_ text: String) throws -> ClassLabels {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.lowercased() == "imagenet" || t.isEmpty { return .imageNet }
        if let k = Int(t), k > 0 { return .numbered(k) }
        throw ImageError("labels must be 'imagenet' or a class count, got '\(text)'")
    }

    /// RSYNTH_CACHE_DIR, else $XDG_CACHE_HOME/rsynth/seeds, else ~/.cache/rsynth/seeds.
    public static func defaultCacheDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["RSYNTH_CACHE_DIR"], !d.isEmpty { return d }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/rsynth/seeds" }
        return NSHomeDirectory() + "/.cache/rsynth/seeds"
    }

    /// The cache file name for fitting `dataset` with these settings.
    public static func cacheName(dataset: ImageFolderDataset, options: SeedFitter.Options) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ s: String) { for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }; h = (h ^ 0xff) &* 0x100_0000_01b3 }
        mix("v\(SeedModel.formatVersion) r\(options.resolution) \(options.preprocess.rawValue)")
        mix(URL(fileURLWithPath: dataset.root).standardizedFileURL.path)
        for item in dataset.items {
            mix(item.path); mix(String(item.label))
            if let a = try? FileManager.default.attributesOfItem(atPath: item.path) {
                mix(String((a[.size] as? Int) ?? -1))
                mix(String(((a[.modificationDate] as? Date)?.timeIntervalSince1970) ?? 0))
            }
        }
        let base = URL(fileURLWithPath: dataset.root).standardizedFileURL.lastPathComponent
        let safe = String(base.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return "\(safe)-r\(options.resolution)-\(String(h, radix: 16)).seeds"
    }

    /// Reads `model` when it is not empty; otherwise fits `dataset` (or reads the cached fit).
    /// `log` hears about a fit and the skipped images. Returns the model and whether it was fitted now.
    public static func load(model: String, dataset: String, labels: ClassLabels, options: SeedFitter.Options,
                            limitPerClass: Int? = nil, cacheDirectory: String? = nil,
                            log: ((String) -> Void)? = nil) throws -> (model: SeedModel, fitted: Bool) {
        if !model.isEmpty {
            if !dataset.isEmpty { throw ImageError("give either a seed model file or a dataset folder, not both (model '\(model)', dataset '\(dataset)')") }
            return (try SeedModel.read(model), false)
        }
        guard !dataset.isEmpty else {
            throw ImageError("no seed model: give a fitted model file (model: FILE, from `rsynth seeds fit`) or a dataset folder (dataset: DIR)")
        }
        let ds = try ImageFolderDataset(root: dataset, labels: labels, limitPerClass: limitPerClass)
        let dir = cacheDirectory.flatMap { $0.isEmpty ? nil : $0 } ?? defaultCacheDirectory()
        let path = dir + "/" + cacheName(dataset: ds, options: options)
        if FileManager.default.fileExists(atPath: path), let m = try? SeedModel.read(path) {
            return (m, false)
        }
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw ImageError("cannot create the seed-model cache folder '\(dir)': \(FileChecks.reason(error))")
        }
        log?("fitting seed models on '\(dataset)' (\(ds.classes.count) classes, \(ds.count) images, \(options.resolution)x\(options.resolution)); cache: \(path)")
        let report = try SeedFitter.fit(dataset: ds, labels: labels, options: options, to: path)
        if !report.skipped.isEmpty {
            log?("skipped \(report.skipped.count) image(s): " + report.skipped.map(\.description).joined(separator: "; "))
        }
        return (try SeedModel.read(path), true)
    }
}

/// Real images of an image-folder dataset as classifier inputs (the `dataset-image` source).
public struct DatasetImageSource: Sendable {
    public enum Transform: String, Sendable, CaseIterable {
        /// Resample.classifierInput: as stored at the classifier's size, else shorter side to
        /// round(S * 256 / 224) and the central S x S (256 and 224 for ImageNet models).
        case imageNetEval = "imagenet-eval"
        /// Antialiased bilinear straight to the classifier's size (aspect ratio not kept).
        case resize
    }

    public let dataset: ImageFolderDataset
    public let transform: Transform

    public init(dataset: ImageFolderDataset, transform: Transform) {
        self.dataset = dataset; self.transform = transform
    }

    /// One image as [1, 3, height, width].
    public func image(_ item: Int, height: Int, width: Int) throws -> Tensor {
        let t = try dataset.image(item).tensor()
        switch transform {
        case .resize:
            return Resample.bilinear(t, height: height, width: width)
        case .imageNetEval:
            return Resample.classifierInput(t, height: height, width: width)
        }
    }

    /// Items `items` as [n, 3, height, width] with their labels, decoded on `threads` threads.
    public func images(_ items: [Int], height: Int, width: Int, threads: Int = 2) throws -> (images: Tensor, labels: [Int]) {
        for i in items where i < 0 || i >= dataset.count {
            throw ImageError("dataset '\(dataset.root)' has \(dataset.count) images; item \(i) does not exist")
        }
        let per = 3 * height * width
        var out = [Float](repeating: 0, count: items.count * per)
        var errors = [String?](repeating: nil, count: items.count)
        let t = Swift.max(1, Swift.min(threads, items.count))
        out.withUnsafeMutableBufferPointer { ob in
            errors.withUnsafeMutableBufferPointer { eb in
                let op = ob.baseAddress!, ep = eb.baseAddress!
                DispatchQueue.concurrentPerform(iterations: t) { w in
                    var j = w
                    while j < items.count {
                        do {
                            let x = try image(items[j], height: height, width: width)
                            (op + j * per).update(from: x.data, count: per)
                        } catch {
                            ep[j] = "\(error)"
                        }
                        j += t
                    }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw ImageError(e) }
        return (Tensor(shape: [items.count, 3, height, width], data: out), items.map { dataset.items[$0].label })
    }
}
