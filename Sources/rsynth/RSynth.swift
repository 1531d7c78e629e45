import ArgumentParser
import RobustSynthHost

@main
struct RSynth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rsynth",
        abstract: "Image synthesis with a single robust classifier, composed from plugins.",
        discussion: """
        Start with `rsynth run Examples/quickstart.yaml` (after `swift build -c release`; \
        installed: `rsynth run PREFIX/share/rsynth/examples/quickstart.yaml`), or \
        write a pipeline spec: a classifier, a seed source, a task and constraints, each a plugin \
        (`rsynth plugins` lists them, `rsynth plugins describe NAME` explains one). \
        `rsynth validate SPEC` checks a spec; `rsynth inspect FILE` describes a checkpoint.
        """,
        version: rsynthVersionDescription,
        subcommands: [
            // One line per command; each command lives in its own file.
            PluginsCommand.self,
            ValidateCommand.self,
            RunCommand.self,
            MergeCommand.self,
            JudgeCommand.self,
            ClassifyCommand.self,
            SaliencyCommand.self,
            InspectCommand.self,
            BenchCommand.self,
            SeedsCommand.self,
            StudioCommand.self,
            ScanPluginsCommand.self,
        ])
}
