import ArgumentParser
import Foundation
import RSynthStudio

struct StudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "studio",
        abstract: "Serve a local web app over a folder of runs: a gallery, each run's page, two runs side by side.",
        discussion: """
        Open the printed address in a browser. The gallery lists every run folder under --runs \
        (newest first) with its grid, task, classifier, seed source, constraints, samples, judge \
        and time, filterable by task, classifier and class; a click opens the run's own page \
        (its index.html: samples, numbers, loss curves, the spec); ticking two runs puts them \
        side by side, e.g. the robust and the standard model on the same seeds. Only files \
        inside --runs are served. It listens on 127.0.0.1 (this machine only) unless --host \
        says otherwise. Example: `rsynth run Examples/quickstart.yaml --out runs/quickstart && \
        rsynth studio`.
        """)

    @Option(help: "The folder of run folders to serve.") var runs: String = "runs"
    @Option(help: "The port (0: one the system picks).") var port: Int = 8750
    @Option(help: "The address to listen on; 0.0.0.0 serves every network this machine is on.") var host: String = "127.0.0.1"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 ... 65535, got \(port)") }
    }

    func run() throws {
        let server = try StudioServer(runs: runs, host: host, port: port)
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
