import Foundation
import ImageIO
import RobustSynthCore
import XCTest

final class SeedModelTests: XCTestCase {
    /// Three classes: JPEGs 32x32, PNGs 40x32 (non-square, cropped to the centre square), PNGs
    /// plus a corrupt file and an image smaller than R.
    func makeDataset() throws -> String {
        let root = makeTempDir(self, "seeds")
        for c in 0..<3 { mkdir(root + "/\(c)") }
        for i in 0..<5 { try ImageFile.writeJPEG(testImage(width: 32, height: 32, seed: UInt64(100 + i)), to: root + "/0/img\(i).jpg") }
        for i in 0..<6 { try ImageFile.writePNG(testImage(width: 40, height: 32, seed: UInt64(200 + i)), to: root + "/1/img\(i).png") }
        for i in 0..<4 { try ImageFile.writePNG(testImage(width: 16, height: 16, seed: UInt64(300 + i)), to: root + "/2/img\(i).png") }
        try Data("this is not a jpeg".utf8).write(to: URL(fileURLWithPath: root + "/2/broken.jpg"))
        try ImageFile.writePNG(testImage(width: 4, height: 4, seed: 399), to: root + "/2/tiny.png")
        return root
    }

    /// The independent computation: straight loops over the decoded images.
    func expectedStats(_ paths: [String], r: Int) throws -> (mean: [Double], variance: [Double], rows: [[Double]]) {
        var rows = [[Double]]()
        for p in paths {
            let im = try ImageFile.read(p)
            let side = min(im.width, im.height)
            let left = (im.width - side) / 2, top = (im.height - side) / 2  // even differences here
            let f = side / r
            var v = [Double](repeating: 0, count: 3 * r * r)
            for c in 0..<3 { for oy in 0..<r { for ox in 0..<r {
                var s = 0.0
                for y in 0..<f { for x in 0..<f {
                    s += Double(im.pixels[3 * ((top + oy * f + y) * im.width + left + ox * f + x) + c]) / 255
                } }
                v[c * r * r + oy * r + ox] = s / Double(f * f)
            } } }
            rows.append(v)
        }
        let n = Double(rows.count), d = rows[0].count
        var mean = [Double](repeating: 0, count: d), variance = [Double](repeating: 0, count: d)
        for row in rows { for k in 0..<d { mean[k] += row[k] / n } }
        for row in rows { for k in 0..<d { variance[k] += (row[k] - mean[k]) * (row[k] - mean[k]) / (n - 1) } }
        return (mean, variance, rows)
    }

    func testFitMatchesIndependentStatisticsAndSkipsBadFiles() throws {
        let root = try makeDataset()
        let ds = try ImageFolderDataset(root: root, labels: .numbered(3))
        let out = makeTempDir(self) + "/m.seeds"
        var calls = 0
        let report = try SeedFitter.fit(dataset: ds, labels: .numbered(3),
                                        options: .init(resolution: 8, preprocess: .centreSquare), to: out,
                                        progress: { done, total in calls += 1; XCTAssertEqual(total, 17); XCTAssertLessThanOrEqual(done, 17) })
        XCTAssertEqual(calls, 17)
        XCTAssertEqual(report.classes, 3); XCTAssertEqual(report.images, 15)
        XCTAssertEqual(report.skipped.map(\.path), [root + "/2/broken.jpg", root + "/2/tiny.png"])
        XCTAssertEqual(report.skipped.map(\.reason), ["not a PNG or JPEG file (it starts with 74 68 69 73)", "smaller than 8x8 (4x4)"])
        let model = try SeedModel.read(out)
        XCTAssertEqual(model.resolution, 8); XCTAssertEqual(model.preprocess, .centreSquare)
        XCTAssertEqual(model.datasetPath, root)
        XCTAssertEqual(model.classes.map(\.label), [0, 1, 2]); XCTAssertEqual(model.classes.map(\.count), [5, 6, 4])
        for cm in model.classes {
            let paths = ds.items.filter { $0.label == cm.label }.map(\.path).filter { !$0.hasSuffix("broken.jpg") && !$0.hasSuffix("tiny.png") }
            let e = try expectedStats(paths, r: 8)
            for k in 0..<192 {
                XCTAssertEqual(Double(cm.mean[k]), e.mean[k], accuracy: 1e-5)
                XCTAssertEqual(Double(cm.variance[k]), e.variance[k], accuracy: 1e-5)
                for i in 0..<cm.count {
                    XCTAssertEqual(Double(cm.centred[i * 192 + k]), e.rows[i][k] - e.mean[k], accuracy: 1e-5)
                }
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: out).deletingLastPathComponent().path), ["m.seeds"])
    }

    /// The file's bytes do not depend on the number of decoding threads; a limit keeps the first
    /// images by name.
    func testFitIsDeterministicAcrossThreadsAndHonoursTheLimit() throws {
        let root = try makeDataset()
        let ds = try ImageFolderDataset(root: root, labels: .numbered(3))
        let dir = makeTempDir(self)
        for t in [1, 2, 3] {
            try SeedFitter.fit(dataset: ds, labels: .numbered(3), options: .init(resolution: 8, preprocess: .centreSquare, threads: t),
                               to: dir + "/t\(t).seeds")
        }
        let one = try Data(contentsOf: URL(fileURLWithPath: dir + "/t1.seeds"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/t2.seeds")), one)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/t3.seeds")), one)
        let limited = try ImageFolderDataset(root: root, labels: .numbered(3), limitPerClass: 3)
        try SeedFitter.fit(dataset: limited, labels: .numbered(3), options: .init(resolution: 8, preprocess: .centreSquare), to: dir + "/l.seeds")
        let m = try SeedModel.read(dir + "/l.seeds")
        XCTAssertEqual(m.classes.map(\.count), [3, 3, 2])  // class 2: broken.jpg, img0, img1 (broken skipped)
        let e = try expectedStats(limited.items.filter { $0.label == 1 }.map(\.path), r: 8)
        for k in 0..<192 { XCTAssertEqual(Double(m.classes[1].mean[k]), e.mean[k], accuracy: 1e-5) }
    }

    func testEvalPreprocessShapes() throws {
        let v = try SeedFitter.prepare(RGBImage(width: 300, height: 200, red: 255, green: 0, blue: 51), resolution: 56, preprocess: .imageNetEval)
        XCTAssertEqual(v.count, 3 * 56 * 56)
        XCTAssertEqual(v[0], 1, accuracy: 1e-6); XCTAssertEqual(v[56 * 56], 0, accuracy: 1e-6); XCTAssertEqual(v[2 * 56 * 56], 0.2, accuracy: 1e-6)
        XCTAssertThrowsError(try SeedFitter.prepare(RGBImage(width: 60, height: 50, red: 0, green: 0, blue: 0), resolution: 56, preprocess: .imageNetEval)) { e in
            XCTAssertEqual("\(e)", "smaller than 56x56 (60x50)")
        }
    }

    func testFileFormatErrors() throws {
        let dir = makeTempDir(self)
        var rng = RandomStream(seed: 9)
        let rows = (0..<(3 * 48)).map { _ in rng.nextUniformFloat() }
        let model = SeedModel(resolution: 4, preprocess: .centreSquare, datasetPath: "/data/x",
                              classes: [SeedClassModel(label: 7, name: "seven", rows: rows, count: 3, dimension: 48)])
        let path = dir + "/m.seeds"
        try model.write(to: path)
        XCTAssertEqual(try SeedModel.read(path), model)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // header 8 + 5*4 + 4 + 7; class 4 + 4 + 5 + 4 + 3 * 48 * 4 + 3 * 48 * 4; end 8
        XCTAssertEqual(bytes.count, 39 + 17 + 5 * 48 * 4 + 8)
        // Another version.
        var v2 = bytes; v2[8] = 2
        try v2.write(to: URL(fileURLWithPath: dir + "/v2.seeds"))
        XCTAssertThrowsError(try SeedModel.read(dir + "/v2.seeds")) { e in
            XCTAssertEqual("\(e)", "seed model '\(dir)/v2.seeds' has format version 2; this build reads version 1: fit it again with `rsynth seeds fit`")
        }
        // Truncated inside the class data, and just before the end marker.
        try bytes.prefix(1000).write(to: URL(fileURLWithPath: dir + "/cut.seeds"))
        XCTAssertThrowsError(try SeedModel.read(dir + "/cut.seeds")) { e in
            XCTAssertEqual("\(e)", "seed model '\(dir)/cut.seeds' is truncated: it has 1000 bytes, but class 1 of 1 needs 576 bytes at offset 440")
        }
        try bytes.prefix(bytes.count - 8).write(to: URL(fileURLWithPath: dir + "/noend.seeds"))
        XCTAssertThrowsError(try SeedModel.read(dir + "/noend.seeds")) { e in
            XCTAssertEqual("\(e)", "seed model '\(dir)/noend.seeds' is truncated: the end marker is missing (\(bytes.count - 8) bytes)")
        }
        try Data("hello world, not a model".utf8).write(to: URL(fileURLWithPath: dir + "/x.seeds"))
        XCTAssertThrowsError(try SeedModel.read(dir + "/x.seeds")) { e in
            XCTAssertEqual("\(e)", "'\(dir)/x.seeds' is not a RobustSynth seed-model file (no RSYNSEED signature)")
        }
        XCTAssertThrowsError(try SeedModel.read(dir + "/none.seeds")) { e in
            XCTAssertEqual("\(e)", "cannot read seed model '\(dir)/none.seeds': no such file")
        }
    }

    func testClassWithTooFewImagesIsAnError() throws {
        let root = makeTempDir(self)
        mkdir(root + "/0"); mkdir(root + "/1")
        for i in 0..<2 { try ImageFile.writePNG(testImage(width: 8, height: 8, seed: UInt64(i)), to: root + "/0/\(i).png") }
        try ImageFile.writePNG(testImage(width: 8, height: 8, seed: 5), to: root + "/1/a.png")
        try Data("junk".utf8).write(to: URL(fileURLWithPath: root + "/1/b.png"))
        let ds = try ImageFolderDataset(root: root, labels: .numbered(2))
        let out = root + "/m.seeds"
        XCTAssertThrowsError(try SeedFitter.fit(dataset: ds, labels: .numbered(2), options: .init(resolution: 8, preprocess: .centreSquare), to: out)) { e in
            XCTAssertEqual("\(e)", "dataset folder '\(root)/1' has 1 usable image of 2; fitting a class needs at least 2")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root).sorted(), ["0", "1"])
    }
}
