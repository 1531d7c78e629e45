import Foundation

/// A progress bar with samples done, the current mean loss and an ETA on a terminal; plain
/// log lines otherwise (so logs of batch jobs stay readable).
public final class Progress {
    let total: Int
    let label: String
    let unit: String
    let interactive: Bool
    let start = Date()
    var lastLine = Date.distantPast
    public var enabled = true

    public init(total: Int, label: String, unit: String = "samples", interactive: Bool = isatty(STDERR_FILENO) != 0) {
        self.total = total; self.label = label; self.unit = unit; self.interactive = interactive
    }

    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// `done` of `total` finished, `partial` (0..1) of the current batch, mean loss of that batch.
    public func update(done: Int, partial: Double = 0, batchSize: Int = 0, loss: Float? = nil, force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let progress = Double(done) + partial * Double(batchSize)
        let eta = progress > 0 ? elapsed / progress * (Double(total) - progress) : .nan
        let lossText = loss.map { String(format: "  loss %.4f", $0) } ?? ""
        if interactive {
            guard force || now.timeIntervalSince(lastLine) > 0.1 else { return }
            lastLine = now
            let width = 30
            let filled = total > 0 ? min(width, Int(Double(width) * progress / Double(total))) : width
            let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
            // \u{1B}[K clears what a longer previous line left behind.
            FileHandle.standardError.write("\r\(label) [\(bar)] \(done)/\(total)\(lossText)  ETA \(Progress.clock(eta))\u{1B}[K".data(using: .utf8)!)
        } else {
            guard force || now.timeIntervalSince(lastLine) > 10 else { return }
            lastLine = now
            FileHandle.standardError.write("\(label): \(done)/\(total) \(unit)\(lossText), elapsed \(Progress.clock(elapsed)), ETA \(Progress.clock(eta))\n".data(using: .utf8)!)
        }
    }

    public func finish() {
        guard enabled else { return }
        if interactive { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}
