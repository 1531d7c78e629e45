/// Early stopping (opt-in): a sample stops at the first evaluation where one of its rules holds.
///   probability: the classifier's probability of the sample's target at the iterate is >= p
///                (only for samples with a target class);
///   patience:    the loss has not fallen by more than `minDelta` below its lowest value so far
///                for `patience` steps (Keras' EarlyStopping rule, per sample).
/// `use_best` still applies: the result is the best iterate evaluated up to the stop.
public struct StopRule: Sendable, Equatable {
    public var probability: Double?
    public var patience: Int?
    public var minDelta: Double
    public init(probability: Double? = nil, patience: Int? = nil, minDelta: Double = 0) {
        self.probability = probability; self.patience = patience; self.minDelta = minDelta
    }
}

/// Samples entering the pool together (one call of the seed sampler and the task's `prepare`).
public struct PGDAdmission {
    /// The caller's name for each sample (its index in the run); errors and results carry it.
    public var ids: [Int]
    public var x0: Tensor
    public var mask: Tensor?
    public var targets: [Int]
    /// The task's item index of each sample.
    public var items: [Int]
    /// The task's taps at the source images, each [n] + the tap's shape.
    public var sourceTaps: [Tensor]?
    /// Each sample's seed (feeds the random start).
    public var seeds: [UInt64]
    public init(ids: [Int], x0: Tensor, mask: Tensor?, targets: [Int], items: [Int], sourceTaps: [Tensor]?, seeds: [UInt64]) {
        self.ids = ids; self.x0 = x0; self.mask = mask; self.targets = targets; self.items = items
        self.sourceTaps = sourceTaps; self.seeds = seeds
    }
}

/// A finished sample.
public struct PGDSampleResult {
    public var id: Int
    /// [1, C, H, W]: the best iterate (use_best) or the last one evaluated.
    public var x: Tensor
    public var loss: Float
    public var targetProbability: Float
    /// The loss at every evaluation, steps 0...stoppedAt (or 0...steps).
    public var lossHistory: [Float]
    /// The step at which a stop rule held; nil when the sample ran all its steps.
    public var stoppedAt: Int?
    /// Its share of the engine calls it took part in, in seconds.
    public var seconds: Double
}

/// What one engine call did, for progress reporting.
public struct PGDCallReport {
    /// Evaluations of real samples in this call (padding not counted).
    public var evaluations: Int
    /// Steps no longer planned because samples stopped early in this call.
    public var stepsSaved: Int
    /// Samples that finished in this call (already handed to `finish`).
    public var finished: Int
    public var meanLoss: Float
    public var meanTargetProbability: Float
}

/// PGD on a pool of in-flight samples, each with its own step counter, iterate, best iterate and
/// loss history. Every engine call evaluates the current iterate of every sample in flight;
/// samples that finish (all steps done, or a stop rule held) are handed to `finish` and their
/// slots refilled from `admit` before the next call, so calls run at `batchSize` while samples
/// are waiting.
///
/// Per example this is exactly `runPGD`: the evaluation, the step and the projection act on
/// each example alone (per-example gradients), so a sample's result never depends on the
/// samples that share its calls. Without a stop rule every sample of a batch finishes at the
/// same call, so the calls are exactly those of `runPGD` batch after batch.
///
/// `padToBatch`: calls with fewer samples in flight than `batchSize` (the end of the plan) are
/// padded with copies of a sample in flight, whose results are discarded, so every engine call
/// has one batch size: an engine whose arithmetic depends on the batch size (oneDNN's Winograd
/// from batch 8) computes the same way all run long, and a net built for one batch size is
/// never rebuilt. (oneDNN's per-example results also move by about one float32 rounding with
/// their batch-mates; that is the engine's, with or without a stop rule.)
public final class PGDPool {
    let classifier: Classifier
    let constraints: [Constraint]
    let taps: [String]
    let objective: (ObjectiveInput) throws -> ObjectiveOutput
    let settings: PGDSettings
    let stop: StopRule?
    let batchSize: Int
    let padToBatch: Bool
    let stepper: Constraint?

    // Slots in flight, in admission order.
    var ids = [Int]()
    var x: Tensor?
    var x0: Tensor?
    var mask: Tensor?
    var targets = [Int]()
    var items = [Int]()
    var sourceTaps: [Tensor]?
    var step = [Int]()
    var best = [[Float]]()
    var bestLoss = [Float]()
    var bestProbability = [Float]()
    var history = [[Float]]()
    var plateauLoss = [Float]()
    var plateauStep = [Int]()
    var seconds = [Double]()
    var ruleState = [StepRuleState]()

    public init(classifier: Classifier, constraints: [Constraint], taps: [String],
                objective: @escaping (ObjectiveInput) throws -> ObjectiveOutput,
                settings: PGDSettings, stop: StopRule?, batchSize: Int, padToBatch: Bool) throws {
        precondition(batchSize >= 1)
        self.classifier = classifier; self.constraints = constraints; self.taps = taps; self.objective = objective
        self.settings = settings; self.stop = stop; self.batchSize = batchSize; self.padToBatch = padToBatch
        let steppers = constraints.filter { $0.stepGeometry != .none }
        guard steppers.count <= 1 else {
            throw PluginError("two constraints set the step (\(steppers.map(\.stepGeometry.rawValue).joined(separator: " and "))): keep one")
        }
        stepper = steppers.first
        if settings.randomStart, !(stepper?.hasRandomStart ?? false) {
            throw PluginError("optimizer.random_start needs a constraint that owns a step geometry (l2-ball, linf-ball or unconstrained)")
        }
    }

    public var inFlight: Int { ids.count }

    /// Runs until `admit` has no more samples (it returns nil or none) and every sample in
    /// flight has finished. `admit(n)` is asked for at most n samples whenever slots are free.
    /// A loss or gradient that is not finite throws NonFiniteValue with `example` the sample's
    /// id and `step` its own step.
    public func run(admit: (Int) throws -> PGDAdmission?, report: (PGDCallReport) -> Void = { _ in },
                    finish: (PGDSampleResult) throws -> Void) throws {
        var admitting = true
        while true {
            if admitting, inFlight < batchSize {
                let clock = ContinuousClock.now
                if let a = try admit(batchSize - inFlight), !a.ids.isEmpty {
                    try enter(a, seconds: Self.seconds(since: clock) / Double(a.ids.count))
                } else {
                    admitting = false
                }
            }
            if inFlight == 0 { return }
            try call(report: report, finish: finish)
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    func enter(_ a: PGDAdmission, seconds share: Double) throws {
        let n = a.ids.count
        precondition(a.x0.batch == n && a.targets.count == n && a.items.count == n && a.seeds.count == n)
        var start = a.x0
        if settings.randomStart, let s = stepper {
            try s.randomStart(ConstraintBatch(x0: a.x0, mask: a.mask), x: &start, seeds: a.seeds, stepSize: settings.stepSize)
            clampToUnitInterval(&start)
        }
        func append(_ old: Tensor?, _ new: Tensor) -> Tensor { old.map { Tensor.concatenate([$0, new]) } ?? new }
        x = append(x, start)
        x0 = append(x0, a.x0)
        if let m = a.mask { mask = append(mask, m) }
        precondition((mask == nil) == (a.mask == nil) || ids.isEmpty, "samples with and without a mask in one pool")
        if let t = a.sourceTaps {
            sourceTaps = sourceTaps.map { zip($0, t).map { Tensor.concatenate([$0, $1]) } } ?? t
        }
        ids += a.ids
        targets += a.targets
        items += a.items
        for i in 0..<n {
            step.append(0)
            best.append(Array(start.data[start.exampleRange(i)]))
            bestLoss.append(.infinity)
            bestProbability.append(0)
            var h = [Float]()
            h.reserveCapacity(settings.steps + 1)
            history.append(h)
            plateauLoss.append(.infinity)
            plateauStep.append(0)
            seconds.append(share)
            ruleState.append(StepRuleState())
        }
    }

    /// The rows of a call: the slots in flight, then copies of slot 0 up to the batch size.
    func rows() -> [Int] {
        let n = inFlight
        guard padToBatch, n < batchSize else { return Array(0..<n) }
        return Array(0..<n) + [Int](repeating: 0, count: batchSize - n)
    }

    func call(report: (PGDCallReport) -> Void, finish: (PGDSampleResult) throws -> Void) throws {
        let clock = ContinuousClock.now
        let n = inFlight
        let rows = rows()
        let padded = rows.count != n
        func take(_ t: Tensor) -> Tensor { padded ? t.gather(rows) : t }
        var xs = take(x!)
        let problem = try PGDProblem(classifier: classifier, x0: take(x0!), targets: rows.map { targets[$0] },
                                     mask: mask.map(take), constraints: constraints, items: rows.map { items[$0] },
                                     taps: taps, sourceTaps: sourceTaps?.map(take), objective: objective)
        let e: LossEvaluation
        do {
            e = try problem.evaluate(xs, step: 0)
        } catch let v as NonFiniteValue {
            let slot = rows[min(max(v.example, 0), rows.count - 1)]
            throw NonFiniteValue(step: step[slot], example: ids[slot], what: v.what)
        }
        var finished = [Int]()
        var stoppedAt = [Int: Int]()
        var saved = 0
        for i in 0..<n {
            let s = step[i]
            let loss = e.loss[i]
            history[i].append(loss)
            if settings.useBest, loss < bestLoss[i] || bestLoss[i] == .infinity {
                bestLoss[i] = loss
                bestProbability[i] = e.targetProbability[i]
                best[i] = Array(xs.data[xs.exampleRange(i)])
            }
            if s == settings.steps { finished.append(i); continue }
            if let rule = stop, shouldStop(rule, slot: i, step: s, loss: loss, probability: e.targetProbability[i]) {
                finished.append(i)
                stoppedAt[i] = s
                saved += settings.steps - s
            }
        }
        try stepRows(problem, &xs, gradient: e.gradient, rows: rows)
        try problem.project(&xs)

        let share = Self.seconds(since: clock) / Double(n)
        for i in 0..<n { seconds[i] += share }
        // The finished samples' results are the iterate evaluated in this call (or their best);
        // everyone else moves on to the stepped and projected iterate.
        let current = x!
        for i in finished {
            let result: Tensor, loss: Float, probability: Float
            if settings.useBest {
                result = Tensor(shape: [1] + current.shape.dropFirst(), data: best[i])
                loss = bestLoss[i]; probability = bestProbability[i]
            } else {
                result = current.example(i)
                loss = e.loss[i]; probability = e.targetProbability[i]
            }
            try finish(PGDSampleResult(id: ids[i], x: result, loss: loss, targetProbability: probability,
                                       lossHistory: history[i], stoppedAt: stoppedAt[i], seconds: seconds[i]))
        }
        report(PGDCallReport(evaluations: n, stepsSaved: saved, finished: finished.count,
                             meanLoss: (0..<n).map { e.loss[$0] }.reduce(0, +) / Float(n),
                             meanTargetProbability: (0..<n).map { e.targetProbability[$0] }.reduce(0, +) / Float(n)))
        for i in 0..<n { step[i] += 1 }
        let done = Set(finished)
        let keep = (0..<n).filter { !done.contains($0) }
        var next = padded ? xs.gather(Array(0..<n)) : xs
        if keep.count != n {
            next = next.gather(keep)
            remove(keeping: keep)
        }
        x = keep.isEmpty ? nil : next
    }

    /// The step of every row of a call: the step rule's direction (each slot's state advanced
    /// once; padding rows reuse their slot's), then the geometry's step at each row's scheduled
    /// size (rows grouped by size when samples at different steps share the call). With the
    /// default rule and schedule this is exactly one `problem.step` on the gradient.
    func stepRows(_ problem: PGDProblem, _ xs: inout Tensor, gradient: Tensor, rows: [Int]) throws {
        let plain = settings.rule == .plain, constant = settings.schedule == .constant
        if plain && constant { return try problem.step(&xs, gradient: gradient, stepSize: settings.stepSize) }
        var g = gradient
        if !plain {
            var directions = [Int: [Float]]()
            for (r, slot) in rows.enumerated() {
                if directions[slot] == nil {
                    directions[slot] = ruleState[slot].direction(settings.rule, gradient.data[gradient.exampleRange(r)])
                }
                g.data.replaceSubrange(g.exampleRange(r), with: directions[slot]!)
            }
        }
        let sizes = rows.map { settings.stepSize * settings.schedule.factor(step: step[$0], of: settings.steps) }
        let distinct = Set(sizes).sorted()
        if distinct.count == 1 { return try problem.step(&xs, gradient: g, stepSize: distinct[0]) }
        for size in distinct {
            let idx = rows.indices.filter { sizes[$0] == size }
            var sub = xs.gather(idx)
            try problem.step(rows: idx, &sub, gradient: g.gather(idx), stepSize: size)
            for (k, r) in idx.enumerated() { xs.data.replaceSubrange(xs.exampleRange(r), with: sub.data[sub.exampleRange(k)]) }
        }
    }

    func shouldStop(_ rule: StopRule, slot i: Int, step s: Int, loss: Float, probability: Float) -> Bool {
        var stopNow = false
        if let p = rule.probability, targets[i] >= 0, Double(probability) >= p { stopNow = true }
        if let patience = rule.patience {
            if s == 0 || Double(loss) < Double(plateauLoss[i]) - rule.minDelta {
                plateauLoss[i] = loss
                plateauStep[i] = s
            } else if s - plateauStep[i] >= patience {
                stopNow = true
            }
        }
        return stopNow
    }

    func remove(keeping keep: [Int]) {
        func pick<T>(_ a: [T]) -> [T] { keep.map { a[$0] } }
        ids = pick(ids); targets = pick(targets); items = pick(items); step = pick(step)
        best = pick(best); bestLoss = pick(bestLoss); bestProbability = pick(bestProbability)
        history = pick(history); plateauLoss = pick(plateauLoss); plateauStep = pick(plateauStep)
        seconds = pick(seconds); ruleState = pick(ruleState)
        if keep.isEmpty {
            x0 = nil; mask = nil; sourceTaps = nil
        } else {
            x0 = x0!.gather(keep)
            mask = mask?.gather(keep)
            sourceTaps = sourceTaps?.map { $0.gather(keep) }
        }
    }
}
