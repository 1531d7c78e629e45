#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Projected gradient descent on the input, with the semantics of MadryLab's `robustness`
/// library (attacker.py), targeted:
///
///     x <- x0, or x0 + random_perturb(x0) clamped to [0, 1] (random_start)
///     for each step:  losses = loss(x);  record best (use_best);
///                     x <- step(x, g)   the step of the constraint that owns the geometry
///                                       (L2 when none does; StepGeometry.swift)
///                     x <- project(x)  (each constraint, then clamp to [0, 1])
///     finally:        losses = loss(x); record best
///
/// loss(x) is the task's objective (cross-entropy to the target by default) on the logits and
/// the taps it reads, plus every constraint's penalty. One difference from the library, on
/// purpose: g is the gradient of each example's own loss, not of the batch mean, so that a
/// sample's result does not depend on what else is in its batch (for the L2 and sign steps the
/// two differ only through the 1e-10 guard; the unconstrained step of the library shrinks with
/// the batch size, rsynth's does not).
public struct PGDSettings: Sendable {
    public var steps: Int
    public var stepSize: Double
    public var useBest: Bool
    public var randomStart: Bool
    /// What each step moves along and how its size changes (StepRules.swift); `.plain` and
    /// `.constant`, the defaults, are the library's step exactly. PGDPool honours them; runPGD
    /// (the plain loop the tests compare it with) takes only the defaults.
    public var rule: StepRule
    public var schedule: StepSchedule
    public init(steps: Int, stepSize: Double, useBest: Bool = true, randomStart: Bool = false,
                rule: StepRule = .plain, schedule: StepSchedule = .constant) {
        self.steps = steps; self.stepSize = stepSize; self.useBest = useBest; self.randomStart = randomStart
        self.rule = rule; self.schedule = schedule
    }
}

public struct PGDResult: Sendable {
    /// The result: the best iterate (use_best) or the last one.
    public var x: Tensor
    /// Loss of `x` per example (objective plus penalties).
    public var loss: [Float]
    /// Classifier probability of the target at `x` (0 for items without a target class).
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

/// A loss or gradient that is NaN or infinite: names the step, the example (in its batch) and what.
public struct NonFiniteValue: Error, CustomStringConvertible {
    public let step: Int
    public let example: Int
    public let what: String
    public var description: String { "\(what) of example \(example) is not finite at step \(step)" }
}

public struct PGDProblem {
    public let classifier: Classifier
    public let x0: Tensor
    public let targets: [Int]
    public let batch: ConstraintBatch
    public let constraints: [Constraint]
    /// The task's item index of each example (what the objective is told).
    public let items: [Int]
    /// The taps the objective reads, and their values at the source images.
    public let taps: [String]
    public let sourceTaps: [Tensor]?
    public let objective: (ObjectiveInput) throws -> ObjectiveOutput
    /// The constraint whose geometry sets the step (nil: the L2 step).
    public let stepper: Constraint?

    /// Cross-entropy to the targets, no taps.
    public init(classifier: Classifier, x0: Tensor, targets: [Int], mask: Tensor?, constraints: [Constraint]) throws {
        try self.init(classifier: classifier, x0: x0, targets: targets, mask: mask, constraints: constraints,
                      items: Array(0..<x0.batch), taps: [], sourceTaps: nil, objective: Objectives.crossEntropy)
    }

    public init(classifier: Classifier, x0: Tensor, targets: [Int], mask: Tensor?, constraints: [Constraint],
                items: [Int], taps: [String], sourceTaps: [Tensor]?,
                objective: @escaping (ObjectiveInput) throws -> ObjectiveOutput) throws {
        self.classifier = classifier; self.x0 = x0; self.targets = targets
        self.batch = ConstraintBatch(x0: x0, mask: mask); self.constraints = constraints
        self.items = items; self.taps = taps; self.sourceTaps = sourceTaps; self.objective = objective
        let steppers = constraints.filter { $0.stepGeometry != .none }
        guard steppers.count <= 1 else {
            throw PluginError("two constraints set the step (\(steppers.map(\.stepGeometry.rawValue).joined(separator: " and "))): keep one")
        }
        stepper = steppers.first
    }

    /// The objective plus every constraint's penalty, and the input gradient through the
    /// logits and the taps in one backward pass.
    public func evaluate(_ x: Tensor, step: Int = 0) throws -> LossEvaluation {
        let (logits, tapValues) = try classifier.forward(x, taps: taps)
        let out = try objective(ObjectiveInput(items: items, targets: targets, x: x, mask: batch.mask, logits: logits,
                                               taps: tapValues, sourceTaps: sourceTaps))
        guard out.loss.count == x.batch else {
            throw PluginError("the objective gave \(out.loss.count) losses for \(x.batch) samples")
        }
        var loss = out.loss
        var gradient = try classifier.inputGradient(out.dlogits ?? Tensor(zeros: logits.shape),
                                                    tapGradients: (0..<taps.count).map { $0 < out.dtaps.count ? out.dtaps[$0] : nil })
        if let dx = out.dx {
            for i in gradient.data.indices { gradient.data[i] += dx.data[i] }
        }
        for c in constraints where c.hasPenalty {
            try c.penalty(batch, x: x, loss: &loss, gradient: &gradient)
        }
        for i in 0..<x.batch {
            guard loss[i].isFinite else { throw NonFiniteValue(step: step, example: i, what: "the loss") }
            guard gradient.data[gradient.exampleRange(i)].allSatisfy({ $0.isFinite }) else {
                throw NonFiniteValue(step: step, example: i, what: "the input gradient")
            }
        }
        return LossEvaluation(loss: loss, gradient: gradient, targetProbability: targetProbability(logits))
    }

    /// Softmax probability of each example's target (0 where it has none).
    func targetProbability(_ logits: Tensor) -> [Float] {
        let k = logits.exampleCount
        return (0..<logits.batch).map { i in
            let t = targets[i]
            guard t >= 0, t < k else { return 0 }
            let row = logits.data[logits.exampleRange(i)]
            let m = row.max() ?? 0
            let sum = row.reduce(0.0) { $0 + exp(Double($1 - m)) }
            return Float(exp(Double(row[row.startIndex + t] - m)) / sum)
        }
    }

    /// The step of the constraint that owns the geometry (L2 when none does).
    public func step(_ x: inout Tensor, gradient: Tensor, stepSize: Double) throws {
        if let s = stepper {
            try s.step(batch, x: &x, gradient: gradient, stepSize: stepSize)
        } else {
            l2DescentStep(&x, gradient: gradient, stepSize: stepSize)
        }
    }

    /// The step of the examples `rows` only (`x` and `gradient` hold just those rows), each
    /// with the constraint batch's x0 and mask of its row.
    public func step(rows: [Int], _ x: inout Tensor, gradient: Tensor, stepSize: Double) throws {
        if let s = stepper {
            try s.step(ConstraintBatch(x0: batch.x0.gather(rows), mask: batch.mask?.gather(rows)), x: &x,
                       gradient: gradient, stepSize: stepSize)
        } else {
            l2DescentStep(&x, gradient: gradient, stepSize: stepSize)
        }
    }

    /// Every constraint's projection, then the clamp to the image domain [0, 1].
    public func project(_ x: inout Tensor) throws {
        for c in constraints where c.hasProjection { try c.project(batch, x: &x) }
        clampToUnitInterval(&x)
    }
}

public func clampToUnitInterval(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { xs in
        for j in xs.indices { xs[j] = min(max(xs[j], 0), 1) }
    }
}

/// Runs PGD from problem.x0. `onStep(step, losses)` is called after each evaluation.
/// `seeds` (one per example) feed the random start.
public func runPGD(_ problem: PGDProblem, settings: PGDSettings, seeds: [UInt64]? = nil,
                   onStep: (Int, [Float]) -> Void = { _, _ in }) throws -> PGDResult {
    precondition(settings.rule == .plain && settings.schedule == .constant, "runPGD takes the library's step only; use PGDPool")
    var x = problem.x0
    if settings.randomStart {
        guard let s = problem.stepper, s.hasRandomStart else {
            throw PluginError("optimizer.random_start needs a constraint that owns a step geometry (l2-ball, linf-ball or unconstrained)")
        }
        try s.randomStart(problem.batch, x: &x, seeds: seeds ?? (0..<x.batch).map(UInt64.init), stepSize: settings.stepSize)
        clampToUnitInterval(&x)
    }
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
        let e = try problem.evaluate(x, step: step)
        history.append(e.loss)
        onStep(step, e.loss)
        if settings.useBest { record(e, at: x) }
        try problem.step(&x, gradient: e.gradient, stepSize: settings.stepSize)
        try problem.project(&x)
    }
    let final = try problem.evaluate(x, step: settings.steps)
    history.append(final.loss)
    onStep(settings.steps, final.loss)
    if settings.useBest {
        record(final, at: x)
        return PGDResult(x: best, loss: bestLoss, targetProbability: bestProbability, lossHistory: history)
    }
    return PGDResult(x: x, loss: final.loss, targetProbability: final.targetProbability, lossHistory: history)
}
