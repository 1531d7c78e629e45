import RobustSynthCore

/// A classifier that adds the wall time of each call to a `RunProfile`: forward passes to
/// `.forward`, input gradients to `.backward`. Used only under `--profile`.
final class ProfiledClassifier: Classifier {
    let inner: Classifier
    let profile: RunProfile
    init(_ inner: Classifier, _ profile: RunProfile) { self.inner = inner; self.profile = profile }

    var inputShape: ImageShape { inner.inputShape }
    var numClasses: Int { inner.numClasses }
    func className(_ index: Int) -> String? { inner.className(index) }
    var taps: [TapInfo] { inner.taps }
    func forward(_ x: Tensor) throws -> Tensor { try profile.time(.forward) { try inner.forward(x) } }
    func forward(_ x: Tensor, taps names: [String]) throws -> (logits: Tensor, taps: [Tensor]) {
        try profile.time(.forward) { try inner.forward(x, taps: names) }
    }
    func inputGradient(_ dlogits: Tensor) throws -> Tensor {
        try profile.time(.backward) { try inner.inputGradient(dlogits) }
    }
    func inputGradient(_ dlogits: Tensor, tapGradients: [Tensor?]) throws -> Tensor {
        try profile.time(.backward) { try inner.inputGradient(dlogits, tapGradients: tapGradients) }
    }
}

/// A constraint whose penalties, projections, steps and random starts count as `.steps`.
final class ProfiledConstraint: Constraint {
    let inner: Constraint
    let profile: RunProfile
    init(_ inner: Constraint, _ profile: RunProfile) { self.inner = inner; self.profile = profile }

    var hasPenalty: Bool { inner.hasPenalty }
    var hasProjection: Bool { inner.hasProjection }
    var stepGeometry: StepGeometry { inner.stepGeometry }
    var hasRandomStart: Bool { inner.hasRandomStart }
    func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws {
        try profile.time(.steps) { try inner.penalty(batch, x: x, loss: &loss, gradient: &gradient) }
    }
    func project(_ batch: ConstraintBatch, x: inout Tensor) throws {
        try profile.time(.steps) { try inner.project(batch, x: &x) }
    }
    func step(_ batch: ConstraintBatch, x: inout Tensor, gradient: Tensor, stepSize: Double) throws {
        try profile.time(.steps) { try inner.step(batch, x: &x, gradient: gradient, stepSize: stepSize) }
    }
    func randomStart(_ batch: ConstraintBatch, x: inout Tensor, seeds: [UInt64], stepSize: Double) throws {
        try profile.time(.steps) { try inner.randomStart(batch, x: &x, seeds: seeds, stepSize: stepSize) }
    }
}
