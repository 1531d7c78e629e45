import XCTest
@testable import RobustSynthCore

/// Step rules and schedules (StepRules.swift): the schedules and the rules' directions in closed
/// form and against a Double re-computation, and in the pool: one sample run by hand with the
/// same rule and schedule gives the pool's result, a result does not depend on its batch-mates,
/// and the rule changes the path (the default stays runPGD's, PGDPoolTests).
final class StepRulesTests: XCTestCase {
    func testSchedulesInClosedForm() {
        XCTAssertEqual(StepSchedule.constant.factor(step: 7, of: 10), 1)
        XCTAssertEqual(StepSchedule.linear.factor(step: 0, of: 10), 1)
        XCTAssertEqual(StepSchedule.linear.factor(step: 5, of: 10), 0.5, accuracy: 1e-15)
        XCTAssertEqual(StepSchedule.linear.factor(step: 9, of: 10), 0.1, accuracy: 1e-15)
        XCTAssertEqual(StepSchedule.cosine.factor(step: 0, of: 10), 1)
        XCTAssertEqual(StepSchedule.cosine.factor(step: 5, of: 10), 0.5, accuracy: 1e-15)
        XCTAssertEqual(StepSchedule.cosine.factor(step: 9, of: 10), (1 + cos(0.9 * Double.pi)) / 2, accuracy: 1e-15)
    }

    func testMomentumIsTheL1NormalisedGradientAccumulated() {
        let g1: [Float] = [1, -3, 0, 4], g2: [Float] = [-2, 2, 1, 0]
        var s = StepRuleState()
        let d1 = s.direction(.momentum(0.5), g1[...])
        let d2 = s.direction(.momentum(0.5), g2[...])
        for j in 0..<4 {
            let e1 = Double(g1[j]) / 8, e2 = 0.5 * e1 + Double(g2[j]) / 5
            XCTAssertEqual(Double(d1[j]), e1, accuracy: 1e-7)
            XCTAssertEqual(Double(d2[j]), e2, accuracy: 1e-7)
        }
        var plain = StepRuleState()
        XCTAssertEqual(plain.direction(.plain, g1[...]), g1)
    }

    func testAdamsFirstDirectionIsTheSignAndItsSecondFollowsTheMoments() {
        let g1: [Float] = [0.5, -2, 0.001, 3], g2: [Float] = [1, 1, -1, 3]
        let b1 = 0.8, b2 = 0.9
        var s = StepRuleState()
        let d1 = s.direction(.adam(beta1: b1, beta2: b2), g1[...])
        let d2 = s.direction(.adam(beta1: b1, beta2: b2), g2[...])
        for j in 0..<4 {
            // Bias-corrected moments after one step are g and g^2: the direction is g / (|g| + 1e-8).
            XCTAssertEqual(Double(d1[j]), Double(g1[j]) / (abs(Double(g1[j])) + 1e-8), accuracy: 1e-6)
            let m = (b1 * (1 - b1) * Double(g1[j]) + (1 - b1) * Double(g2[j])) / (1 - b1 * b1)
            let v = (b2 * (1 - b2) * Double(g1[j] * g1[j]) + (1 - b2) * Double(g2[j] * g2[j])) / (1 - b2 * b2)
            XCTAssertEqual(Double(d2[j]), m / (v.squareRoot() + 1e-8), accuracy: 1e-5)
        }
    }

    let shape = ImageShape(channels: 3, height: 4, width: 4)

    func images(_ n: Int, seed: UInt64) -> Tensor {
        var rng = RandomStream(seed: seed)
        return Tensor(shape: [n, 3, 4, 4], data: (0..<(n * 48)).map { _ in rng.nextUniformFloat() })
    }

    func pool(_ model: LinearModel, x0: Tensor, settings: PGDSettings, stop: StopRule?, batch: Int) throws -> [Int: PGDSampleResult] {
        var calls = [Int]()
        return try runPool(model, x0: x0, settings: settings, stop: stop, batch: batch, pad: true, calls: &calls)
    }

    /// One sample by hand: evaluate, keep the best, direction, L2 step at the scheduled size, project.
    func byHand(_ model: LinearModel, x0: Tensor, target: Int, settings: PGDSettings) throws -> (x: [Float], history: [Float]) {
        let problem = try PGDProblem(classifier: model, x0: x0, targets: [target], mask: nil, constraints: [Ball(eps: 1.5)])
        var x = x0, state = StepRuleState()
        var best = x.data, bestLoss = Float.infinity, history = [Float]()
        for step in 0...settings.steps {
            let e = try problem.evaluate(x, step: step)
            history.append(e.loss[0])
            if e.loss[0] < bestLoss { bestLoss = e.loss[0]; best = x.data }
            if step == settings.steps { break }
            let d = Tensor(shape: x.shape, data: state.direction(settings.rule, e.gradient.data[...]))
            l2DescentStep(&x, gradient: d, stepSize: settings.stepSize * settings.schedule.factor(step: step, of: settings.steps))
            projectOntoL2Ball(&x, center: x0, radius: 1.5)
            clampToUnitInterval(&x)
        }
        return (best, history)
    }

    func testThePoolStepsEachSampleByItsRuleAndSchedule() throws {
        let model = LinearModel(shape: shape, classes: 5, seed: 31)
        let x0 = images(9, seed: 32)
        let plainSettings = PGDSettings(steps: 20, stepSize: 0.3)
        let plain = try pool(model, x0: x0, settings: plainSettings, stop: nil, batch: 4)
        for (rule, schedule) in [(StepRule.momentum(0.9), StepSchedule.constant), (.adam(beta1: 0.9, beta2: 0.999), .cosine),
                                 (.plain, .linear)] {
            let settings = PGDSettings(steps: 20, stepSize: 0.3, rule: rule, schedule: schedule)
            let shared = try pool(model, x0: x0, settings: settings, stop: nil, batch: 4)
            // With a stop rule, samples at different steps share calls (the schedule differs per row).
            let stopping = try pool(model, x0: x0, settings: settings, stop: StopRule(probability: 0.6), batch: 4)
            let alone = try pool(model, x0: x0, settings: settings, stop: StopRule(probability: 0.6), batch: 1)
            XCTAssertTrue(stopping.values.contains { $0.stoppedAt != nil } && stopping.values.contains { $0.stoppedAt == nil },
                          "\(rule) \(schedule): some samples stop early, some do not")
            for id in 0..<9 {
                let hand = try byHand(model, x0: x0.example(id), target: id % 5, settings: settings)
                XCTAssertEqual(shared[id]!.lossHistory, hand.history, "\(rule) \(schedule) sample \(id)")
                XCTAssertEqual(shared[id]!.x.data, hand.x, "\(rule) \(schedule) sample \(id)")
                XCTAssertNotEqual(shared[id]!.lossHistory, plain[id]!.lossHistory, "\(rule) \(schedule) changes the path")
                XCTAssertEqual(stopping[id]!.x.data, alone[id]!.x.data, "\(rule) \(schedule) sample \(id): batch-mates")
                XCTAssertEqual(stopping[id]!.stoppedAt, alone[id]!.stoppedAt)
            }
        }
    }
}
