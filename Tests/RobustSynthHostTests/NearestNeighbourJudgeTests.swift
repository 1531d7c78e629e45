import Foundation
import RSynthTestSupport
@testable import RobustSynthHost
import RobustSynthCore
import XCTest

/// The k-NN judge's eight-lane distance loop against its plain reference, on the shipped digits:
/// all 1437 training images (180 blocks of eight, the last partial, in groups of four), and the
/// first 1418 (178 blocks: 44 groups and two blocks after them, the last partial).
final class NearestNeighbourJudgeTests: XCTestCase {
    func testTheLaneLoopEqualsThePlainLoopBitForBitAndSoDoTheVerdicts() throws {
        let shape = ImageShape(channels: 3, height: 16, width: 16)
        let all = try NearestNeighbourJudge(
            dataset: TestSupport.root.appendingPathComponent("Examples/digits/data/train").path,
            labels: .numbered(10), shape: shape, k: 5)
        XCTAssertEqual(all.labels.count, 1437)
        let fewer = NearestNeighbourJudge(points: Array(all.points.prefix(1418 * shape.count)), labels: Array(all.labels.prefix(1418)),
                                          shape: shape, k: 5, dataset: all.dataset)
        XCTAssertEqual([all.blockCount, fewer.blockCount], [180, 178])
        for judge in [all, fewer] { try check(judge) }
    }

    func check(_ judge: NearestNeighbourJudge) throws {
        let m = judge.labels.count
        var rng = SystemRandomNumberGenerator()
        let d = 3 * 16 * 16
        // Training images themselves (distance 0 to one of them), each slightly moved, and noise.
        var queries = [[Float]]()
        for i in stride(from: 0, to: m, by: 97) {
            let image = Array(judge.points[(i * d)..<((i + 1) * d)])
            queries.append(image)
            queries.append(image.map { min(max($0 + Float.random(in: -0.2...0.2, using: &rng), 0), 1) })
        }
        for _ in 0..<10 { queries.append((0..<d).map { _ in Float.random(in: 0...1, using: &rng) }) }
        var exactHits = 0
        for q in queries {
            let fast = judge.squaredDistances(q[...]), plain = judge.referenceSquaredDistances(q[...])
            XCTAssertEqual(fast.count, m)
            XCTAssertEqual(fast.map(\.bitPattern), plain.map(\.bitPattern))
            if fast.contains(0) { exactHits += 1 }
            // The verdict from the plain loop, written out as the judge's rule: majority of the 5
            // nearest, a tie to the nearest's class.
            let order = plain.indices.sorted { (plain[$0], $0) < (plain[$1], $1) }.prefix(5)
            var votes = [Int: Int]()
            for i in order { votes[judge.labels[i], default: 0] += 1 }
            let top = votes.values.max()!
            let expected = judge.labels[order.first { votes[judge.labels[$0]] == top }!]
            XCTAssertEqual(judge.classify(q[...]), expected)
        }
        XCTAssertEqual(exactHits, 15, "each training image queried is at distance 0 from itself")
    }
}
