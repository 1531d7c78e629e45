import ArgumentParser
import Foundation
import RSynthStudio

struct StudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "studio",
        abstract: "Serve a local web app to compose, run, watch and compare runs: a gallery, each run's page, two runs side by side.",
        discussion: """
        Open the printed address in a browser. The gallery lists every run folder under --runs \
        (newest first) with its grid, task, classifier, seed source, constraints, samples, judge \
        and time, filterable by task, classifier and class; a click opens the run's own page \
        (its index.html: samples, numbers, loss curves, the spec); ticking two runs puts them \
        side by side, e.g. the robust and the standard model on the same seeds. New run: a \
        form built from the plugins' parameters, starting from an example spec or a pasted \
        one, checked as `rsynth validate` checks it; runs are queued and run one at a time, \
        each as `rsynth run` into --runs/NAME, with their progress and samples shown as they \
        come, and can be cancelled (the folder stays resumable). Images you upload, paint a \
        mask on or draw go into --runs/data/. Only files inside --runs are served. It listens on 127.0.0.1 (this machine only) unless --host \
        says otherwise. Example: `rsynth run Examples/quickstart.yaml --out runs/quickstart && \
        rsynth studio`, or just `rsynth studio` and New run.
        """)

    @OptionGroup var paths: PluginPathOptions
    @Option(help: "The folder of run folders to serve; new runs go into it, uploads into its data/.") var runs: String = "runs"
    @Option(help: "The port (0: one the system picks).") var port: Int = 8750
    @Option(help: "The address to listen on; 0.0.0.0 serves every network this machine is on.") var host: String = "127.0.0.1"
    @Option(help: "The example specs the new-run form can start from (default: the ones shipped with rsynth).",
            completion: .directory) var examples: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 ... 65535, got \(port)") }
    }

    func run() throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        if !FileManager.default.fileExists(atPath: runs) {
            try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        }
        let server = try StudioServer(runs: runs, host: host, port: port, catalog: paths.catalog(), executable: executable,
                                      extraRunArguments: paths.pluginPaths.flatMap { ["--plugin-path", $0] },
                                      examples: examples ?? StudioExamples.folder(besides: executable))
        let local = host == "127.0.0.1" || host == "localhost" || host == "::1"
        let runsShown = runs
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        Task {
            do {
                try await server.run(ready: { url in
                    print("rsynth studio: serving the runs in \(runsShown) at \(url)" + (local ? " (this machine only; --host 0.0.0.0 to share it)" : ""))
                    fflush(stdout)
                })
            } catch { failure = error }
            done.signal()
        }
        done.wait()
        if let failure { throw failure }
    }
}
