import RobustSynthCore

/// logits = W x + b, whose input gradient is known exactly: dx = W^T dlogits.
final class LinearModel: Classifier {
    let inputShape: ImageShape
    let numClasses: Int
    let w: [[Double]]
    let b: [Double]

    init(shape: ImageShape, classes: Int, seed: UInt64) {
        inputShape = shape
        numClasses = classes
        var rng = RandomStream(seed: seed)
        w = (0..<classes).map { _ in (0..<shape.count).map { _ in rng.nextNormal() / Double(shape.count).squareRoot() } }
        b = (0..<classes).map { _ in rng.nextNormal() * 0.1 }
    }

    func className(_ index: Int) -> String? { nil }

    func logits(_ x: [Double]) -> [Double] {
        (0..<numClasses).map { k in zip(w[k], x).reduce(b[k]) { $0 + $1.0 * $1.1 } }
    }

    func forward(_ x: Tensor) throws -> Tensor {
        let d = inputShape.count
        var out = [Float]()
        for i in 0..<x.batch { out += logits(x.data[(i * d)..<((i + 1) * d)].map(Double.init)).map(Float.init) }
        return Tensor(shape: [x.batch, numClasses], data: out)
    }

    func inputGradient(_ dlogits: Tensor) throws -> Tensor {
        let d = inputShape.count
        var dx = [Float](repeating: 0, count: dlogits.batch * d)
        for i in 0..<dlogits.batch {
            for j in 0..<d {
                var s = 0.0
                for k in 0..<numClasses { s += Double(dlogits.data[i * numClasses + k]) * w[k][j] }
                dx[i * d + j] = Float(s)
            }
        }
        return Tensor(shape: [dlogits.batch, inputShape.channels, inputShape.height, inputShape.width], data: dx)
    }
}

/// lambda * mean(((x0 - x) * (1 - m))^2) per example: the inpainting penalty, as a test double.
final class MaskedPenalty: Constraint {
    let lambda: Double
    init(lambda: Double) { self.lambda = lambda }
    var hasPenalty: Bool { true }
    var hasProjection: Bool { false }
    func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws {
        let d = x.exampleCount, hw = batch.x0.shape[2] * batch.x0.shape[3]
        for i in 0..<x.batch {
            var s = 0.0
            for j in 0..<d {
                let keep = 1 - Double(batch.mask!.data[i * hw + j % hw])
                let diff = Double(x.data[i * d + j] - batch.x0.data[i * d + j]) * keep
                s += diff * diff
                gradient.data[i * d + j] += Float(lambda * 2 * diff * keep / Double(d))
            }
            loss[i] += Float(lambda * s / Double(d))
        }
    }
    func project(_ batch: ConstraintBatch, x: inout Tensor) throws {}
}

/// The L2 ball projection as a constraint.
final class Ball: Constraint {
    let eps: Double
    init(eps: Double) { self.eps = eps }
    var hasPenalty: Bool { false }
    var hasProjection: Bool { true }
    func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws {}
    func project(_ batch: ConstraintBatch, x: inout Tensor) throws { projectOntoL2Ball(&x, center: batch.x0, radius: eps) }
}

/// Runs the samples (x0 row i, target i % 5) through a pool; results by sample.
func runPool(_ model: LinearModel, x0: Tensor, settings: PGDSettings, stop: StopRule?, batch: Int, pad: Bool,
             calls: inout [Int]) throws -> [Int: PGDSampleResult] {
    let p = try PGDPool(classifier: model, constraints: [Ball(eps: 1.5)], taps: [], objective: Objectives.crossEntropy,
                        settings: settings, stop: stop, batchSize: batch, padToBatch: pad)
    var next = 0
    var results = [Int: PGDSampleResult]()
    var sizes = [Int]()
    try p.run(admit: { free in
        guard next < x0.batch else { return nil }
        let ids = Array(next..<min(next + free, x0.batch))
        next += ids.count
        return PGDAdmission(ids: ids, x0: x0.gather(ids), mask: nil, targets: ids.map { $0 % 5 }, items: ids,
                            sourceTaps: nil, seeds: ids.map(UInt64.init))
    }, report: { sizes.append($0.evaluations) }, finish: { results[$0.id] = $0 })
    calls = sizes
    return results
}
