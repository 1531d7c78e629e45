/// L2 projected gradient descent on the input, with the semantics of MadryLab's `robustness`
/// library (attacker.py, L2Step), targeted:
///
///     for each step:  losses = loss(x);  record best (use_best);
///                     x <- x - alpha * g / (||g||_2 + 1e-10)   per example
///                     x <- project(x)  (each constraint, then clamp to [0, 1])
///     finally:        losses = loss(x); record best
///
/// One difference, on purpose: g is the gradient of each example's own loss, not of the batch
/// mean, so that a sample's result does not depend on what else is in its batch (the two only
/// differ through the 1e-10 guard).
public struct PGDSettings: Sendable {
    public var steps: Int
    public var stepSize: Double
    public var useBest: Bool
    public init(steps: Int, stepSize: Double, useBest: Bool = true) {
        self.steps = steps; self.stepSize = stepSize; self.useBest = useBest
    }
}

public struct PGDResult: Sendable {
    /// The result: the best iterate (use_best) or the last one.
    public var x: Tensor
    /// Loss of `x` per example (target cross-entropy plus penalties).
    public var loss: [Float]
    /// Classifier probability of the target at `x`.
    public var targetProbability: [Float]
    /// losses[step][example] for steps 0...steps (the last is after the final update).
    public var lossHistory: [[Float]]
}

/// The loss of a batch and its gradient with respect to x.
public struct LossEvaluation {
    public var loss: [Float]
    public var gradient: Tensor
    public var targetProbability: [Float]
}

public struct PGDProblem {
    public let classifier: Classifier
    public let x0: Tensor
    public let targets: [Int]
    public let batch: ConstraintBatch
    public let constraints: [Constraint]

    public init(classifier: Classifier, x0: Tensor, targets: [Int], mask: Tensor?, constraints: [Constraint]) {
        self.classifier = classifier; self.x0 = x0; self.targets = targets
        self.batch = ConstraintBatch(x0: x0, mask: mask); self.constraints = constraints
    }

    /// Cross-entropy to the targets plus every constraint's penalty, and the input gradient.
    public func evaluate(_ x: Tensor) throws -> LossEvaluation {
        let logits = try classifier.forward(x)
        let (ce, dlogits, probability) = crossEntropy(logits: logits, targets: targets)
        var loss = ce
        var gradient = try classifier.inputGradient(dlogits)
        for c in constraints where c.hasPenalty {
            try c.penalty(batch, x: x, loss: &loss, gradient: &gradient)
        }
        return LossEvaluation(loss: loss, gradient: gradient, targetProbability: probability)
    }

    /// Every constraint's projection, then the clamp to the image domain [0, 1].
    public func project(_ x: inout Tensor) throws {
        for c in constraints where c.hasProjection { try c.project(batch, x: &x) }
        clampToUnitInterval(&x)
    }
}

/// The normalised descent step, in place: x <- x - alpha * g / (||g||_2 + 1e-10) per example.
public func l2DescentStep(_ x: inout Tensor, gradient g: Tensor, stepSize alpha: Double) {
    precondition(x.shape == g.shape)
    let ranges = (0..<x.batch).map(x.exampleRange)
    x.data.withUnsafeMutableBufferPointer { xs in
        g.data.withUnsafeBufferPointer { gs in
            for r in ranges {
                var sq = 0.0
                for j in r { sq += Double(gs[j]) * Double(gs[j]) }
                let scale = Float(alpha / (sq.squareRoot() + 1e-10))
                for j in r { xs[j] -= scale * gs[j] }
            }
        }
    }
}

/// Per example: delta = x - x0 renormed to ||delta||_2 <= eps (torch.renorm: scale by
/// eps / (norm + 1e-7) when norm > eps), x = x0 + delta.
public func projectOntoL2Ball(_ x: inout Tensor, center x0: Tensor, radius eps: Double) {
    precondition(x.shape == x0.shape)
    let ranges = (0..<x.batch).map(x.exampleRange)
    x.data.withUnsafeMutableBufferPointer { xs in
        x0.data.withUnsafeBufferPointer { cs in
            for r in ranges {
                var sq = 0.0
                for j in r { let d = Double(xs[j] - cs[j]); sq += d * d }
                let norm = sq.squareRoot()
                guard norm > eps else { continue }
                let scale = Float(eps / (norm + 1e-7))
                for j in r { xs[j] = cs[j] + (xs[j] - cs[j]) * scale }
            }
        }
    }
}

public func clampToUnitInterval(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { xs in
        for j in xs.indices { xs[j] = min(max(xs[j], 0), 1) }
    }
}

/// Runs PGD from problem.x0. `onStep(step, losses)` is called after each evaluation.
public func runPGD(_ problem: PGDProblem, settings: PGDSettings,
                   onStep: (Int, [Float]) -> Void = { _, _ in }) throws -> PGDResult {
    var x = problem.x0
    var best = x
    var bestLoss = [Float](repeating: .infinity, count: x.batch)
    var bestProbability = [Float](repeating: 0, count: x.batch)
    var history = [[Float]]()
    history.reserveCapacity(settings.steps + 1)

    /// use_best: keeps each example's lowest-loss iterate.
    func record(_ e: LossEvaluation, at x: Tensor) {
        for i in 0..<x.batch where e.loss[i] < bestLoss[i] || bestLoss[i] == .infinity {
            bestLoss[i] = e.loss[i]
            bestProbability[i] = e.targetProbability[i]
            let r = x.exampleRange(i)
            best.data.replaceSubrange(r, with: x.data[r])
        }
    }

    for step in 0..<settings.steps {
        let e = try problem.evaluate(x)
        history.append(e.loss)
        onStep(step, e.loss)
        if settings.useBest { record(e, at: x) }
        l2DescentStep(&x, gradient: e.gradient, stepSize: settings.stepSize)
        try problem.project(&x)
    }
    let final = try problem.evaluate(x)
    history.append(final.loss)
    onStep(settings.steps, final.loss)
    if settings.useBest {
        record(final, at: x)
        return PGDResult(x: best, loss: bestLoss, targetProbability: bestProbability, lossHistory: history)
    }
    return PGDResult(x: x, loss: final.loss, targetProbability: final.targetProbability, lossHistory: history)
}
