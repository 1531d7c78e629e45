import Foundation
import RSynthTestSupport
import XCTest
@testable import ResNetEngine

/// Issue 11: NaN or infinity in a weight the engine uses, or a negative BatchNorm running variance,
/// makes PyTorch's logits NaN, while folded BatchNorm could give finite ones. Refused at load,
/// naming the key (and, through ResNetFile and rsynth, the file).
final class NonFiniteWeightsTests: XCTestCase {
    func testNonFiniteWeightsAndNegativeVarianceAreRefusedByKey() throws {
        let f = try Fixture.load("digits")
        func refused(_ key: String, _ index: Int, _ value: Float, madry: Bool = false) -> String {
            var sd = madry ? f.madryStateDict() : f.stateDict
            sd[key]!.values[index] = value
            do { _ = try ResNetWeights.from(tensors: sd); return "loaded" } catch { return "\(error)" }
        }
        XCTAssertEqual(refused("layer1.0.bn1.running_mean", 3, .nan),
                       "key layer1.0.bn1.running_mean holds 1 non-finite value (the first, nan, at element 3); PyTorch's logits would be NaN or infinite")
        XCTAssertEqual(refused("conv1.weight", 0, -.infinity),
                       "key conv1.weight holds 1 non-finite value (the first, -inf, at element 0); PyTorch's logits would be NaN or infinite")
        XCTAssertEqual(refused("fc.bias", 9, .infinity),
                       "key fc.bias holds 1 non-finite value (the first, inf, at element 9); PyTorch's logits would be NaN or infinite")
        XCTAssertEqual(refused("layer2.0.bn2.running_var", 5, -1),
                       "key layer2.0.bn2.running_var holds a negative BatchNorm running variance (-1.0 at element 5); PyTorch's logits would be NaN")
        XCTAssertEqual(refused("module.normalizer.new_std", 1, .nan, madry: true),
                       "key module.normalizer.new_std holds 1 non-finite value (the first, nan, at element 1); PyTorch's logits would be NaN or infinite")
        XCTAssertEqual(refused("layer2.0.bn2.running_var", 5, 0), "loaded")  // zero variance is finite (eps)
    }

    /// `sd` as NAME.safetensors with the fixture's mean/std in NAME.json beside it, as the
    /// digits-resnet plugin reads them.
    static func writeWeights(_ sd: [String: (shape: [Int], values: [Float])], fixture f: Fixture, named name: String, in dir: URL) throws -> URL {
        let weights = dir.appendingPathComponent("\(name).safetensors")
        try safetensors(sd).write(to: weights)
        try JSONSerialization.data(withJSONObject: ["mean": f.mean.map(Double.init), "std": f.std.map(Double.init)])
            .write(to: dir.appendingPathComponent("\(name).json"))
        return weights
    }

    /// The same through a file and `rsynth classify`: one line naming the file and the key.
    func testRSynthClassifyRefusesANaNCheckpoint() throws {
        let f = try Fixture.load("digits")
        var sd = f.stateDict
        sd["layer1.0.bn1.running_var"]!.values[2] = .nan
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = try Self.writeWeights(sd, fixture: f, named: "nan", in: dir)
        let image = TestSupport.root.appendingPathComponent("Examples/results/inpainting.png").path
        let r = try TestSupport.rsynth(["classify", "--classifier", "digits-resnet", "--weights", weights.path, image])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertEqual(r.stderr, "Error: plugin 'digits-resnet': \(weights.path): key layer1.0.bn1.running_var holds 1 non-finite value (the first, nan, at element 2); PyTorch's logits would be NaN or infinite\n")
    }

    /// Finite weights whose logits overflow float32: classify --json and saliency say so in one
    /// sentence instead of printing nan% or failing to encode JSON.
    func testLogitsThatOverflowAreOneSentence() throws {
        let f = try Fixture.load("digits")
        var sd = f.stateDict
        sd["fc.weight"]!.values = sd["fc.weight"]!.values.map { $0 >= 0 ? 3e38 : -3e38 }
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = try Self.writeWeights(sd, fixture: f, named: "huge", in: dir)
        let image = TestSupport.root.appendingPathComponent("Examples/digits/data/test/3/0045.png").path
        let c = try TestSupport.rsynth(["classify", "--json", "--classifier", "digits-resnet", "--weights", weights.path, image])
        XCTAssertEqual(c.status, 1, c.stdout)
        XCTAssertTrue(c.stderr.hasPrefix("Error: \(image): the classifier's logit "), c.stderr)
        XCTAssertTrue(c.stderr.hasSuffix(" (not finite): its weights overflow float32 on this image\n"), c.stderr)
        XCTAssertFalse(c.stderr.contains("NSCocoaErrorDomain"))
        let s = try TestSupport.rsynth(["saliency", "--classifier", "digits-resnet", "--weights", weights.path, "--target", "3",
                                        "--out", dir.appendingPathComponent("g.npy").path, image])
        XCTAssertEqual(s.status, 1, s.stdout)
        XCTAssertTrue(s.stderr.hasPrefix("Error: \(image): the classifier's logit "), s.stderr)
    }

    /// A float32 safetensors file of a state dict.
    static func safetensors(_ sd: [String: (shape: [Int], values: [Float])]) throws -> Data {
        var header = [String: Any](), body = Data()
        for key in sd.keys.sorted() {
            let (shape, values) = sd[key]!
            header[key] = ["dtype": "F32", "shape": shape, "data_offsets": [body.count, body.count + 4 * values.count]]
            values.withUnsafeBytes { body.append(contentsOf: $0) }
        }
        let json = try JSONSerialization.data(withJSONObject: header)
        var n = UInt64(json.count).littleEndian
        return Data(bytes: &n, count: 8) + json + body
    }
}
