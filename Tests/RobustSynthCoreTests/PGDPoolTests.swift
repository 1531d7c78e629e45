import XCTest
@testable import RobustSynthCore

/// The pool of in-flight samples: without a stop rule exactly runPGD batch after batch; with
/// one, each sample stops where its rule first holds (checked in closed form on a linear
/// classifier), and its result is the same whatever samples share its engine calls.
final class PGDPoolTests: XCTestCase {
    let shape = ImageShape(channels: 3, height: 4, width: 4)

    func images(_ n: Int, seed: UInt64) -> Tensor {
        var rng = RandomStream(seed: seed)
        return Tensor(shape: [n, 3, 4, 4], data: (0..<(n * 48)).map { _ in rng.nextUniformFloat() })
    }

    func testWithoutAStopRuleThePoolIsRunPGDBatchAfterBatch() throws {
        let model = LinearModel(shape: shape, classes: 5, seed: 21)
        let x0 = images(7, seed: 22)
        for useBest in [true, false] {
            let settings = PGDSettings(steps: 12, stepSize: 0.3, useBest: useBest)
            var calls = [Int]()
            let pooled = try runPool(model, x0: x0, settings: settings, stop: nil, batch: 3, pad: false, calls: &calls)
            XCTAssertEqual(calls, [Int](repeating: 3, count: 26) + [Int](repeating: 1, count: 13))
            for start in stride(from: 0, to: 7, by: 3) {
                let ids = Array(start..<min(start + 3, 7))
                let problem = try PGDProblem(classifier: model, x0: x0.gather(ids), targets: ids.map { $0 % 5 }, mask: nil,
                                             constraints: [Ball(eps: 1.5)])
                let r = try runPGD(problem, settings: settings)
                for (k, id) in ids.enumerated() {
                    XCTAssertEqual(pooled[id]!.x, r.x.example(k))
                    XCTAssertEqual(pooled[id]!.loss, r.loss[k])
                    XCTAssertEqual(pooled[id]!.targetProbability, r.targetProbability[k])
                    XCTAssertEqual(pooled[id]!.lossHistory, r.lossHistory.map { $0[k] })
                    XCTAssertNil(pooled[id]!.stoppedAt)
                }
            }
        }
    }

    func testProbabilityRuleStopsAtTheFirstStepWhereItHoldsInClosedForm() throws {
        let model = LinearModel(shape: shape, classes: 5, seed: 23)
        let x0 = images(9, seed: 24)
        let p = 0.6
        var calls = [Int]()
        let results = try runPool(model, x0: x0, settings: PGDSettings(steps: 40, stepSize: 0.2, useBest: false),
                               stop: StopRule(probability: p), batch: 4, pad: true, calls: &calls)
        // Every call but the ones after the plan ran out is full; padded ones too.
        XCTAssertTrue(calls.allSatisfy { $0 <= 4 })
        XCTAssertEqual(calls.filter { $0 == 4 }.count, calls.firstIndex { $0 < 4 } ?? calls.count)
        var stopped = 0
        for (id, r) in results {
            func probability(_ x: [Float]) -> Double {
                let z = model.logits(x.map(Double.init))
                let m = z.max()!
                return exp(z[id % 5] - m) / z.map { exp($0 - m) }.reduce(0, +)
            }
            let closedForm = probability(r.x.data)
            guard let s = r.stoppedAt else {
                // Ran all steps: the rule never held before the last step.
                XCTAssertEqual(r.lossHistory.count, 41)
                for loss in r.lossHistory.dropLast() { XCTAssertLessThan(exp(-Double(loss)), p + 1e-6) }
                continue
            }
            stopped += 1
            XCTAssertEqual(r.lossHistory.count, s + 1, "the history ends at the stop")
            XCTAssertGreaterThanOrEqual(closedForm, p - 1e-6, "sample \(id) at step \(s)")
            XCTAssertEqual(Double(r.targetProbability), closedForm, accuracy: 1e-5)
            for loss in r.lossHistory.dropLast() { XCTAssertLessThan(exp(-Double(loss)), p, "stopped late") }
        }
        XCTAssertGreaterThan(stopped, 0)
        XCTAssertEqual(results.count, 9)
    }

    func testAResultDoesNotDependOnItsBatchWithEarlyStopping() throws {
        let model = LinearModel(shape: shape, classes: 5, seed: 25)
        let x0 = images(11, seed: 26)
        for stop in [StopRule(probability: 0.5), StopRule(patience: 3, minDelta: 0.01), StopRule(probability: 0.9, patience: 5)] {
            let settings = PGDSettings(steps: 30, stepSize: 0.25, useBest: true)
            var calls = [Int]()
            let alone = try runPool(model, x0: x0, settings: settings, stop: stop, batch: 1, pad: true, calls: &calls)
            let shared = try runPool(model, x0: x0, settings: settings, stop: stop, batch: 7, pad: true, calls: &calls)
            let unpadded = try runPool(model, x0: x0, settings: settings, stop: stop, batch: 7, pad: false, calls: &calls)
            XCTAssertTrue(alone.values.contains { $0.stoppedAt != nil }, "\(stop)")
            for id in 0..<11 {
                for other in [shared, unpadded] {
                    XCTAssertEqual(alone[id]!.x.data, other[id]!.x.data, "sample \(id), \(stop)")
                    XCTAssertEqual(alone[id]!.lossHistory, other[id]!.lossHistory)
                    XCTAssertEqual(alone[id]!.stoppedAt, other[id]!.stoppedAt)
                }
            }
        }
    }

    func testPatienceStopsWhenTheLossStalls() throws {
        // The Ball keeps every iterate within 0.05 of x0: the loss stalls within a few steps.
        let model = LinearModel(shape: shape, classes: 5, seed: 27)
        let x0 = images(3, seed: 28)
        let p = try PGDPool(classifier: model, constraints: [Ball(eps: 0.05)], taps: [], objective: Objectives.crossEntropy,
                            settings: PGDSettings(steps: 100, stepSize: 0.5), stop: StopRule(patience: 4, minDelta: 1e-3),
                            batchSize: 2, padToBatch: true)
        var done = false
        var results = [PGDSampleResult]()
        try p.run(admit: { _ in
            if done { return nil }
            done = true
            return PGDAdmission(ids: [0, 1, 2], x0: x0, mask: nil, targets: [0, 1, 2], items: [0, 1, 2], sourceTaps: nil, seeds: [0, 1, 2])
        }, finish: { results.append($0) })
        XCTAssertEqual(results.count, 3)
        for r in results {
            let s = try XCTUnwrap(r.stoppedAt)
            XCTAssertLessThan(s, 100)
            // No improvement by more than min_delta over the last `patience` steps, and the
            // lowest loss came `patience` steps before the stop.
            let h = r.lossHistory.map(Double.init)
            let bestBefore = h[0...(s - 4)].min()!
            XCTAssertTrue(h[(s - 3)...s].allSatisfy { $0 >= bestBefore - 1e-3 })
        }
    }
}
