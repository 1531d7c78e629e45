/// A dense float32 tensor in row-major (NCHW for images) order.
///
/// Images in RobustSynth are batches `[N, C, H, W]` with values in [0, 1]; logits are `[N, K]`.
public struct Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
    /// Size of the leading (batch) dimension.
    public var batch: Int { shape.first ?? 1 }
    /// Number of values in one example (everything after the batch dimension).
    public var exampleCount: Int { shape.count <= 1 ? 1 : shape.dropFirst().reduce(1, *) }

    /// Range of `data` that holds example `i`.
    public func exampleRange(_ i: Int) -> Range<Int> {
        let m = exampleCount
        return (i * m)..<((i + 1) * m)
    }

    /// A copy of examples `indices`, stacked in that order.
    public func gather(_ indices: [Int]) -> Tensor {
        var out = [Float]()
        out.reserveCapacity(indices.count * exampleCount)
        for i in indices { out.append(contentsOf: data[exampleRange(i)]) }
        return Tensor(shape: [indices.count] + shape.dropFirst(), data: out)
    }

    /// Example `i` alone, keeping a batch dimension of 1.
    public func example(_ i: Int) -> Tensor { gather([i]) }

    /// Stacks tensors of equal example shape along the batch dimension.
    public static func concatenate(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty)
        let tail = Array(parts[0].shape.dropFirst())
        var data = [Float]()
        var n = 0
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == tail, "cannot stack \(p.shape) onto \(tail)")
            data.append(contentsOf: p.data)
            n += p.batch
        }
        return Tensor(shape: [n] + tail, data: data)
    }
}
