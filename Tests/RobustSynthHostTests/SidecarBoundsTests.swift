import Foundation
import RSynthTestSupport
import XCTest

/// Issue 11: the digits-resnet sidecar JSON (`<weights>.json`) declaring a 100000x100000 input
/// once aborted on a 156 GB allocation; its input size is bounded like the ResNet-50 plugins'
/// input_size (at most 2048), and the refusal comes before anything large is allocated.
final class SidecarBoundsTests: XCTestCase {
    func testHugeDeclaredInputIsRefused() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = TestSupport.root.appendingPathComponent("Examples/digits/models")
        let weights = dir.appendingPathComponent("m.pt"), sidecar = dir.appendingPathComponent("m.json")
        try FileManager.default.copyItem(at: models.appendingPathComponent("digits-robust.pt"), to: weights)
        var meta = try TestSupport.json(models.appendingPathComponent("digits-robust.json"))
        let image = TestSupport.root.appendingPathComponent("Examples/results/inpainting.png").path
        for (input, problem) in [([3, 100_000, 100_000], "'input' declares a 100000x100000 input; it must be square, at most 2048x2048"),
                                 ([3, 16, 8], "'input' declares a 16x8 input; it must be square, at most 2048x2048"),
                                 ([3, 0, 0], "'input' declares a 0x0 input; it must be square, at most 2048x2048"),
                                 ([16], "'input' must be [channels, height, width], got [16]")] {
            meta["input"] = input
            try JSONSerialization.data(withJSONObject: meta).write(to: sidecar)
            let r = try TestSupport.rsynth(["classify", "--classifier", "digits-resnet", "--weights", weights.path, image],
                                           memoryLimitMiB: 1024)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertEqual(r.stderr, "Error: plugin 'digits-resnet': \(sidecar.path): \(problem)\n")
        }
        // The shipped sidecar's 16x16 still classifies.
        meta["input"] = [3, 16, 16]
        try JSONSerialization.data(withJSONObject: meta).write(to: sidecar)
        let ok = try TestSupport.rsynth(["classify", "--classifier", "digits-resnet", "--weights", weights.path, image])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }
}
