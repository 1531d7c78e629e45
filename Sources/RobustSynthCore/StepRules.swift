import Foundation

/// What a PGD step moves along, per example, before the constraint's geometry turns it into the
/// step (L2-normalised, sign, or plain; StepGeometry.swift). Opt-in; `.plain` is the paper's and
/// the robustness library's: the gradient itself.
///   .plain            d_t = g_t
///   .momentum(mu)     d_t = mu * d_{t-1} + g_t / ||g_t||_1          (MI-FGSM, Dong et al. 2018)
///   .adam(b1, b2)     m_t = b1 m_{t-1} + (1 - b1) g_t,  v_t = b2 v_{t-1} + (1 - b2) g_t^2,
///                     d_t = (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + 1e-8)   (Kingma & Ba)
/// Within an L2 ball Adam's direction is then L2-normalised to the step size, within an Linf box
/// signed, so every rule stays inside the constraint's geometry and its projection.
public enum StepRule: Sendable, Equatable {
    case plain
    case momentum(Double)
    case adam(beta1: Double, beta2: Double)

    public var name: String {
        switch self {
        case .plain: return "plain"
        case .momentum: return "momentum"
        case .adam: return "adam"
        }
    }
}

/// The step size of step t of T (t = 0 ..< T), as a factor of `step_size`:
///   .constant  1
///   .linear    1 - t / T                     (from 1 down to 1/T at the last step)
///   .cosine    (1 + cos(pi * t / T)) / 2     (from 1 down to about (pi/T)^2 / 4)
public enum StepSchedule: String, Sendable, CaseIterable {
    case constant, linear, cosine

    public func factor(step t: Int, of steps: Int) -> Double {
        guard steps > 0 else { return 1 }
        let f = Double(t) / Double(steps)
        switch self {
        case .constant: return 1
        case .linear: return 1 - f
        case .cosine: return 0.5 * (1 + cos(Double.pi * f))
        }
    }
}

/// One example's state under a step rule: its moments and how many steps it has taken.
public struct StepRuleState: Sendable {
    var first = [Float]()
    var second = [Float]()
    var t = 0

    public init() {}

    /// The direction for this step from the gradient g (one example's values), updating the state.
    public mutating func direction(_ rule: StepRule, _ g: ArraySlice<Float>) -> [Float] {
        t += 1
        switch rule {
        case .plain:
            return Array(g)
        case .momentum(let mu):
            var l1 = 0.0
            for v in g { l1 += Double(abs(v)) }
            let inv = Float(1 / (l1 + 1e-12))
            if first.isEmpty { first = [Float](repeating: 0, count: g.count) }
            let m = Float(mu)
            for (j, v) in zip(first.indices, g) { first[j] = m * first[j] + v * inv }
            return first
        case .adam(let b1, let b2):
            if first.isEmpty {
                first = [Float](repeating: 0, count: g.count)
                second = [Float](repeating: 0, count: g.count)
            }
            let c1 = Float(1 - pow(b1, Double(t))), c2 = Float(1 - pow(b2, Double(t)))
            let f1 = Float(b1), f2 = Float(b2)
            var d = [Float](repeating: 0, count: g.count)
            for (j, v) in zip(first.indices, g) {
                first[j] = f1 * first[j] + (1 - f1) * v
                second[j] = f2 * second[j] + (1 - f2) * v * v
                d[j] = (first[j] / c1) / ((second[j] / c2).squareRoot() + 1e-8)
            }
            return d
        }
    }
}
