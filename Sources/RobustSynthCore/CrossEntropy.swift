/// Per-example cross-entropy of logits [n, K] against target classes, and its gradient
/// with respect to the logits (softmax minus one-hot), computed stably in Double.
public func crossEntropy(logits: Tensor, targets: [Int]) -> (loss: [Float], dlogits: Tensor, probability: [Float]) {
    let n = logits.batch, k = logits.exampleCount
    precondition(targets.count == n)
    var loss = [Float](repeating: 0, count: n)
    var probability = [Float](repeating: 0, count: n)
    var grad = [Float](repeating: 0, count: n * k)
    logits.data.withUnsafeBufferPointer { z in
        for i in 0..<n {
            let row = i * k
            var m = -Double.infinity
            for j in 0..<k { m = max(m, Double(z[row + j])) }
            var sum = 0.0
            for j in 0..<k { sum += exp(Double(z[row + j]) - m) }
            let logSum = m + log(sum)
            loss[i] = Float(logSum - Double(z[row + targets[i]]))
            for j in 0..<k { grad[row + j] = Float(exp(Double(z[row + j]) - logSum)) }
            probability[i] = grad[row + targets[i]]
            grad[row + targets[i]] -= 1
        }
    }
    return (loss, Tensor(shape: logits.shape, data: grad), probability)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
