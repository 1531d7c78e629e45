import Foundation
import XCTest
import Checkpoints

/// Opt-in: full-size ResNet-50 checkpoints written by Tests/Fixtures/make_large_checkpoints.py
/// into $CHECKPOINTS_LARGE_DIR (too big to commit). Skipped when the variable is unset.
final class LargeCheckpointTests: XCTestCase {
    struct Summary: Decodable { let shape: [Int]; let dtype: String; let sum: Double; let first: [Double] }

    func directory() throws -> URL {
        guard let dir = ProcessInfo.processInfo.environment["CHECKPOINTS_LARGE_DIR"] else {
            throw XCTSkip("set CHECKPOINTS_LARGE_DIR (see Tests/Fixtures/make_large_checkpoints.py)")
        }
        return URL(fileURLWithPath: dir)
    }

    func check(_ file: String, layout: String, count: Int, stateDictKey: String) throws {
        let dir = try directory()
        let summaries = try JSONDecoder().decode([String: [String: Summary]].self,
                                                 from: Data(contentsOf: dir.appendingPathComponent("summary.json")))[layout]!
        var start = Date()
        let rssBefore = residentMegabytes()
        let c = try Checkpoint.load(dir.appendingPathComponent(file).path)
        let loadSeconds = Date().timeIntervalSince(start)
        let rssAfterLoad = residentMegabytes()
        XCTAssertEqual(c.tensors.count, count)
        XCTAssertEqual(c.stateDictKey, stateDictKey)
        start = Date()
        var elements = 0
        for t in c.tensors {
            let want = try XCTUnwrap(summaries[t.name], t.name)
            XCTAssertEqual(t.shape, want.shape, t.name)
            XCTAssertEqual(t.dtype.rawValue, want.dtype, t.name)
            let v = try t.floats()
            elements += v.count
            XCTAssertEqual(Array(v.prefix(3)), want.first.map { Float($0) }, t.name)
            let sum = v.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, want.sum, accuracy: 1e-9 * Double(max(v.count, 1)) + 1e-9 * abs(want.sum), t.name)
        }
        print("\(file): load \(String(format: "%.3f", loadSeconds)) s (resident \(rssBefore) -> \(rssAfterLoad) MB), floats() of \(elements) elements \(String(format: "%.3f", Date().timeIntervalSince(start))) s")
    }

    /// Resident set size, to see that loading maps the file instead of reading it.
    func residentMegabytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = s.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return -1 }
        return pages * 4096 / 1_000_000
    }

    func testTorchvisionResNet50Zip() throws {
        try check("resnet50_zip.pth", layout: "torchvision", count: 320, stateDictKey: "")
    }

    func testMadryLabResNet50Legacy() throws {
        try check("madry_resnet50_legacy.pt", layout: "madry", count: 644, stateDictKey: "model")
    }

    func testResNet50Safetensors() throws {
        try check("resnet50.safetensors", layout: "torchvision", count: 320, stateDictKey: "")
    }
}
