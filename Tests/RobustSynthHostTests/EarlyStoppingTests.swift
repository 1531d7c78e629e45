import Foundation
import RSynthTestSupport
@testable import RobustSynthHost
import XCTest

/// `optimizer.stop` through the rsynth executable: the stop step recorded and the target's
/// probability really at least p there; a sample's result the same whatever its batch while
/// stopped samples' slots are refilled; shards and resume byte for byte a single run.
final class EarlyStoppingTests: XCTestCase {
    /// The linear classifier (exact gradients, batch-independent arithmetic), 16 samples.
    func spec(stop: String, batch: Int, steps: Int = 40) -> String {
        """
        version: 1
        classifier: { plugin: linear, with: { classes: 10, size: 16 } }
        seed: { plugin: uniform }
        task: { plugin: generation, with: { classes: [1, 3, 5, 8], per_class: 4 } }
        constraints:
          - { plugin: l2-ball, with: { eps: 4 } }
        optimizer: { steps: \(steps), step_size: 0.25, batch_size: \(batch), seed: 3, stop: \(stop) }

        """
    }

    @discardableResult
    func run(_ text: String, _ dir: URL, _ out: String, _ extra: [String] = []) throws -> URL {
        let specPath = dir.appendingPathComponent("spec-\(out).yaml")
        TestSupport.write(text, to: specPath)
        let outDir = dir.appendingPathComponent(out)
        let r = try TestSupport.rsynth(["run", specPath.path, "--out", outDir.path, "--quiet", "--save-tensors"] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        return outDir
    }

    func samples(_ dir: URL) throws -> [[String: Any]] {
        try TestSupport.json(dir.appendingPathComponent("manifest.json"))["samples"] as! [[String: Any]]
    }

    func record(_ dir: URL, _ index: Int) throws -> [String: Any] {
        try TestSupport.json(dir.appendingPathComponent(String(format: "samples/%06d.json", index)))
    }

    func testStopStepIsRecordedAndTheProbabilityHoldsThere() throws {
        let dir = TestSupport.temporaryDirectory()
        let p = 0.8
        let out = try run(spec(stop: "{ probability: \(p) }", batch: 5), dir, "run")
        var stopped = 0
        for s in try samples(out) {
            let index = s["index"] as! Int
            let r = try record(out, index)
            let losses = (r["losses"] as! [Double])
            // The loss is the cross-entropy alone (the l2-ball has no penalty): p = exp(-loss).
            if let at = r["stopped_at"] as? Int {
                stopped += 1
                XCTAssertEqual(losses.count, at + 1, "sample \(index): the loss history stops at the stop step")
                XCTAssertGreaterThanOrEqual(exp(-losses[at]), p - 1e-5, "sample \(index)")
                XCTAssertTrue(losses.dropLast().allSatisfy { exp(-$0) < p + 1e-5 }, "sample \(index) stopped late")
                XCTAssertGreaterThanOrEqual(r["target_probability"] as! Double, p - 1e-5)
                XCTAssertEqual(s["stopped_at"] as? Int, at, "the manifest has it too")
            } else {
                XCTAssertEqual(losses.count, 41)
                XCTAssertTrue(losses.dropLast().allSatisfy { exp(-$0) < p + 1e-5 }, "sample \(index) should have stopped")
            }
        }
        XCTAssertTrue((5...12).contains(stopped), "some samples reach p = \(p) before 40 steps, others not: \(stopped)")
        let plan = try TestSupport.json(out.appendingPathComponent("run.json"))
        XCTAssertEqual((plan["optimizer"] as! [String: Any])["stop"] as? [String: Double], ["probability": p])
        let csv = try String(contentsOf: out.appendingPathComponent("losses.csv"), encoding: .utf8)
        let rows = try samples(out).map { try record(out, $0["index"] as! Int)["losses"] as! [Double] }.map(\.count).reduce(0, +)
        XCTAssertEqual(csv.split(separator: "\n").count, 1 + rows)
        let svg = try String(contentsOf: out.appendingPathComponent("loss-00-1.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("stopped early: "), svg)
        XCTAssertTrue(svg.contains("<circle"))
    }

    func testAResultIsTheSameWhateverItsBatchWithEarlyStopping() throws {
        let dir = TestSupport.temporaryDirectory()
        for stop in ["{ probability: 0.8 }", "{ probability: 0.95, patience: 3, min_delta: 0.002 }"] {
            let one = try run(spec(stop: stop, batch: 1), dir, "one")
            let seven = try run(spec(stop: stop, batch: 7), dir, "seven")
            var stopped = Set<Int?>()
            for i in 0..<16 {
                let name = String(format: "samples/%06d", i)
                for file in ["-result.npy", ".png", "-seed.npy"] {
                    let a = try Data(contentsOf: one.appendingPathComponent(name + file))
                    let b = try Data(contentsOf: seven.appendingPathComponent(name + file))
                    XCTAssertEqual(a, b, "\(stop): \(name)\(file)")
                }
                let a = try record(one, i), b = try record(seven, i)
                XCTAssertEqual(a["stopped_at"] as? Int, b["stopped_at"] as? Int)
                XCTAssertEqual(a["losses"] as! [Double], b["losses"] as! [Double])
                stopped.insert(a["stopped_at"] as? Int)
            }
            XCTAssertGreaterThan(stopped.count, 2, "\(stop): samples stop at different steps, so batches mix")
            try FileManager.default.removeItem(at: one)
            try FileManager.default.removeItem(at: seven)
        }
    }

    func testShardsAndResumeEqualASingleRunByteForByte() throws {
        let dir = TestSupport.temporaryDirectory()
        let text = spec(stop: "{ probability: 0.85, patience: 6 }", batch: 3)
        let single = try run(text, dir, "single")
        try run(text, dir, "shard0", ["--shard", "0/2"])
        try run(text, dir, "shard1", ["--shard", "1/2"])
        let merged = try TestSupport.rsynth(["merge", "--out", dir.appendingPathComponent("merged").path,
                                             dir.appendingPathComponent("shard0").path, dir.appendingPathComponent("shard1").path])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        try run(text, dir, "resumed", ["--shard", "1/2"])
        try run(text, dir, "resumed")
        let names = try FileManager.default.contentsOfDirectory(atPath: single.appendingPathComponent("samples").path)
            .filter { $0.hasSuffix(".png") || $0.hasSuffix(".npy") }.sorted()
        XCTAssertEqual(names.count, 16 * 4)
        for other in ["merged", "resumed"] {
            for name in names.map({ "samples/\($0)" }) + ["grid.png", "losses.csv", "loss-00-1.svg", "loss-03-8.svg"] {
                let a = try Data(contentsOf: single.appendingPathComponent(name))
                let b = try Data(contentsOf: dir.appendingPathComponent("\(other)/\(name)"))
                XCTAssertEqual(a, b, "\(other)/\(name)")
            }
            for i in 0..<16 {
                XCTAssertEqual(try record(single, i)["stopped_at"] as? Int,
                               try record(dir.appendingPathComponent(other), i)["stopped_at"] as? Int)
            }
        }
        XCTAssertTrue(try samples(single).contains { $0["stopped_at"] != nil })
    }

    func testWithoutAStopRuleNothingIsRecorded() throws {
        let dir = TestSupport.temporaryDirectory()
        let text = spec(stop: "{ probability: 0.9 }", batch: 4, steps: 10).replacingOccurrences(of: ", stop: { probability: 0.9 }", with: "")
        let out = try run(text, dir, "plain")
        let r = try String(contentsOf: out.appendingPathComponent("samples/000000.json"), encoding: .utf8)
        XCTAssertFalse(r.contains("stopped_at"))
        let plan = try String(contentsOf: out.appendingPathComponent("run.json"), encoding: .utf8)
        XCTAssertFalse(plan.contains("\"stop\""))
        let svg = try String(contentsOf: out.appendingPathComponent("loss-00-1.svg"), encoding: .utf8)
        XCTAssertFalse(svg.contains("stopped early"))
    }
}
