import Foundation
import ImageIO
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

    /// The judge's images decoded once and read back from the cache folder: the same points as
    /// decoding; the cache is what is read (planted values come back); a changed image or a
    /// truncated file makes it decode again.
    func testTheDecodedImagesAreCachedAndFollowTheirFiles() throws {
        let dir = TestSupport.temporaryDirectory("judge-cache")
        let data = dir.appendingPathComponent("data"), cache = dir.appendingPathComponent("cache").path
        for (c, v) in [(0, UInt8(20)), (1, UInt8(200))] {
            for i in 0..<3 {
                let px = (0..<(4 * 4 * 3)).map { UInt8((Int(v) + $0 * (i + 1)) % 256) }
                let path = data.appendingPathComponent("\(c)/\(i).png").path
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try ImageFile.writePNG(RGBImage(width: 4, height: 4, pixels: px), to: path)
            }
        }
        let shape = ImageShape(channels: 3, height: 8, width: 8)
        func judge(_ folder: String?) throws -> NearestNeighbourJudge {
            try NearestNeighbourJudge(dataset: data.path, labels: .numbered(2), shape: shape, k: 1, cacheFolder: folder)
        }
        let plain = try judge(nil)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache))
        let first = try judge(cache)
        XCTAssertEqual(first.points, plain.points)
        let files = try FileManager.default.contentsOfDirectory(atPath: cache)
        XCTAssertEqual(files.count, 1)
        let file = cache + "/" + files[0]
        XCTAssertTrue(files[0].hasPrefix("judge-v1-") && files[0].hasSuffix(".f32"), files[0])
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int, 24 + 6 * shape.count * 4)

        // Planted values come back: the second judge read the file, not the images.
        var planted = try Data(contentsOf: URL(fileURLWithPath: file))
        planted.replaceSubrange(24..<28, with: withUnsafeBytes(of: Float(7.5)) { Data($0) })
        try planted.write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(try judge(cache).points[0], 7.5)

        // A truncated file is not ours: decoded again, and written whole again.
        try planted.prefix(100).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(try judge(cache).points, plain.points)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int, 24 + 6 * shape.count * 4)

        // An image changed: another key, its new pixels.
        try ImageFile.writePNG(RGBImage(width: 4, height: 4, red: 255, green: 255, blue: 255), to: data.appendingPathComponent("1/2.png").path)
        let changed = try judge(cache)
        XCTAssertEqual(changed.points, try judge(nil).points)
        XCTAssertNotEqual(changed.points, plain.points)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache).count, 2)
    }
}
