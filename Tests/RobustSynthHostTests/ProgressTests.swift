import Foundation
@testable import RobustSynthHost
import XCTest

/// The progress line off a terminal (batch jobs' logs): steps move inside a batch, a line at
/// most every few seconds, the exact format pinned.
final class ProgressTests: XCTestCase {
    func testLogLinesShowStepsInsideABatchAtMostEveryFewSeconds() {
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let p = Progress(total: 8, label: "inpainting", stepsPerItem: 720, interactive: false, start: t0)
        XCTAssertEqual(p.line(done: 0, partial: 0, batchSize: 8, loss: nil, force: true, now: t0),
                       "inpainting: 0/8 samples  step 0/5760, elapsed 0:00, ETA --:--\n")
        // 10% into the first batch of 8: 576 of 5760 steps, ETA from the measured rate.
        XCTAssertEqual(p.line(done: 0, partial: 0.1, batchSize: 8, loss: 2.5, force: false, now: t0 + 6),
                       "inpainting: 0/8 samples  step 576/5760  loss 2.5000, elapsed 0:06, ETA 0:54\n")
        // Too soon for another line.
        XCTAssertNil(p.line(done: 0, partial: 0.2, batchSize: 8, loss: 2.0, force: false, now: t0 + 8))
        XCTAssertNotNil(p.line(done: 0, partial: 0.3, batchSize: 8, loss: 2.0, force: false, now: t0 + 6 + Progress.logInterval))
        // Without steps (fitting images): the old format.
        let fit = Progress(total: 10, label: "seeds fit", unit: "images", interactive: false, start: t0)
        XCTAssertEqual(fit.line(done: 5, partial: 0, batchSize: 0, loss: nil, force: true, now: t0 + 2),
                       "seeds fit: 5/10 images, elapsed 0:02, ETA 0:02\n")
    }

    func testStepsDoneOverStepsPlannedWhileSamplesStopEarly() {
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let p = Progress(total: 4, label: "generation", stepsPerItem: 31, interactive: false, start: t0)
        XCTAssertEqual(p.line(done: 0, stepsDone: 0, loss: nil, force: true, now: t0),
                       "generation: 0/4 samples  step 0/124, elapsed 0:00, ETA --:--\n")
        // Samples in flight at different steps; two stopped early, 40 steps no longer planned.
        p.plannedSteps -= 40
        XCTAssertEqual(p.line(done: 2, stepsDone: 42, loss: 0.5, force: true, now: t0 + 6),
                       "generation: 2/4 samples  step 42/84  loss 0.5000, elapsed 0:06, ETA 0:06\n")
    }

    /// `rsynth studio` reads these lines back from the runs it starts: each one it writes parses
    /// to the numbers in it, and other lines do not.
    func testTheLinesParseBackToTheirNumbers() throws {
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let p = Progress(total: 8, label: "inpainting", stepsPerItem: 720, interactive: false, start: t0, interval: 0.5)
        let line = try XCTUnwrap(p.line(done: 3, partial: 0.1, batchSize: 8, loss: 2.5, force: false, now: t0 + 6))
        XCTAssertEqual(ProgressLine(String(line.dropLast())),
                       ProgressLine(label: "inpainting", done: 3, total: 8, step: 2736, planned: 5760, loss: 2.5, elapsed: "0:06", eta: "0:07"))
        // Half a second later is not too soon at this interval.
        XCTAssertNotNil(p.line(done: 3, partial: 0.2, batchSize: 8, loss: 2.0, force: false, now: t0 + 6.5))
        let fit = Progress(total: 10, label: "seeds fit", unit: "images", interactive: false, start: t0)
        let plain = try XCTUnwrap(fit.line(done: 5, partial: 0, batchSize: 0, loss: nil, force: true, now: t0 + 2))
        XCTAssertEqual(ProgressLine(String(plain.dropLast())),
                       ProgressLine(label: "seeds fit", done: 5, total: 10, step: nil, planned: nil, loss: nil, elapsed: "0:02", eta: "0:02"))
        XCTAssertNil(ProgressLine("rsynth: error: no such file"))
        XCTAssertNil(ProgressLine("80 samples run, 0 already done, 80 of 80 in runs/x"))
    }
}
