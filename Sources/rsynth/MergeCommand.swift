import ArgumentParser
import Foundation
import ImageIO
import RobustSynthHost

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the run folders of shards of one spec into one run, with its grid and manifest.")
    @Option(help: "The merged run folder.") var out: String
    @Argument(help: "Shard run folders (made by `rsynth run --shard I/N` of the same spec).") var shards: [String]

    func run() throws {
        do {
            let manifest = try RunMerge.merge(shards: shards, into: out)
            print("merged \(shards.count) folders: \(manifest.samples.count) of \(manifest.plan.total_samples) samples in \(out)")
        } catch {
            warn("rsynth: error: \(FileChecks.describe(error))")
            throw ExitCode(1)
        }
    }
}
