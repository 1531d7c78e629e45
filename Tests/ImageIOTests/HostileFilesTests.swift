import Foundation
import ImageIO
import RobustSynthCore
import XCTest

/// Only regular files are read as images: a FIFO, a folder or a symlink loop named like an
/// image is skipped with its reason (and never opened), a name that is not UTF-8 is listed by
/// its bytes, and reading such a path directly is one sentence with the OS's reason.
final class HostileFilesTests: XCTestCase {
    func testADatasetSkipsWhatIsNotARegularFileAndListsIt() throws {
        let root = makeTempDir(self)
        mkdir(root + "/0"); mkdir(root + "/1")
        for (i, p) in ["/0/a.png", "/0/b.png", "/1/a.png", "/1/b.png"].enumerated() {
            try ImageFile.writePNG(testImage(width: 8, height: 8, seed: UInt64(i)), to: root + p)
        }
        XCTAssertEqual(mkfifo(root + "/0/fifo.png", 0o644), 0)
        mkdir(root + "/1/folder.png")
        XCTAssertEqual(symlink("self.png", root + "/1/self.png"), 0)        // a loop
        XCTAssertEqual(symlink("nowhere.png", root + "/1/dangling.png"), 0)
        XCTAssertEqual(symlink("loop", root + "/loop"), 0)                  // a folder symlink loop
        var bytes = Array((root + "/1/caf").utf8) + [0xE9] + Array(".png".utf8) + [0]
        let fd = bytes.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { open($0, O_CREAT | O_WRONLY, 0o644) }
        }
        XCTAssertGreaterThanOrEqual(fd, 0); close(fd)

        let ds = try ImageFolderDataset(root: root, labels: .numbered(2))
        XCTAssertEqual(ds.items.map(\.path), [root + "/0/a.png", root + "/0/b.png", root + "/1/a.png", root + "/1/b.png"])
        XCTAssertEqual(ds.skipped.map(\.description), [
            "\(root)/0/fifo.png: it is a FIFO (named pipe), not a regular file",
            "\(root)/1/caf\\xe9.png: the name is not valid UTF-8",
            "\(root)/1/dangling.png: it is a link to nothing (a dangling symlink)",
            "\(root)/1/folder.png: it is a folder, not a file",
            "\(root)/1/self.png: Too many levels of symbolic links",
            "\(root)/loop: Too many levels of symbolic links",
        ])
        XCTAssertEqual(ImageFolderDataset.skippedText(Array(ds.skipped.prefix(1))),
                       "skipped 1 entry of the dataset: \(root)/0/fifo.png: it is a FIFO (named pipe), not a regular file")
        // A fit lists them among its skipped images.
        let report = try SeedFitter.fit(dataset: ds, labels: .numbered(2), options: .init(resolution: 4, threads: 1),
                                        to: root + "/m.rsm")
        XCTAssertEqual(report.skipped.count, 6)
        XCTAssertEqual(report.images, 4)
    }

    func testReadingWhatIsNotARegularFileIsOneSentence() throws {
        let root = makeTempDir(self)
        XCTAssertEqual(mkfifo(root + "/fifo.png", 0o644), 0)
        mkdir(root + "/folder.png")
        XCTAssertEqual(symlink("self.png", root + "/self.png"), 0)
        let cases = [
            ("fifo.png", "it is a FIFO (named pipe), not a regular file"),
            ("folder.png", "it is a folder, not a file"),
            ("self.png", "Too many levels of symbolic links"),
            ("missing.png", "no such file"),
        ]
        for (name, reason) in cases {
            XCTAssertThrowsError(try ImageFile.read(root + "/" + name)) {
                XCTAssertEqual("\($0)", "cannot read image '\(root)/\(name)': \(reason)")
            }
        }
        XCTAssertThrowsError(try SeedModel.read(root + "/fifo.png")) {
            XCTAssertEqual("\($0)", "cannot read seed model '\(root)/fifo.png': it is a FIFO (named pipe), not a regular file")
        }
    }

    func testFoundationFileErrorsBecomeTheOSsSentence() throws {
        let root = makeTempDir(self)
        TestSupport_write(root + "/file")
        let cases: [(() throws -> Void, String)] = [
            ({ _ = try FileManager.default.contentsOfDirectory(atPath: root + "/missing") }, "\(root)/missing: No such file or directory"),
            ({ _ = try Data(contentsOf: URL(fileURLWithPath: root)) }, "\(root): Is a directory"),
            ({ try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/file/x"), options: .atomic) }, "\(root)/file/x: No such file or directory"),
        ]
        for (body, expected) in cases {
            XCTAssertThrowsError(try body()) { error in
                let text = FileChecks.describe(error)
                XCTAssertFalse(text.contains("NSCocoaErrorDomain"), text)
                XCTAssertEqual(text, expected)
            }
        }
        XCTAssertEqual(FileChecks.describe(ImageError("as it is")), "as it is")
    }

    func testEscapedNames() {
        XCTAssertEqual(FileChecks.escaped(Array("café".utf8)), "café")
        XCTAssertEqual(FileChecks.escaped([0x61, 0xE9, 0x0A, 0x5C, 0xFF]), "a\\xe9\\x0a\\x5c\\xff")
    }
}

private func TestSupport_write(_ path: String) {
    FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
}
