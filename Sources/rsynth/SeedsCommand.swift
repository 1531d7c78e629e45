import ArgumentParser
import Foundation
import ImageIO
import RobustSynthCore

/// `rsynth seeds`: fit, sample and show the seed distributions.
struct SeedsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seeds",
        abstract: "Fit and sample the class-conditional seed distributions (uniform, univariate and multivariate normal).",
        subcommands: [SeedsFitCommand.self, SeedsSampleCommand.self, SeedsShowCommand.self])
}

/// Shared helpers of the seeds commands.
enum SeedsCLI {
    /// "imagenet" or a class count ("10": classes named 0 ... 9).
    static func labels(_ text: String) throws -> ClassLabels {
        do { return try SeedModelSource.labels(text) } catch { throw ValidationError("--labels: \(error)") }
    }

    /// The class model that `text` names: a class index, a class name stored in the model, or
    /// anything ImageNet's table resolves (WordNet id, lemma).
    static func classModel(_ text: String, in model: SeedModel, path: String) throws -> SeedClassModel {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let i = Int(t), let c = model.classModel(i) { return c }
        for form in [t, t.replacingOccurrences(of: "_", with: " ")] {
            if let c = model.classes.first(where: { $0.name.lowercased() == form.lowercased() }) { return c }
            if let i = ClassLabels.imageNet.resolve(form), let c = model.classModel(i),
               c.name == ClassLabels.imageNet.name(i) { return c }
        }
        var msg = "seed model '\(path)' has no class '\(t)'"
        if Int(t) == nil, let m = closestMatch(to: t, in: model.classes.map(\.name)) { msg += " (did you mean '\(m)'?)" }
        let names = model.classes.prefix(12).map { "\($0.label) (\($0.name))" }.joined(separator: ", ")
        msg += "; it has \(names)\(model.classes.count > 12 ? ", ..." : "")"
        throw CommandError(msg)
    }

    static func readModel(_ path: String) throws -> SeedModel {
        do { return try SeedModel.read(path) } catch let e as ImageError { throw CommandError(e.message) }
    }

    static func fileExtension(_ path: String) -> String { URL(fileURLWithPath: path).pathExtension.lowercased() }
}

extension SeedDistribution: ExpressibleByArgument {}
extension SeedModel.Preprocess: ExpressibleByArgument {}
extension Resample.Filter: ExpressibleByArgument {}
