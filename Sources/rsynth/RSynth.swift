import ArgumentParser

@main
struct RSynth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rsynth",
        abstract: "Image synthesis with a single robust classifier, composed from plugins.",
        subcommands: [
            // One line per command; each command lives in its own file.
            PluginsCommand.self,
            ValidateCommand.self,
            RunCommand.self,
            MergeCommand.self,
            ClassifyCommand.self,
            SaliencyCommand.self,
            SeedsCommand.self,
        ])
}
