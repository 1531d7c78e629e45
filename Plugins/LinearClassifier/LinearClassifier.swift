import RobustSynthPluginSDK

/// A linear softmax classifier on the raw pixels, logits = W x + b, with weights drawn from a
/// seed (W ~ N(0, 1/d)). Its input gradient is exactly W^T dlogits, which makes it the
/// classifier of choice for checking optimisers and pipelines against closed forms; it is
/// not robust, and its "images" of a class are just that class's weight pattern.
final class LinearClassifier: Classifier, PluginFactory {
    static let info = PluginInfo(
        name: "linear", kind: .classifier, version: "1.0.0",
        summary: "Linear softmax classifier on pixels with seeded random weights (for tests and examples)",
        parameters: [
            ParameterDecl("classes", .int, default: .int(10), minimum: 2, maximum: 1000, doc: "Number of classes"),
            ParameterDecl("size", .int, default: .int(16), minimum: 1, maximum: 1024, doc: "Input height and width"),
            ParameterDecl("channels", .int, default: .int(3), minimum: 1, maximum: 4, doc: "Input channels"),
            ParameterDecl("seed", .int, default: .int(0), minimum: 0, doc: "Seed of the weights"),
        ])

    let inputShape: ImageShape
    let numClasses: Int
    /// [K, d] row-major, and [K].
    let weights: [Float]
    let bias: [Float]

    init(parameters: ParameterValues) throws {
        let size = parameters.int("size")
        inputShape = ImageShape(channels: parameters.int("channels"), height: size, width: size)
        numClasses = parameters.int("classes")
        var rng = RandomStream(seed: UInt64(parameters.int("seed")))
        let d = inputShape.count
        let scale = 1 / Double(d).squareRoot()
        weights = (0..<(numClasses * d)).map { _ in Float(rng.nextNormal() * scale) }
        bias = (0..<numClasses).map { _ in Float(rng.nextNormal() * 0.1) }
    }

    func className(_ index: Int) -> String? { nil }

    func forward(_ x: Tensor) throws -> Tensor {
        let d = inputShape.count, n = x.batch
        guard x.exampleCount == d else { throw PluginError("input has \(x.exampleCount) values per example, expected \(inputShape)") }
        var logits = [Float](repeating: 0, count: n * numClasses)
        for i in 0..<n {
            for k in 0..<numClasses {
                var s = bias[k]
                for j in 0..<d { s += weights[k * d + j] * x.data[i * d + j] }
                logits[i * numClasses + k] = s
            }
        }
        return Tensor(shape: [n, numClasses], data: logits)
    }

    func inputGradient(_ dlogits: Tensor) throws -> Tensor {
        let d = inputShape.count, n = dlogits.batch
        var dx = [Float](repeating: 0, count: n * d)
        for i in 0..<n {
            for k in 0..<numClasses {
                let g = dlogits.data[i * numClasses + k]
                for j in 0..<d { dx[i * d + j] += g * weights[k * d + j] }
            }
        }
        return Tensor(shape: [n, inputShape.channels, inputShape.height, inputShape.width], data: dx)
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(LinearClassifier.self, hostABI: hostABI)
}
