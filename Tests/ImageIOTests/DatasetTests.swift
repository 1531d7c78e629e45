import Foundation
import ImageIO
import RobustSynthCore
import XCTest

final class DatasetTests: XCTestCase {
    func write(_ path: String, seed: UInt64, w: Int = 8, h: Int = 8) throws {
        let im = testImage(width: w, height: h, seed: seed)
        if path.lowercased().hasSuffix(".png") { try ImageFile.writePNG(im, to: path) }
        else { try ImageFile.writeJPEG(im, to: path) }
    }

    func testFoldersByWordNetIDNameAndUnderscore() throws {
        let root = makeTempDir(self)
        for f in ["n01440764", "church", "golf_ball"] { mkdir(root + "/" + f) }
        try write(root + "/n01440764/b.JPG", seed: 1)
        try write(root + "/n01440764/a.jpeg", seed: 2)
        try write(root + "/n01440764/c.png", seed: 3)
        try "x".write(toFile: root + "/n01440764/readme.txt", atomically: true, encoding: .utf8)
        try write(root + "/church/z.png", seed: 4)
        try write(root + "/golf_ball/y.jpg", seed: 5)
        mkdir(root + "/.hidden")
        let ds = try ImageFolderDataset(root: root, labels: .imageNet)
        XCTAssertEqual(ds.classes.map(\.folder), ["church", "golf_ball", "n01440764"])
        XCTAssertEqual(ds.classes.map(\.label), [497, 574, 0])
        XCTAssertEqual(ds.items.map { URL(fileURLWithPath: $0.path).lastPathComponent },
                       ["z.png", "y.jpg", "a.jpeg", "b.JPG", "c.png"])
        XCTAssertEqual(ds.items.map(\.label), [497, 574, 0, 0, 0])
        XCTAssertEqual(ds.classes[2].items, 2..<5)
        let limited = try ImageFolderDataset(root: root, labels: .imageNet, limitPerClass: 2)
        XCTAssertEqual(limited.count, 4)
        XCTAssertEqual(try ds.image(0).width, 8)
    }

    func testNumberedLabels() throws {
        let root = makeTempDir(self)
        for c in 0..<3 { mkdir(root + "/\(c)"); try write(root + "/\(c)/i.png", seed: UInt64(c)) }
        let ds = try ImageFolderDataset(root: root, labels: .numbered(3))
        XCTAssertEqual(ds.items.map(\.label), [0, 1, 2])
    }

    func testErrorsNameTheFolder() throws {
        let root = makeTempDir(self)
        mkdir(root + "/tnch"); try write(root + "/tnch/a.png", seed: 1)
        mkdir(root + "/n01440764")  // empty
        mkdir(root + "/church"); try "x".write(toFile: root + "/church/notes.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ImageFolderDataset(root: root, labels: .imageNet)) { e in
            XCTAssertEqual("\(e)", """
                dataset folder '\(root)/church' (class 497, church) has no .jpg, .jpeg or .png images
                dataset folder '\(root)/n01440764' (class 0, tench) has no .jpg, .jpeg or .png images
                dataset folder '\(root)/tnch': unknown class 'tnch' (did you mean 'tench'?)
                """)
        }
        let flat = makeTempDir(self)
        try write(flat + "/a.png", seed: 1)
        XCTAssertThrowsError(try ImageFolderDataset(root: flat, labels: .imageNet)) { e in
            XCTAssertEqual("\(e)", "dataset folder '\(flat)' has no class folders (it holds images directly: put them in one folder per class)")
        }
        XCTAssertThrowsError(try ImageFolderDataset(root: flat + "/nope", labels: .imageNet)) { e in
            XCTAssertEqual("\(e)", "dataset folder '\(flat)/nope' does not exist")
        }
        let dup = makeTempDir(self)
        for f in ["0", "tench"] { mkdir(dup + "/" + f); try write(dup + "/\(f)/a.png", seed: 1) }
        XCTAssertThrowsError(try ImageFolderDataset(root: dup, labels: .imageNet)) { e in
            XCTAssertEqual("\(e)", "dataset folders '\(dup)/0' and '\(dup)/tench' both name class 0 (tench)")
        }
    }
}
