import ArgumentParser
import Foundation
import ImageIO
import RobustSynthCore

/// `rsynth seeds sample`: draw seeds of one class.
struct SeedsSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw seeds of one class from a fitted seed model.",
        discussion: """
            A .npy file: float32 (N, 3, R, R) at the model's resolution, clamped to [0, 1].
            A .png file: a grid of the N seeds. Sample i uses the seed RandomStream.sampleSeed(run: S, index: i),
            so the same S gives the same seeds whatever N.
            """)

    @Option(name: .long, help: "Seed-model file (from `rsynth seeds fit`).")
    var model: String

    @Option(name: .long, help: "Class: index, name or WordNet id.")
    var `class`: String

    @Option(name: .long, help: "Number of seeds.")
    var count: Int = 8

    @Option(name: .long, help: "Run seed.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "uniform, univariate-normal or multivariate-normal.")
    var sampler: SeedDistribution = .multivariateNormal

    @Option(name: .long, help: "Isotropic variance added to the multivariate normal's covariance.")
    var jitter: Float = SeedSampling.defaultJitter

    @Option(name: .long, help: "Output file: .npy or .png.")
    var out: String

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard ["npy", "png"].contains(SeedsCLI.fileExtension(out)) else {
            throw ValidationError("--out must end in .npy or .png, got '\(out)'")
        }
        guard jitter >= 0 else { throw ValidationError("--jitter must be >= 0") }
    }

    func run() throws {
        let m = try SeedsCLI.readModel(model)
        let cm = try SeedsCLI.classModel(`class`, in: m, path: model)
        let seeds = (0..<count).map { RandomStream.sampleSeed(run: seed, index: $0) }
        let x = try SeedSampling.draw(sampler, model: m, classes: [Int](repeating: cm.label, count: count),
                                      seeds: seeds, jitter: jitter)
        if SeedsCLI.fileExtension(out) == "npy" {
            try NPY.write(x, to: out)
        } else {
            try ImageFile.requireFinite(x, for: out)
            let grid = ImageGrid.make(RGBImage.images(from: x), columns: min(count, 8), gap: 2, minCellSize: 112)
            try ImageFile.writePNG(grid, to: out)
        }
        print("wrote \(out): \(count) \(sampler.rawValue) seed\(count == 1 ? "" : "s") of class \(cm.label) (\(cm.name)), \(m.resolution)x\(m.resolution)")
    }
}
