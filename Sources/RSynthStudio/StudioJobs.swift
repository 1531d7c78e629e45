import Foundation
import RobustSynthHost

/// The studio's runs, one at a time in submission order. Each is `rsynth run SPEC --out
/// RUNS/NAME` in a child process, so its folder is exactly what that command writes (resumable,
/// locked), and a run that fails or crashes leaves the server serving. Progress comes from the
/// child's progress lines (ProgressLine); cancelling sends it SIGINT, which stops it after the
/// file it is writing and leaves the folder resumable.
public final class StudioJobs: @unchecked Sendable {
    public enum State: String, Codable, Sendable { case queued, running, done, failed, cancelled }

    public struct Job: Codable, Equatable, Sendable {
        public var id: Int
        /// The run folder under the runs folder.
        public var name: String
        public var state: State
        public var progress: ProgressLine?
        /// Samples written so far (samples/NNNNNN.png), for the page to show as they finish.
        public var samples: [String]
        /// What the run printed at the end: its summary, or its error.
        public var message: String
        public var submitted: Double
    }

    let executable: URL
    let runs: String
    let extraArguments: [String]
    let interval: String
    private let lock = NSLock()
    private var jobs = [Job]()
    private var specs = [Int: String]()
    private var running: (id: Int, process: Process)?

    /// `extraArguments` go to every `rsynth run` (the studio's own `--plugin-path`s).
    public init(executable: URL, runs: String, extraArguments: [String], progressInterval: Double = 0.5) {
        self.executable = executable; self.runs = runs; self.extraArguments = extraArguments
        self.interval = String(progressInterval)
    }

    public struct Refusal: Error, CustomStringConvertible { public let description: String }

    /// Queues `rsynth run spec --out RUNS/name`; refused while another queued or running job
    /// writes the same folder.
    public func submit(name: String, spec: String) throws -> Job {
        lock.lock(); defer { lock.unlock() }
        if jobs.contains(where: { $0.name == name && ($0.state == .queued || $0.state == .running) }) {
            throw Refusal(description: "a run into '\(name)' is already queued or running")
        }
        let job = Job(id: (jobs.last?.id ?? 0) + 1, name: name, state: .queued, progress: nil, samples: [], message: "",
                      submitted: Date().timeIntervalSince1970)
        jobs.append(job)
        specs[job.id] = spec
        startNextLocked()
        return jobs.last { $0.id == job.id }!
    }

    /// Newest first, each with the samples its folder holds now.
    public func list() -> [Job] {
        lock.lock()
        var out = Array(jobs.reversed())
        lock.unlock()
        for i in out.indices { out[i].samples = samples(of: out[i].name) }
        return out
    }

    public func job(_ id: Int) -> Job? { list().first { $0.id == id } }

    /// A queued job is dropped; a running one is asked to stop (SIGINT) and ends `cancelled`
    /// once its child has exited. Nil for an unknown id; a finished job is left as it is.
    public func cancel(_ id: Int) -> Job? {
        lock.lock()
        guard let i = jobs.firstIndex(where: { $0.id == id }) else { lock.unlock(); return nil }
        if jobs[i].state == .queued {
            jobs[i].state = .cancelled
            jobs[i].message = "cancelled before it started"
        } else if jobs[i].state == .running, let r = running, r.id == id {
            kill(r.process.processIdentifier, SIGINT)
        }
        lock.unlock()
        return job(id)
    }

    /// Sends SIGINT to the running child and waits for it (the server is stopping).
    public func stop() {
        lock.lock()
        for i in jobs.indices where jobs[i].state == .queued { jobs[i].state = .cancelled }
        let r = running
        lock.unlock()
        if let r { kill(r.process.processIdentifier, SIGINT); r.process.waitUntilExit() }
    }

    func samples(of name: String) -> [String] { RunFolder.resultImages(in: runs + "/" + name) }

    private func startNextLocked() {
        guard running == nil, let i = jobs.firstIndex(where: { $0.state == .queued }), let spec = specs[jobs[i].id] else { return }
        let id = jobs[i].id
        let p = Process()
        p.executableURL = executable
        p.arguments = ["run", spec, "--out", runs + "/" + jobs[i].name, "--progress-interval", interval] + extraArguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let reader = LineReader()
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let chunk = h.availableData
            for line in reader.lines(chunk) { self?.record(id, line) }
        }
        p.terminationHandler = { [weak self] proc in
            err.fileHandleForReading.readabilityHandler = nil
            let rest = (try? err.fileHandleForReading.readToEnd()) ?? Data()
            for line in reader.lines(rest) + reader.flush() { self?.record(id, line) }
            let printed = String(decoding: (try? out.fileHandleForReading.readToEnd()) ?? Data(), as: UTF8.self)
            self?.finish(id, status: proc.terminationStatus, printed: printed)
        }
        do {
            try p.run()
            jobs[i].state = .running
            running = (id, p)
        } catch {
            jobs[i].state = .failed
            jobs[i].message = "cannot start \(executable.path): \(error)"
            startNextLocked()
        }
    }

    /// A line the child wrote to stderr: progress, or a message kept for the end.
    private func record(_ id: Int, _ line: String) {
        lock.lock(); defer { lock.unlock() }
        guard let i = jobs.firstIndex(where: { $0.id == id }) else { return }
        if let p = ProgressLine(line) { jobs[i].progress = p; return }
        guard !line.isEmpty else { return }
        // The last lines are the ones that say why a run ended; a chatty run keeps 40.
        var lines = jobs[i].message.isEmpty ? [] : jobs[i].message.components(separatedBy: "\n")
        lines.append(line)
        jobs[i].message = lines.suffix(40).joined(separator: "\n")
    }

    private func finish(_ id: Int, status: Int32, printed: String) {
        lock.lock(); defer { lock.unlock() }
        if let i = jobs.firstIndex(where: { $0.id == id }) {
            switch status {
            case 0:
                jobs[i].state = .done
                jobs[i].message = printed.trimmingCharacters(in: .whitespacesAndNewlines)
            case 130:
                jobs[i].state = .cancelled
            default:
                jobs[i].state = .failed
                if jobs[i].message.isEmpty { jobs[i].message = "rsynth run ended with status \(status)" }
            }
        }
        running = nil
        startNextLocked()
    }
}

/// Splits a byte stream into lines (a line may arrive in pieces).
final class LineReader: @unchecked Sendable {
    private var pending = Data()
    private let lock = NSLock()

    func lines(_ chunk: Data) -> [String] {
        lock.lock(); defer { lock.unlock() }
        pending.append(chunk)
        var out = [String]()
        while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
            out.append(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
            pending = Data(pending[(nl + 1)...])
        }
        return out
    }

    func flush() -> [String] {
        lock.lock(); defer { lock.unlock() }
        defer { pending = Data() }
        return pending.isEmpty ? [] : [String(decoding: pending, as: UTF8.self)]
    }
}
