import ImageIO
import RobustSynthPluginSDK

/// Seeds drawn from U[0, 1), the same for every class (the paper's weakest seed).
/// With `resolution` R > 0 the noise is drawn at R x R and up-sampled by nearest neighbour,
/// as the paper does for its class-conditional seeds. `low`/`high` narrow the range, e.g. to
/// give the noise a dataset's mean brightness (Fashion-MNIST's dark backgrounds); the defaults
/// give exactly the U[0, 1) values.
final class UniformSampler: SeedSampler, PluginFactory {
    static let info = PluginInfo(
        name: "uniform", kind: .seedSampler, version: "1.0.0",
        summary: "Uniform noise U[low,high), by default U[0,1), independent of the class",
        parameters: [
            ParameterDecl("resolution", .int, default: .int(0), minimum: 0, maximum: 4096,
                          doc: "Draw the noise at this square resolution and up-sample (nearest); 0: the classifier's input size"),
            ParameterDecl("grey", .bool, default: .bool(false),
                          doc: "One value per pixel, the same in every channel (grey noise, for grey images such as digits)"),
            ParameterDecl("low", .double, default: .double(0), minimum: 0, maximum: 1,
                          doc: "The noise's lowest value"),
            ParameterDecl("high", .double, default: .double(1), minimum: 0, maximum: 1,
                          doc: "The noise's upper end, above low (0.57 with low 0: mean 0.286, Fashion-MNIST's)"),
        ])

    let resolution: Int
    let grey: Bool
    let low: Float, high: Float

    init(parameters: ParameterValues) throws {
        resolution = parameters.int("resolution")
        grey = parameters.bool("grey")
        low = Float(parameters.double("low"))
        high = Float(parameters.double("high"))
        guard low < high else { throw PluginError("high (\(parameters.double("high"))) must be above low (\(parameters.double("low")))") }
    }

    /// One value, low + (high - low) u: with the defaults exactly u (0 + 1 * u rounds to u).
    func value(_ rng: inout RandomStream) -> Float { low + (high - low) * rng.nextUniformFloat() }

    func sample(_ request: SeedRequest, shape: ImageShape) throws -> (images: Tensor, labels: [Int]?) {
        let h = resolution == 0 ? shape.height : resolution, w = resolution == 0 ? shape.width : resolution
        var noise = [Float]()
        noise.reserveCapacity(request.count * shape.channels * h * w)
        for seed in request.seeds {
            var rng = RandomStream(seed: seed)
            if grey {
                let plane = (0..<(h * w)).map { _ in value(&rng) }
                for _ in 0..<shape.channels { noise.append(contentsOf: plane) }
            } else {
                for _ in 0..<(shape.channels * h * w) { noise.append(value(&rng)) }
            }
        }
        let small = Tensor(shape: [request.count, shape.channels, h, w], data: noise)
        return (Resample.nearest(small, height: shape.height, width: shape.width), nil)
    }
}

@_cdecl("synth_plugin_entry")
public func synthPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    exportPlugin(UniformSampler.self, hostABI: hostABI)
}
