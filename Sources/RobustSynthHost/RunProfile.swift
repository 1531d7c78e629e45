import Foundation

/// Where a run's wall time goes (`rsynth run --profile`): each phase's seconds, summed over the
/// run. The engine's phases are measured by wrapping the classifier (`ProfiledClassifier`), the
/// objective and the constraints (`ProfiledConstraint`); the pool's own work (use_best copies,
/// step rules, gathering rows) is what its calls take besides them. Everything but the engine
/// above a few percent is worth a look.
public final class RunProfile {
    public enum Phase: Int, CaseIterable {
        case setup, compose, judgeLoad, seeds, forward, backward, objective, steps, pool, judging, sampleFiles, finalize

        public var label: String {
            switch self {
            case .setup: return "loading plugins, checking the spec"
            case .compose: return "creating the plugins (weights read)"
            case .judgeLoad: return "loading the judge's dataset"
            case .seeds: return "seeds and start images"
            case .forward: return "engine forward"
            case .backward: return "engine backward (input gradient)"
            case .objective: return "objective (loss and its gradient)"
            case .steps: return "steps, penalties, projections"
            case .pool: return "pool bookkeeping (use_best, rules, rows)"
            case .judging: return "judging results"
            case .sampleFiles: return "encoding and writing sample files"
            case .finalize: return "grid, plots, manifest, index.html"
            }
        }
    }

    var seconds = [Double](repeating: 0, count: Phase.allCases.count)
    public let started: ContinuousClock.Instant

    public init(started: ContinuousClock.Instant = .now) { self.started = started }

    public func add(_ phase: Phase, _ s: Double) { seconds[phase.rawValue] += s }
    public func seconds(_ phase: Phase) -> Double { seconds[phase.rawValue] }

    /// Runs `body`, adding its wall time to `phase`.
    public func time<T>(_ phase: Phase, _ body: () throws -> T) rethrows -> T {
        let t = ContinuousClock.now
        defer { add(phase, Self.elapsed(since: t)) }
        return try body()
    }

    public static func elapsed(since t: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - t
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// The table `--profile` prints: a row per phase that took any time, its share of `total`
    /// (the wall time since `started`), and what no phase accounts for.
    public func table(total: Double? = nil) -> String {
        let all = total ?? Self.elapsed(since: started)
        let width = Phase.allCases.map(\.label.count).max()! + 2
        func row(_ label: String, _ s: Double) -> String {
            label.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "%8.3f s %6.1f%%", s, all > 0 ? 100 * s / all : 0)
        }
        var lines = ["where the time went (rsynth run --profile): \(String(format: "%.3f", all)) s in all"]
        for phase in Phase.allCases where seconds(phase) > 0 { lines.append("  " + row(phase.label, seconds(phase))) }
        lines.append("  " + row("the rest (start-up, folder, progress)", max(all - seconds.reduce(0, +), 0)))
        return lines.joined(separator: "\n")
    }
}
