import Foundation
import RSynthTestSupport
@testable import RobustSynthHost
import XCTest

/// `rsynth run --profile`: the table's exact text, every phase of a real run measured and adding
/// up to the wall time, and the run's results untouched by the measuring.
final class RunProfileTests: XCTestCase {
    func testTheTableListsThePhasesThatTookTimeAndTheRest() {
        let p = RunProfile()
        p.add(.forward, 1.25)
        p.add(.backward, 0.5)
        p.add(.sampleFiles, 0.125)
        p.add(.forward, 0.25)
        XCTAssertEqual(p.table(total: 2.5), """
            where the time went (rsynth run --profile): 2.500 s in all
              engine forward                               1.500 s   60.0%
              engine backward (input gradient)             0.500 s   20.0%
              encoding and writing sample files            0.125 s    5.0%
              the rest (start-up, folder, progress)        0.375 s   15.0%
            """)
    }

    /// The quickstart's models and judge, 20 samples of 6 steps.
    func spec(_ dir: URL) -> URL {
        let examples = TestSupport.root.appendingPathComponent("Examples").path
        let path = dir.appendingPathComponent("spec.yaml")
        TestSupport.write("""
            version: 1
            classifier: { plugin: digits-resnet, with: { weights: \(examples)/digits/models/digits-robust.pt } }
            seed:       { plugin: uniform, with: { grey: true } }
            task:       { plugin: generation, with: { classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], per_class: 2 } }
            constraints:
              - { plugin: l2-ball, with: { eps: 12 } }
            optimizer:  { steps: 6, step_size: 1, batch_size: 8, seed: 0 }
            judge:      { dataset: \(examples)/digits/data/train, k: 5 }

            """, to: path)
        return path
    }

    func testARunsPhasesAreMeasuredAndAddUpToItsWallTime() throws {
        let dir = TestSupport.temporaryDirectory()
        let spec = spec(dir)
        let profiled = try TestSupport.rsynth(["run", spec.path, "--out", dir.appendingPathComponent("profiled").path, "--quiet", "--profile"])
        XCTAssertEqual(profiled.status, 0, profiled.stderr)
        let lines = profiled.stdout.split(separator: "\n").map(String.init)
        guard let head = lines.firstIndex(where: { $0.hasPrefix("where the time went (rsynth run --profile): ") }) else {
            return XCTFail("no profile in:\n\(profiled.stdout)")
        }
        let total = Double(lines[head].split(separator: " ").dropLast(3).last!)!
        var rows = [String: (seconds: Double, percent: Double)]()
        for line in lines[(head + 1)...] {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            XCTAssertEqual(fields.suffix(3).dropLast().last, "s", line)
            let label = fields.dropLast(3).joined(separator: " ")
            rows[label] = (Double(fields[fields.count - 3])!, Double(fields.last!.dropLast())!)
        }
        // Every phase of this run took time, and the table lists a phase only when it measured
        // some: each is measured where it happens.
        let expected = RunProfile.Phase.allCases.map(\.label) + ["the rest (start-up, folder, progress)"]
        XCTAssertEqual(Set(rows.keys), Set(expected), profiled.stdout)
        // Rows are rounded to a millisecond: 13 of them add up to the total within that.
        let sum = rows.values.map(\.seconds).reduce(0, +)
        XCTAssertEqual(sum, total, accuracy: 0.001 * Double(rows.count), profiled.stdout)
        XCTAssertEqual(rows.values.map(\.percent).reduce(0, +), 100, accuracy: 0.1 * Double(rows.count), profiled.stdout)
        // 20 samples of 7 evaluations at batch 8 are 21 engine calls: the engine is a fair share.
        XCTAssertGreaterThan(rows["engine forward"]!.seconds + rows["engine backward (input gradient)"]!.seconds, 0.01)

        // Measuring changes nothing the run writes.
        let plain = try TestSupport.rsynth(["run", spec.path, "--out", dir.appendingPathComponent("plain").path, "--quiet"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(plain.stdout.contains("where the time went"))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("plain/samples").path).sorted()
        XCTAssertEqual(files.filter { $0.hasSuffix(".png") }.count, 40)
        for name in files {
            let a = try Data(contentsOf: dir.appendingPathComponent("plain/samples/\(name)"))
            var b = try Data(contentsOf: dir.appendingPathComponent("profiled/samples/\(name)"))
            if name.hasSuffix(".json") {  // a sample's own time differs from run to run
                b = try Self.withoutSeconds(b); XCTAssertEqual(try Self.withoutSeconds(a), b, name)
            } else {
                XCTAssertEqual(a, b, name)
            }
        }
    }

    static func withoutSeconds(_ data: Data) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        object["seconds"] = nil
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}
