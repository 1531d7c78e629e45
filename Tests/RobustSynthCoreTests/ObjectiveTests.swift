import RobustSynthCore
import XCTest

/// Each built-in objective's gradient against central finite differences in Double, and the
/// step geometries and random starts against their closed forms.
final class ObjectiveTests: XCTestCase {
    var rng = RandomStream(seed: 7)

    func random(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in (rng.nextUniformFloat() - 0.5) * 2 * scale })
    }

    /// Checks d loss_i / d t against central differences for every element of t.
    func checkGradient(_ t: Tensor, _ f: (Tensor) throws -> (loss: [Float], grad: Tensor), tolerance: Double = 2e-3,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let (_, g) = try f(t)
        let h: Float = 1e-2
        var worst = 0.0
        for j in t.data.indices {
            var up = t, down = t
            up.data[j] += h; down.data[j] -= h
            let i = j / t.exampleCount
            let numeric = (Double(try f(up).loss[i]) - Double(try f(down).loss[i])) / Double(2 * h)
            worst = max(worst, abs(numeric - Double(g.data[j])))
        }
        XCTAssertLessThan(worst, tolerance, "largest gradient error \(worst)", file: file, line: line)
    }

    func assertClose(_ a: [Float], _ b: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(Double(x), y, accuracy: 1e-6, file: file, line: line) }
    }

    func testActivationOfAVectorUnitIsMinusTheUnit() throws {
        let t = random([3, 5])
        let (loss, dtap) = try Objectives.activation(t, units: [0, 4, 2])
        XCTAssertEqual(loss, [-t.data[0], -t.data[9], -t.data[12]])
        try checkGradient(t) { let r = try Objectives.activation($0, units: [0, 4, 2]); return (r.loss, r.dtap) }
        XCTAssertEqual(dtap.data.filter { $0 != 0 }, [-1, -1, -1])
    }

    func testMaskedChannelActivationIsTheMeanInsideTheMask() throws {
        let t = random([2, 3, 4, 4])
        var mask = Tensor(zeros: [2, 1, 4, 4])
        for j in 0..<8 { mask.data[j] = 1 }            // sample 0: top two rows
        for j in 16..<32 where j % 2 == 0 { mask.data[j] = 0.5 }   // sample 1: half weights
        let units = [1, 2]
        let (loss, _) = try Objectives.activation(t, units: units, mask: mask)
        let want0 = -(0..<8).map { Double(t.data[16 + $0]) }.reduce(0, +) / 8
        XCTAssertEqual(Double(loss[0]), want0, accuracy: 1e-6)
        try checkGradient(t) { let r = try Objectives.activation($0, units: units, mask: mask); return (r.loss, r.dtap) }
        XCTAssertThrowsError(try Objectives.activation(t, units: [1, 3])) {
            XCTAssertEqual("\($0)", "unit 3 is out of range: the tap has 3")
        }
        XCTAssertThrowsError(try Objectives.activation(t, units: units, mask: Tensor(zeros: [2, 1, 2, 2]))) {
            XCTAssertEqual("\($0)", "mask [2, 1, 2, 2] does not match the tap's resolution [4, 4]")
        }
    }

    func testRepresentationDistanceIsRelativeAndDifferentiable() throws {
        let r = random([2, 6]), target = random([2, 6])
        let (loss, _) = Objectives.representationDistance(r, target: target)
        for i in 0..<2 {
            let d = (0..<6).map { Double(r.data[i * 6 + $0] - target.data[i * 6 + $0]) }
            let t = (0..<6).map { Double(target.data[i * 6 + $0]) }
            let want = d.map { $0 * $0 }.reduce(0, +).squareRoot() / t.map { $0 * $0 }.reduce(0, +).squareRoot()
            XCTAssertEqual(Double(loss[i]), want, accuracy: 1e-6)
        }
        try checkGradient(r) { let o = Objectives.representationDistance($0, target: target); return (o.loss, o.dr) }
        XCTAssertEqual(Objectives.representationDistance(target, target: target).loss, [0, 0])
    }

    func testCrossEntropyObjectiveAndWeightedSums() throws {
        let logits = random([2, 4], scale: 3)
        let input = ObjectiveInput(items: [0, 1], targets: [3, 1], x: Tensor(zeros: [2, 1, 1, 1]), mask: nil,
                                   logits: logits, taps: [], sourceTaps: nil)
        let ce = try Objectives.crossEntropy(input)
        try checkGradient(logits) { l in
            var i = input; i.logits = l
            let o = try Objectives.crossEntropy(i)
            return (o.loss, o.dlogits!)
        }
        let tap = random([2, 5])
        let (aLoss, aGrad) = try Objectives.activation(tap, units: [1, 2])
        let sum = ce.adding(ObjectiveOutput(loss: aLoss, dtaps: [aGrad]), weight: 0.5)
        XCTAssertEqual(sum.loss, zip(ce.loss, aLoss).map { $0 + 0.5 * $1 })
        XCTAssertEqual(sum.dtaps[0]!.data, aGrad.data.map { 0.5 * $0 })
        XCTAssertEqual(sum.dlogits, ce.dlogits)
        var none = input; none.targets = [TaskItem.noTarget, 1]
        XCTAssertThrowsError(try Objectives.crossEntropy(none)) {
            XCTAssertEqual("\($0)", "the cross-entropy objective needs a target class for every sample")
        }
    }

    func testResampledMaskAveragesBoxes() {
        var m = Tensor(zeros: [1, 1, 4, 4])
        for j in [0, 1, 4, 5, 10] { m.data[j] = 1 }
        XCTAssertEqual(Objectives.resampleMask(m, height: 2, width: 2).data, [1, 0, 0, 0.25])
        XCTAssertEqual(Objectives.resampleMask(m, height: 4, width: 4), m)
    }

    func testStepGeometries() {
        let g = Tensor(shape: [2, 3], data: [3, -4, 0, 0, 0, 1])
        var x = Tensor(zeros: [2, 3])
        StepGeometry.l2.apply(&x, gradient: g, stepSize: 1)
        assertClose(x.data, [-0.6, 0.8, 0, 0, 0, -1])
        x = Tensor(zeros: [2, 3])
        StepGeometry.linf.apply(&x, gradient: g, stepSize: 0.5)
        XCTAssertEqual(x.data, [-0.5, 0.5, 0, 0, 0, -0.5])
        x = Tensor(zeros: [2, 3])
        StepGeometry.unconstrained.apply(&x, gradient: g, stepSize: 0.5)
        XCTAssertEqual(x.data, [-1.5, 2, 0, 0, 0, -0.5])
        var y = Tensor(shape: [1, 3], data: [0.9, 0.1, 0.5])
        projectOntoLinfBall(&y, center: Tensor(shape: [1, 3], data: [0.5, 0.5, 0.5]), radius: 0.2)
        assertClose(y.data, [0.7, 0.3, 0.5])
    }

    func testRandomStartsFollowTheLibrarysFormulas() {
        let n = 4, d = 3000
        let seeds: [UInt64] = [1, 2, 3, 4]
        let x0 = Tensor(repeating: 0.5, shape: [n, d])
        var l2 = x0
        RandomStart.apply(.l2, &l2, seeds: seeds, eps: 2, stepSize: 1)
        var linf = x0
        RandomStart.apply(.linf, &linf, seeds: seeds, eps: 0.1, stepSize: 1)
        var free = x0
        RandomStart.apply(.unconstrained, &free, seeds: seeds, eps: 0, stepSize: 0.3)
        for i in 0..<n {
            let r = x0.exampleRange(i)
            let dl2 = r.map { Double(l2.data[$0] - 0.5) }, dinf = r.map { Double(linf.data[$0] - 0.5) }
            let dfree = r.map { Double(free.data[$0] - 0.5) }
            // L2: on the sphere of radius eps. Linf: uniform in [-eps, eps] (mean 0, variance eps^2/3).
            XCTAssertEqual(dl2.map { $0 * $0 }.reduce(0, +).squareRoot(), 2, accuracy: 1e-4)
            XCTAssertTrue(dinf.allSatisfy { abs($0) <= 0.1 + 1e-7 })
            XCTAssertEqual(dinf.reduce(0, +) / Double(d), 0, accuracy: 0.005)
            XCTAssertEqual(dinf.map { $0 * $0 }.reduce(0, +) / Double(d), 0.01 / 3, accuracy: 0.0003)
            // Unconstrained: U[0,1) - 0.5 renormed to the step size (its norm, ~sqrt(d/12), is larger).
            XCTAssertEqual(dfree.map { $0 * $0 }.reduce(0, +).squareRoot(), 0.3, accuracy: 1e-4)
        }
        // Each sample its own stream: different seeds, different starts; the same seed, the same.
        XCTAssertNotEqual(Array(l2.data[0..<d]), Array(l2.data[d..<(2 * d)]))
        var again = x0
        RandomStart.apply(.l2, &again, seeds: seeds, eps: 2, stepSize: 1)
        XCTAssertEqual(again, l2)
    }
}
