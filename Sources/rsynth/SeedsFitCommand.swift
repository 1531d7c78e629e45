import ArgumentParser
import Foundation
import ImageIO
import RobustSynthCore
import RobustSynthHost

/// `rsynth seeds fit`: per-class mean, variance and centred data matrix of a dataset.
struct SeedsFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit per-class seed distributions on an image-folder dataset.",
        discussion: """
            DIR holds one folder per class, named by WordNet id (n01440764), class name or index.
            Images are brought to R x R (imagenet-eval: shorter side 256, centre 224, area average;
            centre-square: the largest centred square, area average). Corrupt images and images
            smaller than R x R are skipped and listed at the end.
            """)

    @Option(name: .long, help: "Dataset folder (one sub-folder per class).")
    var dataset: String

    @Option(name: .long, help: "Side R of the fitted images (56 for ImageNet-size data, 8 or 16 for small data).")
    var resolution: Int = 56

    @Option(name: .long, help: "Use at most N images per class (the first N by name).")
    var limitPerClass: Int?

    @Option(name: .long, help: "How images become R x R: imagenet-eval or centre-square.")
    var preprocess: SeedModel.Preprocess = .imageNetEval

    @Option(name: .long, help: "Class names: 'imagenet' or a class count K (folders named 0 ... K-1).")
    var labels: String = "imagenet"

    @Option(name: .long, help: "Decoding threads.")
    var threads: Int = 2

    @Option(name: .long, help: "The seed-model file to write.")
    var out: String

    func validate() throws {
        guard resolution >= 1 && resolution <= 1024 else { throw ValidationError("--resolution must be in [1, 1024]") }
        if let l = limitPerClass, l < 2 { throw ValidationError("--limit-per-class must be at least 2") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let labels = try SeedsCLI.labels(self.labels)
        let ds: ImageFolderDataset
        do { ds = try ImageFolderDataset(root: dataset, labels: labels, limitPerClass: limitPerClass) }
        catch let e as ImageError { throw CommandError(e.message) }
        FileHandle.standardError.write("fitting \(ds.classes.count) classes, \(ds.count) images at \(resolution)x\(resolution) (\(preprocess.rawValue))\n")
        let bar = Progress(total: ds.count, label: "fitting", unit: "images")
        let progress: (Int, Int) -> Void = { done, total in bar.update(done: done, force: done == total) }
        let report: SeedFitReport
        do {
            report = try SeedFitter.fit(dataset: ds, labels: labels,
                                        options: .init(resolution: resolution, preprocess: preprocess, threads: threads),
                                        to: out, progress: progress)
        } catch let e as ImageError { throw CommandError(e.message) }
        bar.finish()
        print("wrote \(out): \(report.classes) classes, \(report.images) images, R = \(resolution), \(String(format: "%.1f", report.seconds)) s")
        if !report.skipped.isEmpty {
            print("skipped \(report.skipped.count) image\(report.skipped.count == 1 ? "" : "s"):")
            for s in report.skipped { print("  \(s.path): \(s.reason)") }
        }
    }
}

extension FileHandle {
    func write(_ text: String) { write(Data(text.utf8)) }
}
