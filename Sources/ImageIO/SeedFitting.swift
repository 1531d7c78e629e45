import Foundation
import RobustSynthCore

/// An image left out of a fit, and why.
public struct SkippedImage: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// What a fit did.
public struct SeedFitReport: Sendable {
    public var classes: Int
    /// Images that went into the model.
    public var images: Int
    /// Corrupt or unreadable images, and images smaller than R x R: skipped, never fatal.
    public var skipped: [SkippedImage]
    public var seconds: Double
}

/// Fits seed models on an image-folder dataset.
public enum SeedFitter {
    public struct Options: Sendable {
        /// Side R of the fitted images (d = 3 R R). 56 for ImageNet-size data, 8 or 16 for small data.
        public var resolution: Int = 56
        public var preprocess: SeedModel.Preprocess = .imageNetEval
        /// Decoding threads.
        public var threads: Int = 2
        public init(resolution: Int = 56, preprocess: SeedModel.Preprocess = .imageNetEval, threads: Int = 2) {
            self.resolution = resolution; self.preprocess = preprocess; self.threads = threads
        }
    }

    /// The d = 3 R R values (CHW, in [0, 1]) an image contributes. An image whose shorter side
    /// is below R is refused (the caller skips it): fitting only ever averages down.
    public static func prepare(_ image: RGBImage, resolution r: Int, preprocess: SeedModel.Preprocess) throws -> [Float] {
        guard Swift.min(image.width, image.height) >= r else {
            throw ImageError("smaller than \(r)x\(r) (\(image.width)x\(image.height))")
        }
        var t = image.tensor()
        switch preprocess {
        case .imageNetEval: t = Resample.imageNetEval(t)
        case .centreSquare: t = Resample.centreSquare(t)
        }
        return Resample.areaDown(t, height: r, width: r).data
    }

    /// Fits every class of `dataset` and writes the model to `path` atomically, one class at a
    /// time: memory holds one class's n x d matrix plus one decoded image per thread; no d x d
    /// matrix is ever formed. `progress(done, total)` is called after every image (serialised).
    /// A class left with fewer than 2 usable images is an error naming its folder.
    @discardableResult
    public static func fit(dataset: ImageFolderDataset, labels: ClassLabels, options: Options = Options(),
                           to path: String, progress: ((Int, Int) -> Void)? = nil) throws -> SeedFitReport {
        let start = Date()
        let r = options.resolution
        precondition(r > 0)
        let d = 3 * r * r
        let writer = try SeedModelWriter(path: path, resolution: r, preprocess: options.preprocess,
                                         datasetPath: dataset.root, classCount: dataset.classes.count)
        var skipped = dataset.skipped
        var used = 0
        var done = 0
        let lock = NSLock()
        let total = dataset.count
        do {
            for cls in dataset.classes {
                let paths = cls.items.map { dataset.items[$0].path }
                let n = paths.count
                var rows = [Float](repeating: 0, count: n * d)
                var ok = [Bool](repeating: false, count: n)
                var reasons = [String?](repeating: nil, count: n)
                let threads = Swift.max(1, Swift.min(options.threads, n))
                rows.withUnsafeMutableBufferPointer { rowsBuf in
                    ok.withUnsafeMutableBufferPointer { okBuf in
                        reasons.withUnsafeMutableBufferPointer { reasonBuf in
                            let rowsPtr = rowsBuf.baseAddress!, okPtr = okBuf.baseAddress!, reasonPtr = reasonBuf.baseAddress!
                            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                                var i = worker
                                while i < n {
                                    do {
                                        let image = try ImageFile.read(paths[i])
                                        let v = try prepare(image, resolution: r, preprocess: options.preprocess)
                                        (rowsPtr + i * d).update(from: v, count: d)
                                        okPtr[i] = true
                                    } catch let e as ImageError {
                                        reasonPtr[i] = e.reason ?? e.message   // the report names the file itself
                                    } catch {
                                        reasonPtr[i] = "\(error)"
                                    }
                                    lock.lock()
                                    done += 1
                                    progress?(done, total)
                                    lock.unlock()
                                    i += threads
                                }
                            }
                        }
                    }
                }
                var good = 0
                for i in 0..<n {
                    if ok[i] {
                        if good != i {
                            rows.withUnsafeMutableBufferPointer { b in
                                let base = b.baseAddress!
                                (base + good * d).update(from: base + i * d, count: d)
                            }
                        }
                        good += 1
                    } else {
                        skipped.append(SkippedImage(path: paths[i], reason: reasons[i] ?? "unknown error"))
                    }
                }
                let folder = dataset.root + "/" + cls.folder
                guard good >= 2 else {
                    throw ImageError("dataset folder '\(folder)' has \(good) usable image\(good == 1 ? "" : "s") of \(n); fitting a class needs at least 2")
                }
                rows.removeLast((n - good) * d)
                let model = SeedClassModel(label: cls.label, name: labels.name(cls.label), rows: rows, count: good, dimension: d)
                rows = []
                try writer.append(model)
                used += good
            }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        return SeedFitReport(classes: dataset.classes.count, images: used, skipped: skipped,
                             seconds: Date().timeIntervalSince(start))
    }
}
