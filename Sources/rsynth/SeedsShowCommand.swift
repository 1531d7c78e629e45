import ArgumentParser
import Foundation
import ImageIO
import RobustSynthCore

/// `rsynth seeds show`: the seed paper's Figure 1, one row per class, one column per distribution.
struct SeedsShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Draw one seed per class and distribution as a figure (rows: classes; columns: uniform, univariate, multivariate).")

    @Option(name: .long, help: "Seed-model file.")
    var model: String

    @Option(name: .long, help: "Comma-separated classes (index, name or WordNet id).")
    var classes: String

    @Option(name: .long, help: "Run seed.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Cell size: seeds are up-sampled to this (the classifier's input size).")
    var size: Int = 224

    @Option(name: .long, help: "Up-sampling: nearest or bilinear.")
    var upsample: Resample.Filter = .nearest

    @Option(name: .long, help: "Output .png file.")
    var out: String

    func validate() throws {
        guard size >= 1 else { throw ValidationError("--size must be at least 1") }
        guard SeedsCLI.fileExtension(out) == "png" else { throw ValidationError("--out must end in .png") }
        guard upsample != .area else { throw ValidationError("--upsample must be nearest or bilinear") }
    }

    func run() throws {
        let m = try SeedsCLI.readModel(model)
        let names = classes.split(separator: ",").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !names.isEmpty else { throw ValidationError("--classes is empty") }
        let models = try names.map { try SeedsCLI.classModel($0, in: m, path: model) }
        var rows = [[RGBImage]]()
        for (r, cm) in models.enumerated() {
            var row = [RGBImage]()
            for (c, dist) in SeedDistribution.allCases.enumerated() {
                let s = RandomStream.sampleSeed(run: seed, index: r * SeedDistribution.allCases.count + c)
                let x = try SeedSampling.draw(dist, model: m, classes: [cm.label], seeds: [s],
                                              size: (height: size, width: size), upsample: upsample)
                try ImageFile.requireFinite(x, for: out)
                row.append(RGBImage(tensor: x))
            }
            rows.append(row)
        }
        try ImageFile.writePNG(ImageGrid.make(rows: rows, gap: 4, scale: 1), to: out)
        print("wrote \(out): \(models.map(\.name).joined(separator: ", ")) x (uniform, univariate-normal, multivariate-normal), \(size)x\(size)")
    }
}
