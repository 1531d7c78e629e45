import ArgumentParser
import Foundation
import ImageIO
import RobustSynthHost

struct JudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Judge a finished run's results again with an independent classifier trained on real images.",
        discussion: """
        A judge never sees the classifier the run used, so "the judge recognises the target" is \
        evidence that a person would too. `run` judges with the spec's k-NN; this command adds a \
        second opinion: --method linear (the default) fits a linear classifier (ridge regression, \
        closed form) on the grey pixels of DATASET's images, area-averaged to --size (default: \
        the largest whole divisor of the image side up to 14: 8 for the 16x16 digits, 14 for \
        Fashion-MNIST); --method knn is the k-NN on another folder. --check DIR also reports how \
        often the judge is right on real labelled images. Example: `rsynth judge \
        runs/quickstart/digits-generation-uniform-robust --dataset Examples/digits/data/train --check \
        Examples/digits/data/test`.
        """)
    @Argument(help: ArgumentHelp("A finished run folder (with manifest.json).", valueName: "run-folder")) var runFolder: String
    @Option(help: "Real images the judge learns from, one sub-folder per class (0 ... K-1, or ImageNet's).") var dataset: String
    @Option(help: "linear or knn.") var method: String = "linear"
    @Option(name: .customLong("of"), help: "Which image of each sample: result, start (the degraded image of super-resolution and inpainting) or seed.")
    var subject: String = "result"
    @Option(help: "k of the k-NN.") var k: Int = 5
    @Option(help: "The linear judge's feature side (pixels).") var size: Int?
    @Option(help: "The linear judge's ridge, relative to the mean pixel variance.") var ridge: Float = 0.1
    @Option(help: "Also report the judge's accuracy on these real labelled images.") var check: String?
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        guard RunJudging.Method(rawValue: method) != nil else {
            throw ValidationError("--method must be linear or knn, got '\(method)'")
        }
        guard RunJudging.Subject(rawValue: subject) != nil else {
            throw ValidationError("--of must be result, start or seed, got '\(subject)'")
        }
        guard k >= 1 else { throw ValidationError("--k must be at least 1, got \(k)") }
        if let size, size < 1 || size > 64 { throw ValidationError("--size must be 1 ... 64, got \(size)") }
        guard ridge > 0, ridge.isFinite else { throw ValidationError("--ridge must be a positive number, got \(ridge)") }
    }

    func run() throws {
        do {
            let s = try RunJudging.judge(run: runFolder, dataset: dataset, method: RunJudging.Method(rawValue: method)!,
                                         subject: RunJudging.Subject(rawValue: subject)!, k: k, size: size, ridge: ridge, check: check)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(s), as: UTF8.self))
            } else {
                print("judge: " + RunJudging.describe(s))
            }
        } catch {
            warn("rsynth: error: \(FileChecks.describe(error))")
            throw ExitCode(1)
        }
    }
}
