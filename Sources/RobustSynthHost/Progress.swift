import Foundation

/// A progress bar with samples done, optimiser steps done of all planned, the current mean loss
/// and an ETA on a terminal; plain log lines otherwise, at most one every `logInterval` seconds
/// (so logs of batch jobs stay readable and a long batch still shows it moves).
public final class Progress {
    let total: Int
    let label: String
    let unit: String
    /// Optimiser steps per item (0: the items have no steps, e.g. images fitted).
    let stepsPerItem: Int
    let interactive: Bool
    let start: Date
    var lastLine = Date.distantPast
    public var enabled = true
    /// Steps planned for the whole run (every item's `stepsPerItem`); early stopping lowers it
    /// as samples stop.
    public lazy var plannedSteps = total * stepsPerItem
    public static let logInterval: TimeInterval = 5
    /// Seconds between lines off a terminal (`rsynth run --progress-interval`).
    let interval: TimeInterval

    public init(total: Int, label: String, unit: String = "samples", stepsPerItem: Int = 0,
                interactive: Bool = isatty(STDERR_FILENO) != 0, start: Date = Date(), interval: TimeInterval = Progress.logInterval) {
        self.total = total; self.label = label; self.unit = unit; self.stepsPerItem = stepsPerItem
        self.interactive = interactive; self.start = start; self.interval = interval
    }

    /// "  step 120/5760": steps of every item of the run, done ones counted whole.
    func stepsText(_ progress: Double) -> String {
        guard stepsPerItem > 0 else { return "" }
        return "  step \(Int((progress * Double(stepsPerItem)).rounded(.down)))/\(total * stepsPerItem)"
    }

    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// `done` of `total` finished, `partial` (0..1) of the current batch, mean loss of that batch.
    public func update(done: Int, partial: Double = 0, batchSize: Int = 0, loss: Float? = nil, force: Bool = false,
                       now: Date = Date()) {
        guard enabled else { return }
        if let line = line(done: done, partial: partial, batchSize: batchSize, loss: loss, force: force, now: now) {
            FileHandle.standardError.write(line.data(using: .utf8)!)
        }
    }

    /// `done` of `total` finished, `stepsDone` of `plannedSteps` steps (evaluations) of the run
    /// done, counting finished samples' steps whole: samples in flight may be at different steps.
    public func update(done: Int, stepsDone: Int, loss: Float? = nil, force: Bool = false, now: Date = Date()) {
        guard enabled else { return }
        if let line = line(done: done, stepsDone: stepsDone, loss: loss, force: force, now: now) {
            FileHandle.standardError.write(line.data(using: .utf8)!)
        }
    }

    func line(done: Int, stepsDone: Int, loss: Float?, force: Bool, now: Date) -> String? {
        let planned = max(plannedSteps, 1)
        // The same line as `update(done:partial:...)` with the progress measured in steps.
        return line(done: done, progress: Double(total) * Double(stepsDone) / Double(planned), loss: loss, force: force, now: now,
                    steps: stepsPerItem > 0 ? "  step \(stepsDone)/\(plannedSteps)" : nil)
    }

    /// What `update` writes, or nil when it is too soon for another line.
    func line(done: Int, partial: Double, batchSize: Int, loss: Float?, force: Bool, now: Date) -> String? {
        line(done: done, progress: Double(done) + partial * Double(batchSize), loss: loss, force: force, now: now, steps: nil)
    }

    /// `progress`: samples' worth of work done (fractional).
    func line(done: Int, progress: Double, loss: Float?, force: Bool, now: Date, steps stepsGiven: String?) -> String? {
        let elapsed = now.timeIntervalSince(start)
        let eta = progress > 0 ? elapsed / progress * (Double(total) - progress) : .nan
        let lossText = loss.map { String(format: "  loss %.4f", $0) } ?? ""
        let steps = stepsGiven ?? stepsText(progress)
        if interactive {
            guard force || now.timeIntervalSince(lastLine) > 0.1 else { return nil }
            lastLine = now
            let width = 30
            let filled = total > 0 ? min(width, Int(Double(width) * progress / Double(total))) : width
            let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
            // \u{1B}[K clears what a longer previous line left behind.
            return "\r\(label) [\(bar)] \(done)/\(total)\(steps)\(lossText)  ETA \(Progress.clock(eta))\u{1B}[K"
        }
        guard force || now.timeIntervalSince(lastLine) >= interval else { return nil }
        lastLine = now
        return "\(label): \(done)/\(total) \(unit)\(steps)\(lossText), elapsed \(Progress.clock(elapsed)), ETA \(Progress.clock(eta))\n"
    }

    public func finish() {
        guard enabled else { return }
        if interactive { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}

/// One line that `Progress` writes off a terminal, read back: how `rsynth studio` follows the runs
/// it started (`LABEL: DONE/TOTAL UNIT[  step S/P][  loss L], elapsed CLOCK, ETA CLOCK`).
public struct ProgressLine: Equatable, Codable, Sendable {
    public var label: String
    public var done: Int
    public var total: Int
    public var step: Int?
    public var planned: Int?
    public var loss: Double?
    public var elapsed: String
    public var eta: String

    nonisolated(unsafe) static let pattern = try! NSRegularExpression(
        pattern: #"^(.+): (\d+)/(\d+) \S+(?:  step (\d+)/(\d+))?(?:  loss (\S+))?, elapsed ([0-9:-]+), ETA ([0-9:-]+)$"#)

    public init(label: String, done: Int, total: Int, step: Int?, planned: Int?, loss: Double?, elapsed: String, eta: String) {
        self.label = label; self.done = done; self.total = total; self.step = step; self.planned = planned
        self.loss = loss; self.elapsed = elapsed; self.eta = eta
    }

    /// nil for any other line (warnings, the summary, errors).
    public init?(_ line: String) {
        let ns = line as NSString
        guard let m = Self.pattern.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)) else { return nil }
        func group(_ i: Int) -> String? {
            let r = m.range(at: i)
            return r.location == NSNotFound ? nil : ns.substring(with: r)
        }
        guard let done = group(2).flatMap({ Int($0) }), let total = group(3).flatMap({ Int($0) }) else { return nil }
        label = group(1)!; self.done = done; self.total = total
        step = group(4).flatMap { Int($0) }; planned = group(5).flatMap { Int($0) }
        loss = group(6).flatMap { Double($0) }.flatMap { $0.isFinite ? $0 : nil }
        elapsed = group(7)!; eta = group(8)!
    }
}
