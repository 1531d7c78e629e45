/// The descent steps of the robustness library's attackers (attack_steps.py), targeted, on
/// each example's own gradient g (the library steps on the batch mean's; see PGD.swift):
///   .l2             x <- x - alpha * g / (||g||_2 + 1e-10)    (L2Step)
///   .linf           x <- x - alpha * sign(g)                 (LinfStep)
///   .unconstrained  x <- x - alpha * g                       (UnconstrainedStep)
///   .none           a constraint that pairs with any step (penalties, plain projections)
public enum StepGeometry: String, Sendable, CaseIterable {
    case none
    case l2
    case linf
    case unconstrained

    /// The step, in place. `.none` takes the L2 step, the optimiser's default.
    public func apply(_ x: inout Tensor, gradient g: Tensor, stepSize alpha: Double) {
        switch self {
        case .none, .l2: l2DescentStep(&x, gradient: g, stepSize: alpha)
        case .linf: signDescentStep(&x, gradient: g, stepSize: alpha)
        case .unconstrained: gradientDescentStep(&x, gradient: g, stepSize: alpha)
        }
    }
}

/// x <- x - alpha * g / (||g||_2 + 1e-10) per example.
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

/// x <- x - alpha * sign(g), sign(0) = 0 (torch.sign).
public func signDescentStep(_ x: inout Tensor, gradient g: Tensor, stepSize alpha: Double) {
    precondition(x.shape == g.shape)
    let a = Float(alpha)
    for j in x.data.indices where g.data[j] != 0 { x.data[j] -= g.data[j] > 0 ? a : -a }
}

/// x <- x - alpha * g.
public func gradientDescentStep(_ x: inout Tensor, gradient g: Tensor, stepSize alpha: Double) {
    precondition(x.shape == g.shape)
    let a = Float(alpha)
    for j in x.data.indices { x.data[j] -= a * g.data[j] }
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

/// x = x0 + clamp(x - x0, -eps, eps) (LinfStep.project, before the clamp to [0, 1]).
public func projectOntoLinfBall(_ x: inout Tensor, center x0: Tensor, radius eps: Double) {
    precondition(x.shape == x0.shape)
    let e = Float(eps)
    for j in x.data.indices { x.data[j] = x0.data[j] + min(max(x.data[j] - x0.data[j], -e), e) }
}

/// The random starts of the library's steps (random_perturb), per sample from its own seed:
///   .l2             x + eps * r / (||r||_2 + 1e-10),  r ~ N(0, I)
///   .linf           x + 2 * (U[0,1) - 0.5) * eps
///   .unconstrained  x + renorm(U[0,1) - 0.5, maxnorm = stepSize)
/// The optimiser clamps to [0, 1] afterwards.
public enum RandomStart {
    /// A sample's random-start stream, apart from the streams its seed sampler drew from.
    static func stream(_ seed: UInt64) -> RandomStream { RandomStream(seed: seed ^ 0x5241_4E44_5354_5254) }

    public static func apply(_ geometry: StepGeometry, _ x: inout Tensor, seeds: [UInt64], eps: Double, stepSize: Double) {
        precondition(seeds.count == x.batch)
        for i in 0..<x.batch {
            var rng = stream(seeds[i])
            let r = x.exampleRange(i)
            switch geometry {
            case .none: return
            case .l2:
                let noise = r.map { _ in rng.nextNormal() }
                let norm = noise.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for (k, j) in r.enumerated() { x.data[j] += Float(eps * noise[k] / (norm + 1e-10)) }
            case .linf:
                for j in r { x.data[j] += Float(2 * (rng.nextUniform() - 0.5) * eps) }
            case .unconstrained:
                let noise = r.map { _ in rng.nextUniform() - 0.5 }
                let norm = noise.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let scale = norm > stepSize ? stepSize / (norm + 1e-7) : 1
                for (k, j) in r.enumerated() { x.data[j] += Float(noise[k] * scale) }
            }
        }
    }
}
