import Foundation
import ImageIO
import RobustSynthCore
import XCTest

/// What the seed plugins use: model files or datasets fitted once and cached; dataset images.
final class SeedSourceTests: XCTestCase {
    func makeDataset(_ root: String, classes: Int = 2, perClass: Int = 3, w: Int = 16, h: Int = 16) throws {
        for c in 0..<classes {
            mkdir(root + "/\(c)")
            for i in 0..<perClass {
                try ImageFile.writePNG(testImage(width: w, height: h, seed: UInt64(c * 100 + i)), to: root + "/\(c)/\(i).png")
            }
        }
    }

    func testDatasetIsFittedOnceAndRefittedWhenItChanges() throws {
        let dir = makeTempDir(self)
        let root = dir + "/data", cache = dir + "/cache"
        try makeDataset(root)
        let opts = SeedFitter.Options(resolution: 8, preprocess: .centreSquare)
        var logs = [String]()
        let first = try SeedModelSource.load(model: "", dataset: root, labels: .numbered(2), options: opts,
                                             cacheDirectory: cache, log: { logs.append($0) })
        XCTAssertTrue(first.fitted)
        XCTAssertEqual(first.model.classes.map(\.count), [3, 3])
        XCTAssertEqual(logs.count, 1)
        XCTAssertTrue(logs[0].hasPrefix("fitting seed models on '\(root)' (2 classes, 6 images, 8x8); cache: \(cache)/data-r8-"), logs[0])
        let second = try SeedModelSource.load(model: "", dataset: root, labels: .numbered(2), options: opts, cacheDirectory: cache)
        XCTAssertFalse(second.fitted)
        XCTAssertEqual(second.model, first.model)
        // Another resolution is another cache entry; a new image refits.
        XCTAssertTrue(try SeedModelSource.load(model: "", dataset: root, labels: .numbered(2),
                                               options: .init(resolution: 4, preprocess: .centreSquare), cacheDirectory: cache).fitted)
        try ImageFile.writePNG(testImage(width: 16, height: 16, seed: 77), to: root + "/1/9.png")
        let third = try SeedModelSource.load(model: "", dataset: root, labels: .numbered(2), options: opts, cacheDirectory: cache)
        XCTAssertTrue(third.fitted)
        XCTAssertEqual(third.model.classes.map(\.count), [3, 4])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache).count, 3)
        // A model file is read as is.
        let file = dir + "/m.seeds"
        try third.model.write(to: file)
        XCTAssertEqual(try SeedModelSource.load(model: file, dataset: "", labels: .imageNet, options: opts).model, third.model)
    }

    func testSourceErrors() throws {
        XCTAssertThrowsError(try SeedModelSource.load(model: "", dataset: "", labels: .imageNet, options: .init())) { e in
            XCTAssertEqual("\(e)", "no seed model: give a fitted model file (model: FILE, from `rsynth seeds fit`) or a dataset folder (dataset: DIR)")
        }
        XCTAssertThrowsError(try SeedModelSource.labels("ten")) { e in
            XCTAssertEqual("\(e)", "labels must be 'imagenet' or a class count, got 'ten'")
        }
        XCTAssertEqual(try SeedModelSource.labels("10").count, 10)
        XCTAssertEqual(try SeedModelSource.labels("ImageNet").count, 1000)
    }

    func testDatasetImagesWithLabelsAndTransforms() throws {
        let dir = makeTempDir(self)
        try makeDataset(dir, classes: 3, perClass: 2, w: 20, h: 10)
        let ds = try ImageFolderDataset(root: dir, labels: .numbered(3))
        // resize to the image's own size is the identity: values are byte / 255.
        let same = DatasetImageSource(dataset: ds, transform: .resize)
        let (x, labels) = try same.images([5, 0, 2], height: 10, width: 20)
        XCTAssertEqual(x.shape, [3, 3, 10, 20]); XCTAssertEqual(labels, [2, 0, 1])
        XCTAssertEqual(Array(x.data[x.exampleRange(0)]), try ImageFile.read(ds.items[5].path).tensor().data)
        // imagenet-eval at 224: shorter side 256, centre crop 224, exactly the standard transform.
        let eval = DatasetImageSource(dataset: ds, transform: .imageNetEval)
        let y = try eval.image(1, height: 224, width: 224)
        XCTAssertEqual(y, Resample.imageNetEval(try ds.image(1).tensor()))
        // ... and at 16: shorter side round(16 * 256 / 224) = 18, centre 16.
        let z = try eval.image(1, height: 16, width: 16)
        XCTAssertEqual(z, Resample.centreCrop(Resample.resizeShorterSide(try ds.image(1).tensor(), to: 18), height: 16, width: 16))
        XCTAssertThrowsError(try same.images([6], height: 4, width: 4)) { e in
            XCTAssertEqual("\(e)", "dataset '\(dir)' has 6 images; item 6 does not exist")
        }
    }
}
