import ArgumentParser
import Foundation
import ImageIO
import RobustSynthHost

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Validate a pipeline spec, compose its plugins and run it into a run folder.",
        discussion: """
        The run folder holds one PNG per sample (samples/), grid.png, losses.csv, one loss plot \
        per class (loss-*.svg) and manifest.json. Running the same spec into the same folder \
        resumes it: finished samples are kept. Ctrl-C stops after the current batch, leaving a \
        resumable folder. --shard I/N runs every N-th sample starting at I (0-based), for job \
        arrays; join shard folders with `rsynth merge`.
        """)
    @OptionGroup var paths: PluginPathOptions
    @Argument(help: "The pipeline spec (YAML).", completion: .file(extensions: ["yaml", "yml"])) var spec: String
    @Option(help: "Run folder (default: the spec's output.dir, else runs/<spec name>).") var out: String?
    @Option(help: ArgumentHelp("Run only shard I of N (0 <= I < N).", valueName: "I/N")) var shard: String?
    @Flag(help: "Also save each sample's start and result as float32 .npy (C, H, W).") var saveTensors = false
    @Flag(help: "No progress output.") var quiet = false
    @Option(help: ArgumentHelp("Off a terminal, at most one progress line every this many seconds.", valueName: "seconds"))
    var progressInterval: Double = Progress.logInterval
    @Flag(help: "Print where the run's wall time went: plugin loading, weights, seeds, engine forward and backward, objective, steps, judging, file writing.")
    var profile = false

    func run() throws {
        let runProfile = profile ? RunProfile() : nil
        let catalog = paths.catalog()
        let validated: PipelineSpec
        switch SpecValidator.validate(path: spec, catalog: catalog) {
        case .success(let s): validated = s
        case .failure(let errors):
            for d in errors.diagnostics { warn(d.description) }
            throw ExitCode(1)
        }
        let name = URL(fileURLWithPath: spec).deletingPathExtension().lastPathComponent
        var options = RunOptions(outputDirectory: out ?? validated.outputDirectory ?? "runs/\(name)")
        if let shard { options.shard = try parseShard(shard) }
        options.saveTensors = saveTensors
        options.quiet = quiet
        guard progressInterval.isFinite, progressInterval >= 0 else {
            throw ValidationError("--progress-interval must be a number of seconds >= 0, got \(progressInterval)")
        }
        options.progressInterval = progressInterval
        if let runProfile {
            runProfile.add(.setup, RunProfile.elapsed(since: runProfile.started))
            options.profile = runProfile
        }
        Interruption.install()
        PluginCallGuard.install(resumeHint: "the samples written so far stay in \(options.outputDirectory) and the same command resumes the run")
        do {
            let summary = try PipelineRunner(spec: validated, catalog: catalog, options: options).run()
            let m = summary.manifest
            print("\(summary.ranSamples) samples run, \(summary.skippedSamples) already done, \(m.samples.count) of \(m.plan.total_samples) in \(summary.directory)")
            if let j = m.judge {
                print(String(format: "judge: %d of %d results (%.0f%%) recognised as their target by %d-NN on %@", j.recognised, j.judged,
                             j.agreement * 100, j.k, j.dataset))
            }
            if let grid = m.grid { print("grid: \((summary.directory as NSString).appendingPathComponent(grid))") }
            print("manifest: \((summary.directory as NSString).appendingPathComponent("manifest.json"))")
            if let runProfile { print(runProfile.table()) }
        } catch let e as RunInterrupted {
            warn("rsynth: \(e)")
            throw ExitCode(130)
        } catch {
            warn("rsynth: error: \(FileChecks.describe(error))")
            throw ExitCode(1)
        }
    }
}

func parseShard(_ text: String) throws -> (index: Int, count: Int) {
    let parts = text.split(separator: "/").map { Int($0) }
    guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
        throw ValidationError("--shard must be I/N with 0 <= I < N, got '\(text)'")
    }
    return (i, n)
}
