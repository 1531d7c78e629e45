/// What a task's objective sees of a batch of n samples at the current iterate.
public struct ObjectiveInput {
    /// The task's item index of each sample.
    public var items: [Int]
    /// Each item's target class, or `TaskItem.noTarget`.
    public var targets: [Int]
    /// The iterate [n, C, H, W] and the task's mask [n, 1, H, W] (nil when none).
    public var x: Tensor
    public var mask: Tensor?
    /// [n, K]
    public var logits: Tensor
    /// The task's taps, in the order of `SynthesisTask.taps`, each [n] + the tap's shape.
    public var taps: [Tensor]
    /// The same taps of the source images (before `prepare`), computed once per batch.
    public var sourceTaps: [Tensor]?

    public init(items: [Int], targets: [Int], x: Tensor, mask: Tensor?, logits: Tensor, taps: [Tensor],
                sourceTaps: [Tensor]?) {
        self.items = items; self.targets = targets; self.x = x; self.mask = mask
        self.logits = logits; self.taps = taps; self.sourceTaps = sourceTaps
    }

    public var count: Int { x.batch }
}

/// What is minimised, per sample, and its gradients. Terms left nil are zero.
public struct ObjectiveOutput {
    public var loss: [Float]
    /// d loss / d logits [n, K]
    public var dlogits: Tensor?
    /// d loss / d tap, aligned with `ObjectiveInput.taps`.
    public var dtaps: [Tensor?]
    /// A direct d loss / d x [n, C, H, W] (terms of the pixels themselves).
    public var dx: Tensor?

    public init(loss: [Float], dlogits: Tensor? = nil, dtaps: [Tensor?] = [], dx: Tensor? = nil) {
        self.loss = loss; self.dlogits = dlogits; self.dtaps = dtaps; self.dx = dx
    }

    /// self + weight * other, term by term: weighted sums of objectives.
    public func adding(_ other: ObjectiveOutput, weight: Float = 1) -> ObjectiveOutput {
        precondition(loss.count == other.loss.count)
        func add(_ a: Tensor?, _ b: Tensor?) -> Tensor? {
            guard let b else { return a }
            var out = a ?? Tensor(zeros: b.shape)
            precondition(out.shape == b.shape, "cannot add gradients of shapes \(out.shape) and \(b.shape)")
            for i in out.data.indices { out.data[i] += weight * b.data[i] }
            return out
        }
        let n = max(dtaps.count, other.dtaps.count)
        let taps = (0..<n).map { i in add(i < dtaps.count ? dtaps[i] : nil, i < other.dtaps.count ? other.dtaps[i] : nil) }
        return ObjectiveOutput(loss: zip(loss, other.loss).map { $0 + weight * $1 }, dlogits: add(dlogits, other.dlogits),
                               dtaps: taps, dx: add(dx, other.dx))
    }
}

/// The objectives of the robustness applications, with their gradients. Each is per sample.
public enum Objectives {
    /// Cross-entropy of the logits to each item's target (the paper's tasks).
    public static func crossEntropy(_ input: ObjectiveInput) throws -> ObjectiveOutput {
        guard input.targets.allSatisfy({ $0 >= 0 }) else {
            throw PluginError("the cross-entropy objective needs a target class for every sample")
        }
        let (loss, dlogits, _) = RobustSynthCore.crossEntropy(logits: input.logits, targets: input.targets)
        return ObjectiveOutput(loss: loss, dlogits: dlogits)
    }

    /// Maximises one unit of a tap per sample: the loss is minus its activation.
    ///   tap [n, F]:        loss_i = -tap[i, unit_i]
    ///   tap [n, C, H, W]:  loss_i = -sum_hw(m_i * tap[i, unit_i]) / sum_hw(m_i), m_i the mask
    ///                      [n, 1, H, W] at the tap's resolution (nil: the whole plane, m = 1)
    /// Returns the loss and d loss / d tap.
    public static func activation(_ tap: Tensor, units: [Int], mask: Tensor? = nil) throws -> (loss: [Float], dtap: Tensor) {
        let n = tap.batch
        precondition(units.count == n)
        let channels = tap.shape.count > 1 ? tap.shape[1] : 1
        let plane = tap.shape.count > 2 ? tap.shape.dropFirst(2).reduce(1, *) : 1
        if let m = mask {
            guard m.shape == [n, 1] + tap.shape.dropFirst(2) else {
                throw PluginError("mask \(m.shape) does not match the tap's resolution \(Array(tap.shape.dropFirst(2)))")
            }
        }
        var loss = [Float](repeating: 0, count: n)
        var dtap = Tensor(zeros: tap.shape)
        for i in 0..<n {
            let u = units[i]
            guard u >= 0, u < channels else { throw PluginError("unit \(u) is out of range: the tap has \(channels)") }
            let base = (i * channels + u) * plane
            var weightSum = 0.0, sum = 0.0
            for j in 0..<plane {
                let w = Double(mask?.data[i * plane + j] ?? 1)
                weightSum += w
                sum += w * Double(tap.data[base + j])
            }
            guard weightSum > 0 else { throw PluginError("the mask of sample \(i) is empty at the tap's resolution") }
            loss[i] = Float(-sum / weightSum)
            for j in 0..<plane { dtap.data[base + j] = Float(-Double(mask?.data[i * plane + j] ?? 1) / weightSum) }
        }
        return (loss, dtap)
    }

    /// The representation distance of `robust_representations`, per sample:
    ///   loss_i = ||r_i - t_i||_2 / ||t_i||_2,   d loss / d r_i = (r_i - t_i) / (||r_i - t_i|| ||t_i||)
    public static func representationDistance(_ r: Tensor, target t: Tensor) -> (loss: [Float], dr: Tensor) {
        precondition(r.shape == t.shape)
        var loss = [Float](repeating: 0, count: r.batch)
        var dr = Tensor(zeros: r.shape)
        for i in 0..<r.batch {
            let range = r.exampleRange(i)
            var dd = 0.0, tt = 0.0
            for j in range {
                let d = Double(r.data[j] - t.data[j])
                dd += d * d
                tt += Double(t.data[j]) * Double(t.data[j])
            }
            let tn = max(tt.squareRoot(), 1e-12), dn = dd.squareRoot()
            loss[i] = Float(dn / tn)
            guard dn > 0 else { continue }
            for j in range { dr.data[j] = Float(Double(r.data[j] - t.data[j]) / (dn * tn)) }
        }
        return (loss, dr)
    }

    /// A mask [n, 1, H, W] averaged over boxes down to [n, 1, h, w] (a tap's resolution): each
    /// output cell is the mean of the input cells its box covers.
    public static func resampleMask(_ mask: Tensor, height h: Int, width w: Int) -> Tensor {
        let n = mask.batch, H = mask.shape[2], W = mask.shape[3]
        var out = Tensor(zeros: [n, 1, h, w])
        for i in 0..<n {
            for y in 0..<h {
                let y0 = y * H / h, y1 = max(y0 + 1, ((y + 1) * H + h - 1) / h)
                for x in 0..<w {
                    let x0 = x * W / w, x1 = max(x0 + 1, ((x + 1) * W + w - 1) / w)
                    var s: Float = 0
                    for yy in y0..<y1 { for xx in x0..<x1 { s += mask.data[(i * H + yy) * W + xx] } }
                    out.data[(i * h + y) * w + x] = s / Float((y1 - y0) * (x1 - x0))
                }
            }
        }
        return out
    }
}
