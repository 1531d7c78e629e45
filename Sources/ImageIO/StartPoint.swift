import RobustSynthCore

/// Where an optimisation that does not start from its source image starts (inversion, feature
/// visualisation): per-sample uniform noise (independent per channel, or one value per pixel in
/// every channel), mid-grey, or a given image file.
public enum StartPoint {
    case noise
    case greyNoise
    case grey
    case image(path: String, tensor: Tensor)

    public static let choices = ["noise", "grey-noise", "grey", "image"]

    /// `kind` is one of `choices` (for "image", `image` is the file, read now so that a bad
    /// file is reported when the plugin is made, with its name).
    public init(_ kind: String, image: String) throws {
        switch kind {
        case "noise": self = .noise
        case "grey-noise": self = .greyNoise
        case "grey": self = .grey
        case "image":
            guard !image.isEmpty else { throw PluginError("start 'image' needs 'start_image', the file to start from") }
            self = .image(path: image, tensor: try ImageFile.read(image).tensor())
        default: throw PluginError("unknown start '\(kind)': " + StartPoint.choices.joined(separator: ", "))
        }
    }

    /// Refuses a start image with the wrong number of channels.
    public func check(_ shape: ImageShape) throws {
        if case .image(let path, let t) = self, t.shape[1] != shape.channels {
            throw PluginError("\(path) has \(t.shape[1]) channels, the classifier takes \(shape.channels)")
        }
    }

    /// x0 [n, C, H, W] shaped like `source`, noise drawn from each sample's own seed.
    public func make(like source: Tensor, seeds: [UInt64]) throws -> Tensor {
        let n = source.batch, c = source.shape[1], h = source.shape[2], w = source.shape[3]
        switch self {
        case .grey: return Tensor(repeating: 0.5, shape: source.shape)
        case .noise:
            var x = Tensor(zeros: source.shape)
            for i in 0..<n {
                var rng = RandomStream(seed: seeds[i] ^ 0x0510_15E5)
                for j in x.exampleRange(i) { x.data[j] = rng.nextUniformFloat() }
            }
            return x
        case .greyNoise:
            var x = Tensor(zeros: source.shape)
            let plane = h * w
            for i in 0..<n {
                var rng = RandomStream(seed: seeds[i] ^ 0x0510_15E5)
                for p in 0..<plane {
                    let v = rng.nextUniformFloat()
                    for ch in 0..<c { x.data[(i * c + ch) * plane + p] = v }
                }
            }
            return x
        case .image(_, let t):
            let one = Resample.resize(t, height: h, width: w, filter: .bilinear)
            guard one.shape[1] == c else { throw PluginError("the start image has \(one.shape[1]) channels, expected \(c)") }
            return Tensor.concatenate(Array(repeating: one, count: n))
        }
    }
}
