import Foundation
import RSynthTestSupport
import ImageIO
import RobustSynthCore
import XCTest

/// Invariants of every task's saved tensors, whatever the classifier: results in [0, 1] and in
/// their L2 ball, the target's loss lowered, inpainting keeping the image outside its patch.
enum TaskInvariants {
    struct Sample {
        let record: [String: Any]
        let start: [Float], result: [Float], mask: [Float]?
    }

    static func samples(_ run: URL) throws -> [Sample] {
        let manifest = try TestSupport.json(run.appendingPathComponent("manifest.json"))
        return try (manifest["samples"] as! [[String: Any]]).map { r in
            func load(_ key: String) throws -> [Float]? {
                guard let rel = r[key] as? String else { return nil }
                return try TestSupport.readNPY(run.appendingPathComponent(rel)).values
            }
            return Sample(record: r, start: try load("seed_tensor")!, result: try load("result_tensor")!, mask: try load("mask_tensor"))
        }
    }

    static func l2(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
    }

    /// In [0, 1], within eps of the start (1e-4), final loss below the start's.
    static func check(_ run: URL, eps: Double, file: StaticString = #filePath, line: UInt = #line) throws -> [Sample] {
        let all = try samples(run)
        XCTAssertFalse(all.isEmpty, file: file, line: line)
        for s in all {
            XCTAssertTrue(s.result.allSatisfy { $0 >= 0 && $0 <= 1 }, "result outside [0,1]", file: file, line: line)
            XCTAssertLessThanOrEqual(l2(s.result, s.start), eps + 1e-4, file: file, line: line)
            XCTAssertLessThan(s.record["final_loss"] as! Double, s.record["initial_loss"] as! Double, file: file, line: line)
        }
        return all
    }

    /// Mean absolute change inside and outside the inpainting patch.
    static func changeInsideOutside(_ s: Sample) -> (inside: Double, outside: Double) {
        let mask = s.mask!, hw = mask.count
        var inside = 0.0, outside = 0.0, nIn = 0, nOut = 0
        for (j, (a, b)) in zip(s.result, s.start).enumerated() {
            let d = Double(abs(a - b))
            if mask[j % hw] > 0.5 { inside += d; nIn += 1 } else { outside += d; nOut += 1 }
        }
        return (inside / Double(max(nIn, 1)), outside / Double(max(nOut, 1)))
    }
}

/// The photo-based tasks end to end on a small generated image folder with the exact-gradient
/// linear classifier (the digits demo runs the same checks with real models).
final class TaskInvariantTests: XCTestCase {
    static var dataset: URL = {
        let dir = TestSupport.temporaryDirectory("taskdata").appendingPathComponent("images")
        var rng = RandomStream(seed: 1)
        for c in 0..<10 {
            for i in 0..<3 {
                // Smooth blobs plus a little noise: something with structure, not pure noise.
                var px = [UInt8](repeating: 0, count: 16 * 16 * 3)
                let cx = Double(rng.nextInt(below: 16)), cy = Double(rng.nextInt(below: 16))
                for y in 0..<16 { for x in 0..<16 { for ch in 0..<3 {
                    let r = ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)).squareRoot()
                    let v = 0.5 + 0.4 * cos(r / Double(2 + c + ch)) + 0.05 * (rng.nextUniform() - 0.5)
                    px[(y * 16 + x) * 3 + ch] = UInt8(max(0, min(255, v * 255)))
                } } }
                let path = dir.appendingPathComponent("\(c)/\(i).png")
                try! FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
                try! ImageFile.writePNG(RGBImage(width: 16, height: 16, pixels: px), to: path.path)
            }
        }
        return dir
    }()

    func run(task: String, constraints: String, steps: Int, stepSize: Double) throws -> URL {
        let dir = TestSupport.temporaryDirectory(name)
        let spec = dir.appendingPathComponent("spec.yaml")
        TestSupport.write("""
            version: 1
            classifier: { plugin: linear, with: { classes: 10, size: 16 } }
            seed: { plugin: dataset-image, with: { dataset: \(Self.dataset.path), labels: "10", transform: resize } }
            task: \(task)
            constraints: \(constraints)
            optimizer: { steps: \(steps), step_size: \(stepSize), batch_size: 4 }

            """, to: spec)
        let out = dir.appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", spec.path, "--out", out.path, "--save-tensors", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    func testInpaintingChangesThePatchAndThePenaltyHoldsTheRest() throws {
        func inpaint(lambda: Double) throws -> [TaskInvariants.Sample] {
            let out = try run(task: "{ plugin: inpainting, with: { count: 8, patch: 6 } }",
                              constraints: "[ { plugin: l2-ball, with: { eps: 3 } }, { plugin: masked-penalty, with: { lambda: \(lambda) } } ]",
                              steps: 60, stepSize: 0.1)
            return try TaskInvariants.check(out, eps: 3)
        }
        // The linear model's gradient is spread evenly over all pixels, so what keeps the known
        // pixels is the penalty alone: without it they move as much as the patch.
        let free = try inpaint(lambda: 0), held = try inpaint(lambda: 1000)
        for (f, h) in zip(free, held) {
            XCTAssertEqual(h.mask!.filter { $0 == 1 }.count, 36)
            XCTAssertEqual(h.mask!, f.mask!)
            let (insideFree, outsideFree) = TaskInvariants.changeInsideOutside(f)
            let (inside, outside) = TaskInvariants.changeInsideOutside(h)
            XCTAssertGreaterThan(outsideFree, 0.5 * insideFree)
            XCTAssertLessThan(outside, 0.2 * outsideFree, "outside moved \(outside) with the penalty, \(outsideFree) without")
            XCTAssertLessThan(outside, 0.3 * inside, "inside \(inside), outside \(outside)")
            XCTAssertEqual(h.record["target"] as? Int, h.record["source_label"] as? Int)
        }
    }

    /// A painted mask instead of the square (what the studio's mask painting makes): drawn at
    /// twice the input size, white where to fill, grey elsewhere. Every sample fills exactly
    /// that region, starting from the image's per-channel mean there.
    func testInpaintingFillsAPaintedMask() throws {
        let dir = TestSupport.temporaryDirectory("painted-mask")   // not run()'s, which it empties
        var expected = [Float](repeating: 0, count: 256)
        var px = [UInt8](repeating: 60, count: 32 * 32 * 3)
        for y in 0..<16 { for x in 0..<16 where (2...5).contains(y) || (10...12).contains(x) {
            expected[y * 16 + x] = 1
            for dy in 0..<2 { for dx in 0..<2 { for c in 0..<3 { px[((2 * y + dy) * 32 + 2 * x + dx) * 3 + c] = c == 0 ? 255 : 230 } } }
        } }
        let mask = dir.appendingPathComponent("mask.png")
        try ImageFile.writePNG(RGBImage(width: 32, height: 32, pixels: px), to: mask.path)
        let out = try run(task: "{ plugin: inpainting, with: { count: 4, masks: [\(mask.path)] } }",
                          constraints: "[ { plugin: l2-ball, with: { eps: 3 } }, { plugin: masked-penalty, with: { lambda: 1000 } } ]",
                          steps: 20, stepSize: 0.1)
        let samples = try TaskInvariants.check(out, eps: 3)
        XCTAssertEqual(samples.count, 4)
        for s in samples {
            XCTAssertEqual(s.mask, expected)
            for c in 0..<3 {
                let inside = (0..<256).filter { expected[$0] == 1 }.map { s.start[c * 256 + $0] }
                XCTAssertEqual(Set(inside).count, 1, "one value, the channel's mean, fills the mask")
            }
            let (inside, outside) = TaskInvariants.changeInsideOutside(s)
            XCTAssertLessThan(outside, 0.3 * inside, "inside \(inside), outside \(outside)")
        }

        let spec = dir.appendingPathComponent("two.yaml")
        TestSupport.write("""
            version: 1
            classifier: { plugin: linear, with: { classes: 10, size: 16 } }
            seed: { plugin: dataset-image, with: { dataset: \(Self.dataset.path), labels: "10", transform: resize } }
            task: { plugin: inpainting, with: { count: 3, masks: [\(mask.path), \(mask.path)] } }
            constraints: [ { plugin: l2-ball, with: { eps: 3 } }, { plugin: masked-penalty, with: { lambda: 10 } } ]

            """, to: spec)
        let r = try TestSupport.rsynth(["run", spec.path, "--out", dir.appendingPathComponent("two").path, "--quiet"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "rsynth: error: plugin 'inpainting': 'masks' has 2 pictures for 3 images ('count'): give one per image, or one for all\n")
    }

    func testSuperResolutionStaysInItsBallAroundTheUpsampledImage() throws {
        let out = try run(task: "{ plugin: super-resolution, with: { count: 8, low_resolution: 8 } }",
                          constraints: "[ { plugin: l2-ball, with: { eps: 1 } } ]", steps: 20, stepSize: 0.2)
        for s in try TaskInvariants.check(out, eps: 1) {
            // The start is nearest-up-sampled from 8x8: every 2x2 block is constant.
            for c in 0..<3 { for y in stride(from: 0, to: 16, by: 2) { for x in stride(from: 0, to: 16, by: 2) {
                let v = s.start[c * 256 + y * 16 + x]
                XCTAssertEqual(s.start[c * 256 + y * 16 + x + 1], v)
                XCTAssertEqual(s.start[c * 256 + (y + 1) * 16 + x + 1], v)
            } } }
        }
    }

    func testTranslationDrivesEachImageToAnotherClass() throws {
        let out = try run(task: "{ plugin: translation, with: { source_class: \"3\", target_classes: [\"8\", \"5\"], count: 2 } }",
                          constraints: "[ { plugin: l2-ball, with: { eps: 4 } } ]", steps: 30, stepSize: 0.5)
        let samples = try TaskInvariants.check(out, eps: 4)
        XCTAssertEqual(samples.map { $0.record["target"] as! Int }, [8, 8, 5, 5])
        XCTAssertEqual(samples.map { $0.record["source_label"] as! Int }, [3, 3, 3, 3])
    }

    func testAPatchLargerThanTheImageIsRefusedBeforeAnyWork() throws {
        let dir = TestSupport.temporaryDirectory()
        let spec = dir.appendingPathComponent("spec.yaml")
        TestSupport.write("""
            version: 1
            classifier: { plugin: linear, with: { classes: 10, size: 16 } }
            seed: { plugin: dataset-image, with: { dataset: \(Self.dataset.path), labels: "10", transform: resize } }
            task: { plugin: inpainting, with: { patch: 60 } }
            constraints: [ { plugin: l2-ball, with: { eps: 21 } }, { plugin: masked-penalty } ]

            """, to: spec)
        let r = try TestSupport.rsynth(["run", spec.path, "--out", dir.appendingPathComponent("run").path, "--quiet"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "rsynth: error: plugin 'inpainting': a patch of 60 pixels does not fit the classifier's 16x16 images: choose a smaller 'patch'\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run").path))
    }
}
