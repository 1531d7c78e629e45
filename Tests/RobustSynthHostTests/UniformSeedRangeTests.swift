import Foundation
import RSynthTestSupport
import XCTest

/// The uniform sampler's `low`/`high`: the same random stream mapped to low + (high - low) u, so a
/// narrowed seed is the default seed's affine image, value for value; the defaults are U[0, 1)
/// itself; a range that is empty is refused at its key.
final class UniformSeedRangeTests: XCTestCase {
    func seeds(_ with: String) throws -> [[Float]] {
        let dir = TestSupport.temporaryDirectory()
        let spec = dir.appendingPathComponent("spec.yaml")
        try """
        version: 1
        classifier: { plugin: linear, with: { classes: 10, size: 8 } }
        seed:       { plugin: uniform, with: { \(with) } }
        task:       { plugin: generation, with: { classes: [0, 1], per_class: 2 } }
        constraints: [{ plugin: l2-ball, with: { eps: 1 } }]
        optimizer:  { steps: 1, step_size: 0.1, batch_size: 4, seed: 3 }
        """.write(to: spec, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", spec.path, "--out", out.path, "--quiet", "--save-tensors"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let samples = try TestSupport.json(out.appendingPathComponent("manifest.json"))["samples"] as! [[String: Any]]
        return try samples.map { s in
            let record = try TestSupport.json(out.appendingPathComponent((s["image"] as! String).replacingOccurrences(of: ".png", with: ".json")))
            return try TestSupport.readNPY(out.appendingPathComponent(record["seed_tensor"] as! String)).values
        }
    }

    func testARangeIsTheDefaultNoiseMappedIntoIt() throws {
        let plain = try seeds("grey: true")
        let dark = try seeds("grey: true, low: 0.1, high: 0.3")
        XCTAssertEqual(plain.count, 4)
        XCTAssertEqual(plain.map(\.count), dark.map(\.count))
        let all = plain.flatMap { $0 }
        XCTAssertGreaterThan(all.max()!, 0.95)   // U[0, 1): 768 values reach near both ends
        XCTAssertLessThan(all.min()!, 0.05)
        for (p, d) in zip(plain.flatMap { $0 }, dark.flatMap { $0 }) {
            XCTAssertEqual(d, 0.1 + 0.2 * p, accuracy: 1e-6)
            XCTAssertTrue(d >= 0.1 && d < 0.3, "\(d)")
        }
        XCTAssertEqual(try seeds("grey: true, low: 0, high: 1"), plain)
    }

    func testAnEmptyRangeIsRefused() throws {
        let dir = TestSupport.temporaryDirectory()
        let spec = dir.appendingPathComponent("spec.yaml")
        try """
        version: 1
        classifier: { plugin: linear, with: { classes: 10, size: 8 } }
        seed:       { plugin: uniform, with: { low: 0.5, high: 0.5 } }
        task:       { plugin: generation, with: { classes: [0], per_class: 1 } }
        constraints: [{ plugin: l2-ball, with: { eps: 1 } }]
        optimizer:  { steps: 1, step_size: 0.1 }
        """.write(to: spec, atomically: true, encoding: .utf8)
        let r = try TestSupport.rsynth(["run", spec.path, "--out", dir.appendingPathComponent("run").path, "--quiet"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "rsynth: error: plugin 'uniform': high (0.5) must be above low (0.5)\n")
    }
}
