import XCTest
import RobustSynthCore

final class ClassLabelsTests: XCTestCase {
    func testImageNetNamesIdsLemmasAndIndices() {
        let l = ClassLabels.imageNet
        XCTAssertEqual(l.count, 1000)
        XCTAssertEqual(l.resolve("tench"), 0)
        XCTAssertEqual(l.resolve("n01440764"), 0)
        XCTAssertEqual(l.resolve("Tinca tinca"), 0)
        XCTAssertEqual(l.resolve("English springer"), 217)
        XCTAssertEqual(l.resolve("golf ball"), 574)
        XCTAssertEqual(l.resolve("701"), 701)
        // The lemma "crane" belongs to 134 and 517; torchvision's unique names decide.
        XCTAssertEqual(l.resolve("crane"), 517)
        XCTAssertEqual(l.resolve("crane bird"), 134)
        XCTAssertNil(l.resolve("1000"))
        XCTAssertNil(l.resolve("tnech"))
        XCTAssertEqual(l.suggestion(for: "tnech"), "tench")
        XCTAssertEqual(l.name(566), "French horn")
    }

    func testRandomStreamIsDeterministicAndUniform() {
        var a = RandomStream(seed: 42), b = RandomStream(seed: 42)
        XCTAssertEqual((0..<10).map { _ in a.next() }, (0..<10).map { _ in b.next() })
        var r = RandomStream(seed: 1)
        let n = 100_000
        let u = (0..<n).map { _ in Double(r.nextUniformFloat()) }
        let mean = u.reduce(0, +) / Double(n)
        let variance = u.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        // U[0,1): mean 1/2 (standard error 0.0009), variance 1/12.
        XCTAssertEqual(mean, 0.5, accuracy: 0.004)
        XCTAssertEqual(variance, 1.0 / 12, accuracy: 0.002)
        let z = (0..<n).map { _ in r.nextNormal() }
        let zm = z.reduce(0, +) / Double(n)
        XCTAssertEqual(zm, 0, accuracy: 0.013)
        XCTAssertEqual(z.map { ($0 - zm) * ($0 - zm) }.reduce(0, +) / Double(n - 1), 1, accuracy: 0.02)
        XCTAssertNotEqual(RandomStream.sampleSeed(run: 0, index: 0), RandomStream.sampleSeed(run: 0, index: 1))
    }
}
