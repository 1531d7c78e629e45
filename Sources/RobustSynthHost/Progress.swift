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
    public static let logInterval: TimeInterval = 5

    public init(total: Int, label: String, unit: String = "samples", stepsPerItem: Int = 0,
                interactive: Bool = isatty(STDERR_FILENO) != 0, start: Date = Date()) {
        self.total = total; self.label = label; self.unit = unit; self.stepsPerItem = stepsPerItem
        self.interactive = interactive; self.start = start
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

    /// What `update` writes, or nil when it is too soon for another line.
    func line(done: Int, partial: Double, batchSize: Int, loss: Float?, force: Bool, now: Date) -> String? {
        let elapsed = now.timeIntervalSince(start)
        let progress = Double(done) + partial * Double(batchSize)
        let eta = progress > 0 ? elapsed / progress * (Double(total) - progress) : .nan
        let lossText = loss.map { String(format: "  loss %.4f", $0) } ?? ""
        let steps = stepsText(progress)
        if interactive {
            guard force || now.timeIntervalSince(lastLine) > 0.1 else { return nil }
            lastLine = now
            let width = 30
            let filled = total > 0 ? min(width, Int(Double(width) * progress / Double(total))) : width
            let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
            // \u{1B}[K clears what a longer previous line left behind.
            return "\r\(label) [\(bar)] \(done)/\(total)\(steps)\(lossText)  ETA \(Progress.clock(eta))\u{1B}[K"
        }
        guard force || now.timeIntervalSince(lastLine) >= Progress.logInterval else { return nil }
        lastLine = now
        return "\(label): \(done)/\(total) \(unit)\(steps)\(lossText), elapsed \(Progress.clock(elapsed)), ETA \(Progress.clock(eta))\n"
    }

    public func finish() {
        guard enabled else { return }
        if interactive { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}
