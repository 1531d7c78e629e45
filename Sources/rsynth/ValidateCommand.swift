import ArgumentParser
import Foundation
import RobustSynthHost

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline spec without running it.",
        discussion: """
        Checks the structure, every plugin name and kind, every parameter's type and range, and \
        the references between sections (constraints a task needs). Prints every problem as \
        SPEC:LINE:COLUMN: error: MESSAGE and exits with status 1, or prints a one-line summary.
        """)
    @OptionGroup var paths: PluginPathOptions
    @Argument(help: "The pipeline spec (YAML).", completion: .file(extensions: ["yaml", "yml"])) var spec: String

    func run() throws {
        let catalog = paths.catalog()
        switch SpecValidator.validate(path: spec, catalog: catalog) {
        case .success(let s):
            print("\(spec): ok: \(s.classifier.plugin.info.name) -> \(s.task.plugin.info.name) from \(s.seed.plugin.info.name) seeds, \(s.constraints.count) constraint\(s.constraints.count == 1 ? "" : "s")")
        case .failure(let errors):
            for d in errors.diagnostics { print(d) }
            throw ExitCode(1)
        }
    }
}
