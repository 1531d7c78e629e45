import Foundation
import XCTest

/// The shipped digit models and the quickstart settings show the paper's claim, judged by a
/// 5-nearest-neighbour classifier on real training digits that never saw either model
/// (issue: robust >= 75% and standard <= 30% in translation; in generation from uniform noise the
/// robust model >= 60% and at least 25 points above the standard one; >= 100 samples each).
final class DigitsDemoTests: XCTestCase {
    func agreement(_ spec: String, file: StaticString = #filePath, line: UInt = #line) throws -> (rate: Double, count: Int, run: URL) {
        let dir = TestSupport.temporaryDirectory("digits-\(URL(fileURLWithPath: spec).deletingPathExtension().lastPathComponent)")
        let out = dir.appendingPathComponent("run")
        // At least 100 samples: the generation specs make 80 for the quickstart, so ask for 10 per class here.
        var text = try String(contentsOf: TestSupport.root.appendingPathComponent(spec), encoding: .utf8)
        text = text.replacingOccurrences(of: "per_class: 8", with: "per_class: 10")
        let copy = TestSupport.root.appendingPathComponent(spec).deletingLastPathComponent()
            .appendingPathComponent(".test-\(getpid())-\(URL(fileURLWithPath: spec).lastPathComponent)")
        try text.write(to: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: copy) }
        let r = try TestSupport.rsynth(["run", copy.path, "--out", out.path, "--quiet", "--save-tensors"],
                                       environment: ["RSYNTH_CACHE_DIR": dir.appendingPathComponent("cache").path])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let judge = try TestSupport.json(out.appendingPathComponent("manifest.json"))["judge"] as! [String: Any]
        return (judge["agreement"] as! Double, judge["judged"] as! Int, out)
    }

    func testTranslationOfRealDigits() throws {
        let robust = try agreement("Examples/digits/translation-robust.yaml")
        let standard = try agreement("Examples/digits/translation-standard.yaml")
        XCTAssertGreaterThanOrEqual(robust.count, 100)
        XCTAssertGreaterThanOrEqual(standard.count, 100)
        XCTAssertGreaterThanOrEqual(robust.rate, 0.75, "robust translation judged as the target")
        XCTAssertLessThanOrEqual(standard.rate, 0.30, "standard translation judged as the target")
        _ = try TaskInvariants.check(robust.run, eps: 10)
    }

    func testGenerationFromUniformNoise() throws {
        let robust = try agreement("Examples/quickstart.yaml")
        let standard = try agreement("Examples/digits/generation-uniform-standard.yaml")
        XCTAssertGreaterThanOrEqual(robust.count, 100)
        XCTAssertGreaterThanOrEqual(robust.rate, 0.60, "robust generation judged as the target")
        XCTAssertGreaterThanOrEqual(robust.rate - standard.rate, 0.25, "robust \(robust.rate) vs standard \(standard.rate)")
        _ = try TaskInvariants.check(robust.run, eps: 16)
    }
}
