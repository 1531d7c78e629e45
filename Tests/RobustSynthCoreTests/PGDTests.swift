import XCTest
@testable import RobustSynthCore

final class PGDTests: XCTestCase {
    let shape = ImageShape(channels: 3, height: 4, width: 4)

    func randomImages(_ n: Int, seed: UInt64) -> Tensor {
        var rng = RandomStream(seed: seed)
        return Tensor(shape: [n, 3, 4, 4], data: (0..<(n * 48)).map { _ in rng.nextUniformFloat() })
    }

    func testCrossEntropyMatchesClosedForm() {
        // logits (0, ln 3): softmax = (1/4, 3/4); CE to class 1 = ln(4/3), to class 0 = ln 4.
        let logits = Tensor(shape: [2, 2], data: [0, Float(log(3.0)), 0, Float(log(3.0))])
        let (loss, d, p) = crossEntropy(logits: logits, targets: [1, 0])
        XCTAssertEqual(loss[0], Float(log(4.0 / 3.0)), accuracy: 1e-6)
        XCTAssertEqual(loss[1], Float(log(4.0)), accuracy: 1e-6)
        XCTAssertEqual(d.data, [0.25, -0.25, -0.75, 0.75].map(Float.init), accuracy: 1e-6)
        XCTAssertEqual(p[0], 0.75, accuracy: 1e-6)
        XCTAssertEqual(p[1], 0.25, accuracy: 1e-6)
    }

    func testInputGradientOfLinearModelIsWTransposeTimesSoftmaxMinusOneHot() throws {
        let model = LinearModel(shape: shape, classes: 5, seed: 1)
        let x = randomImages(2, seed: 2)
        let problem = try PGDProblem(classifier: model, x0: x, targets: [3, 0], mask: nil, constraints: [])
        let e = try problem.evaluate(x)
        for i in 0..<2 {
            let xi = x.data[x.exampleRange(i)].map(Double.init)
            let z = model.logits(xi)
            let m = z.max()!
            let s = z.map { exp($0 - m) }.reduce(0, +)
            let p = z.map { exp($0 - m) / s }
            let t = [3, 0][i]
            XCTAssertEqual(Double(e.loss[i]), -log(p[t]), accuracy: 1e-5)
            for j in 0..<48 {
                var g = 0.0
                for k in 0..<5 { g += (p[k] - (k == t ? 1 : 0)) * model.w[k][j] }
                XCTAssertEqual(Double(e.gradient.data[i * 48 + j]), g, accuracy: 1e-6)
            }
        }
    }

    func testLossGradientWithPenaltyAgreesWithFiniteDifferences() throws {
        let model = LinearModel(shape: shape, classes: 4, seed: 3)
        let x0 = randomImages(1, seed: 4)
        var mask = Tensor(zeros: [1, 1, 4, 4])
        for p in [5, 6, 9, 10] { mask.data[p] = 1 }
        let problem = try PGDProblem(classifier: model, x0: x0, targets: [2], mask: mask, constraints: [MaskedPenalty(lambda: 10)])
        var x = randomImages(1, seed: 5)
        let e = try problem.evaluate(x)
        let h: Float = 1e-2
        for j in stride(from: 0, to: 48, by: 5) {
            let keep = x.data[j]
            x.data[j] = keep + h
            let up = try problem.evaluate(x).loss[0]
            x.data[j] = keep - h
            let down = try problem.evaluate(x).loss[0]
            x.data[j] = keep
            XCTAssertEqual((up - down) / (2 * h), e.gradient.data[j], accuracy: 2e-3, "pixel \(j)")
        }
    }

    func testDescentStepHasLengthAlphaAlongTheGradient() {
        var x = Tensor(shape: [2, 1, 1, 2], data: [0.5, 0.5, 0.2, 0.2])
        let g = Tensor(shape: [2, 1, 1, 2], data: [3, 4, 0, -2])
        l2DescentStep(&x, gradient: g, stepSize: 0.5)
        // ||(3,4)|| = 5: x - 0.5 * (0.6, 0.8); ||(0,-2)|| = 2: x - 0.5 * (0, -1).
        XCTAssertEqual(x.data, [0.2, 0.1, 0.2, 0.7], accuracy: 1e-6)
    }

    func testProjectionRenormsOnlyOutsideTheBall() {
        let x0 = Tensor(shape: [2, 1, 1, 2], data: [0, 0, 0, 0])
        var x = Tensor(shape: [2, 1, 1, 2], data: [3, 4, 0.3, 0.4])
        projectOntoL2Ball(&x, center: x0, radius: 1)
        // Outside: scaled by 1 / (5 + 1e-7), torch.renorm's rule; inside (norm 0.5): untouched.
        XCTAssertEqual(Double(x.data[0]), 3 / (5 + 1e-7), accuracy: 1e-7)
        XCTAssertEqual(Double(x.data[1]), 4 / (5 + 1e-7), accuracy: 1e-7)
        XCTAssertEqual(Array(x.data[2...]), [0.3, 0.4])
    }

    func testOneStepMatchesTheRobustnessLibraryFormula() throws {
        let model = LinearModel(shape: shape, classes: 5, seed: 7)
        let x0 = randomImages(2, seed: 8)
        let problem = try PGDProblem(classifier: model, x0: x0, targets: [1, 4], mask: nil, constraints: [Ball(eps: 0.3)])
        let result = try runPGD(problem, settings: PGDSettings(steps: 1, stepSize: 0.5, useBest: false))
        // By hand, in Double: x1 = clamp(x0 + renorm(-alpha g/(||g||+1e-10), eps), 0, 1).
        let e = try problem.evaluate(x0)
        for i in 0..<2 {
            let g = e.gradient.data[x0.exampleRange(i)].map(Double.init)
            let norm = g.map { $0 * $0 }.reduce(0, +).squareRoot()
            var delta = g.map { -0.5 * $0 / (norm + 1e-10) }
            let dn = delta.map { $0 * $0 }.reduce(0, +).squareRoot()
            if dn > 0.3 { delta = delta.map { $0 * 0.3 / (dn + 1e-7) } }
            for j in 0..<48 {
                let expected = min(max(Double(x0.data[i * 48 + j]) + delta[j], 0), 1)
                XCTAssertEqual(Double(result.x.data[i * 48 + j]), expected, accuracy: 1e-6)
            }
        }
    }

    func testPGDStaysInTheBallAndLowersTheLoss() throws {
        let model = LinearModel(shape: shape, classes: 5, seed: 9)
        let x0 = randomImages(3, seed: 10)
        let problem = try PGDProblem(classifier: model, x0: x0, targets: [0, 2, 4], mask: nil, constraints: [Ball(eps: 1)])
        let r = try runPGD(problem, settings: PGDSettings(steps: 30, stepSize: 0.1))
        XCTAssertEqual(r.lossHistory.count, 31)
        for i in 0..<3 {
            var sq = 0.0
            for j in x0.exampleRange(i) {
                XCTAssert((0...1).contains(r.x.data[j]))
                sq += Double(r.x.data[j] - x0.data[j]) * Double(r.x.data[j] - x0.data[j])
            }
            XCTAssertLessThanOrEqual(sq.squareRoot(), 1 + 1e-4)
            XCTAssertLessThan(r.loss[i], r.lossHistory[0][i])
        }
    }

    func testUseBestKeepsTheLowestLossIterate() throws {
        // A huge step overshoots nothing here (the loss is convex along the path), so make the
        // last iterate worse on purpose: step towards the target, then a projection that undoes it.
        final class Undo: Constraint {
            var calls = 0
            var hasPenalty: Bool { false }
            var hasProjection: Bool { true }
            func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws {}
            func project(_ batch: ConstraintBatch, x: inout Tensor) throws {
                calls += 1
                if calls == 3 { x = batch.x0 }  // the third iterate goes back to the start
            }
        }
        let model = LinearModel(shape: shape, classes: 3, seed: 11)
        let x0 = randomImages(1, seed: 12)
        let best = try runPGD(PGDProblem(classifier: model, x0: x0, targets: [1], mask: nil, constraints: [Undo()]),
                              settings: PGDSettings(steps: 3, stepSize: 0.2, useBest: true))
        let last = try runPGD(PGDProblem(classifier: model, x0: x0, targets: [1], mask: nil, constraints: [Undo()]),
                              settings: PGDSettings(steps: 3, stepSize: 0.2, useBest: false))
        let h = best.lossHistory.map { $0[0] }
        XCTAssertEqual(last.x, x0)
        XCTAssertEqual(best.loss[0], h.min()!)
        XCTAssertLessThan(best.loss[0], h.last!)
    }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
