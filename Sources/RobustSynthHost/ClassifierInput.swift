import ImageIO
import RobustSynthCore

/// How an image file becomes a classifier input: an image already at the input size is used
/// exactly as stored (byte / 255, RGB); any other size gets the standard ImageNet evaluation
/// transform scaled to the input (shorter side to 256/224 of it, antialiased bilinear, then the
/// central crop: 256 -> 224 for ImageNet models).
public enum ClassifierInput {
    public static func tensor(_ image: RGBImage, shape: ImageShape) -> Tensor {
        let x = image.tensor()
        if image.width == shape.width && image.height == shape.height { return x }
        let resize = Int((Double(shape.height) * 256 / 224).rounded())
        return Resample.imageNetEval(x, resize: resize, crop: shape.height)
    }

    public static func load(_ path: String, shape: ImageShape) throws -> Tensor {
        tensor(try ImageFile.read(path), shape: shape)
    }
}
